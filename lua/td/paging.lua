--- td.paging: iterators over TD's paged lists.
-- TD's v3 lists page by index window (`from`/`to`); the workflow API by
-- `last_id`. Both are exposed as plain `for x in ...` iterators that fetch
-- the next page only when the previous one is used up.
local M = {}

--- Index-window paging. fetch(from, to) -> array of items (to inclusive).
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
  return function()
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
  end
end

--- last_id paging. fetch(last_id) -> array of items; id(item) gives the
-- cursor for the next page. A short page ends the iteration.
function M.by_last_id(fetch, id, opts)
  opts = opts or {}
  local page = opts.page or 100
  local limit = opts.limit
  local buf, i, done, count, last = {}, 1, false, 0, opts.last_id
  return function()
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
  end
end

return M
