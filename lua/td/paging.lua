--- td.paging: iterators over TD's paged lists.
-- TD's v3 lists page by index window (`from`/`to`); the workflow API by
-- `last_id`. Both are exposed as plain `for x in ...` iterators that fetch
-- the next page only when the previous one is used up.
local M = {}

-- A paging iterator is a callable object, so `for x in it do` works as
-- with a function, and it can also be looked at without being used up.
local Pager = { __name = "td.pager" }
Pager.__index = Pager
M.Pager = Pager

function Pager.__call(self)
  local ahead = self.ahead
  if ahead[1] ~= nil then return table.remove(ahead, 1) end
  return self.produce()
end

--- it:peek(n) -> the next n items (fewer at the end) and whether more may
-- follow, without using them up: a loop over `it` still starts with them.
function Pager:peek(n)
  local ahead = self.ahead
  while #ahead < n + 1 do
    local x = self.produce()
    if x == nil then break end
    ahead[#ahead + 1] = x
  end
  local out = {}
  for i = 1, math.min(n, #ahead) do out[i] = ahead[i] end
  return out, #ahead > n
end

--- it:all() -> an array of every remaining item (fetching every page).
function Pager:all()
  local out = {}
  for x in self do out[#out + 1] = x end
  return out
end

local function pager(produce)
  return setmetatable({ produce = produce, ahead = {} }, Pager)
end

--- Index-window paging. fetch(from, to) -> array of items (to inclusive).
-- Returns a paging iterator (it(), it:peek(n), it:all()).
-- opts: page (size, default 100), limit (stop after this many), key
-- (function(item) -> id, to skip duplicates when the list shifts while we
-- read it), offset (start index).
function M.by_index(fetch, opts)
  opts = opts or {}
  local page = opts.page or 100
  local limit = opts.limit
  local from = opts.offset or 0
  local buf, i, done, count = {}, 1, false, 0
  local seen = opts.key and {} or nil
  return pager(function()
    while true do
      if limit and count >= limit then return nil end
      if i > #buf then
        if done then return nil end
        local want = page
        if limit then want = math.min(page, limit - count) end
        buf = fetch(from, from + want - 1)
        i = 1
        from = from + #buf
        if #buf < want then done = true end
        if #buf == 0 then return nil end
      end
      local item = buf[i]
      i = i + 1
      local k = seen and opts.key(item)
      if not (k and seen[k]) then
        if k then seen[k] = true end
        count = count + 1
        return item
      end
    end
  end)
end

--- last_id paging. fetch(last_id) -> array of items; id(item) gives the
-- cursor for the next page. A short page ends the iteration.
function M.by_last_id(fetch, id, opts)
  opts = opts or {}
  local page = opts.page or 100
  local limit = opts.limit
  local buf, i, done, count, last = {}, 1, false, 0, opts.last_id
  return pager(function()
    if limit and count >= limit then return nil end
    if i > #buf then
      if done then return nil end
      buf = fetch(last, page)
      i = 1
      if #buf < page then done = true end
      if #buf == 0 then return nil end
      last = id(buf[#buf])
    end
    local item = buf[i]
    i = i + 1
    count = count + 1
    return item
  end)
end

return M
