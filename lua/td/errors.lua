--- td.errors: structured error objects.
-- A failed call raises a table with a stable lowercase `kind` (network,
-- timeout, tls, auth, forbidden, not_found, conflict, rate_limited, server,
-- bad_request, http, json, job_failed, job_killed, config, usage,
-- interrupted, ...), a `message`, and where they apply `status`, `method`,
-- `url`, `request_id`, `retryable`, `body` (an excerpt), `job_id`,
-- `details`. tostring(err) reads well on one line; pcall gets the object.
local redact = require "td.redact"

local M = {}

local Error = {}
Error.__index = Error
Error.__name = "td.error"
M.Error = Error

-- a string field added to an error after it was made is masked too
function Error.__newindex(e, k, v)
  rawset(e, k, type(v) == "string" and redact.text(v) or v)
end

local function one_line(s)
  return (tostring(s):gsub("%s*\n%s*", " "):gsub("%s+$", ""))
end

function Error.__tostring(e)
  local parts = { e.kind, ": ", one_line(e.message or "error") }
  local ctx = {}
  if e.job_id then ctx[#ctx + 1] = "job " .. tostring(e.job_id) end
  if e.method and e.url then
    ctx[#ctx + 1] = e.method .. " " .. e.url .. (e.status and (" -> " .. e.status) or "")
  elseif e.status then
    ctx[#ctx + 1] = "HTTP " .. e.status
  end
  if e.request_id then ctx[#ctx + 1] = "request_id " .. e.request_id end
  if e.attempts and e.attempts > 1 then ctx[#ctx + 1] = e.attempts .. " attempts" end
  if #ctx > 0 then parts[#parts + 1] = " [" .. table.concat(ctx, ", ") .. "]" end
  if e.hint then parts[#parts + 1] = " (" .. e.hint .. ")" end
  return redact.text(table.concat(parts))
end

--- Is v a td error object (optionally of the given kind)?
function M.is(v, kind)
  return getmetatable(v) == Error and (kind == nil or v.kind == kind)
end

-- fields holding what a server sent, masked deeply (other tables, such as
-- the outcomes of a some_failed error, belong to the caller and are kept)
local SERVER_TABLES = { details = true, data = true, response = true }

--- Make an error object from a table of fields (kind and message required).
-- Every string field (message, body, url, request_id, hint, ...) and what
-- the server sent in `details` pass through td.redact: no field of an error
-- can show a secret the process knows.
function M.new(fields)
  local e = {}
  for k, v in pairs(fields) do
    if type(v) == "string" then v = redact.text(v)
    elseif SERVER_TABLES[k] then v = redact.value(v) end
    e[k] = v
  end
  e.kind = e.kind or "error"
  e.message = redact.text(e.message and tostring(e.message) or e.kind)
  return setmetatable(e, Error)
end

--- Raise a new error object (level is ignored: objects carry no position).
function M.raise(fields)
  error(M.new(fields), 0)
end

local STATUS_KIND = {
  [400] = "bad_request", [401] = "auth", [403] = "forbidden", [404] = "not_found",
  [405] = "bad_request", [409] = "conflict", [413] = "bad_request", [415] = "bad_request",
  [422] = "bad_request", [429] = "rate_limited",
}

local RETRYABLE_STATUS = { [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }
M.RETRYABLE_STATUS = RETRYABLE_STATUS

--- The error kind for an HTTP status.
function M.kind_for_status(status)
  if STATUS_KIND[status] then return STATUS_KIND[status] end
  if status >= 500 then return "server" end
  return "http"
end

local HINTS = {
  auth = "check the API key: TD_API_KEY, td.client{apikey=...} or ~/.td/td.conf",
  forbidden = "the API key lacks the permission for this call",
  rate_limited = "too many requests; slow down or retry later",
}
M.HINTS = HINTS

--- Raise a usage error for a bad argument, naming it (like luaL_argerror).
function M.arg(fname, argname, expected, got)
  local msg = ("bad argument '%s' to '%s' (%s expected, got %s)"):format(
    argname, fname, expected, got == nil and "no value" or type(got))
  error(M.new { kind = "usage", message = msg }, 3)
end

--- Check an argument's type: check(fname, argname, value, "string", "table"...).
function M.check(fname, argname, v, ...)
  local t = type(v)
  for i = 1, select("#", ...) do
    local want = select(i, ...)
    if t == want or (want == "integer" and math.type(v) == "integer") then return v end
  end
  local msg = ("bad argument '%s' to '%s' (%s expected, got %s)"):format(
    argname, fname, table.concat({ ... }, " or "), v == nil and "no value" or t)
  error(M.new { kind = "usage", message = msg }, 3)
end

--- The edit distance between two short strings (for "did you mean").
local function distance(a, b)
  local la, lb = #a, #b
  local prev, cur = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = (ca == b:byte(j)) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      -- a swap of two neighbours counts as one edit ("timout"/"tiemout")
      if i > 1 and j > 1 and ca == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        cur[j] = math.min(cur[j], prev[j - 1])
      end
    end
    prev, cur = cur, prev
  end
  return prev[lb]
end
M.distance = distance

--- The name in `names` (an array or a set) nearest to `word`, when it is
-- near enough to be a likely misspelling; nil otherwise.
function M.nearest(word, names)
  if type(word) ~= "string" then return nil end
  local best, bestd
  local function consider(n)
    if type(n) ~= "string" then return end
    local d = distance(word:lower(), n:lower())
    if not bestd or d < bestd or (d == bestd and n < best) then best, bestd = n, d end
  end
  if names[1] ~= nil then
    for _, n in ipairs(names) do consider(n) end
  else
    for n in pairs(names) do consider(n) end
  end
  if best and bestd <= math.max(1, math.min(3, #word // 3 + 1)) then return best end
  -- a prefix or a substring ("stat" for "status") is also a good guess
  if best and #word >= 3 then
    for n in pairs(names[1] ~= nil and {} or names) do
      if type(n) == "string" and n:find(word, 1, true) then return n end
    end
  end
  return nil
end

--- The usage error for an unknown option key: names the key and the
-- nearest valid one (`unknown option 'timout' (did you mean 'timeout'?)`).
function M.unknown_option(fname, key, known)
  local names = {}
  for n in pairs(known) do names[#names + 1] = tostring(n) end
  table.sort(names)
  local near = M.nearest(tostring(key), known)
  local msg
  if near then
    msg = ("%s: unknown option '%s' (did you mean '%s'?)"):format(fname, tostring(key), near)
  else
    msg = ("%s: unknown option '%s' (known: %s)"):format(fname, tostring(key), table.concat(names, ", "))
  end
  return M.new { kind = "usage", message = msg, option = tostring(key), suggestion = near }
end

--- An optional options table: nil gives {}, a non-table raises, and a key
-- outside `known` (a set; nil accepts any) raises naming it and the
-- nearest known one, so that a misspelt option does not silently do nothing.
function M.opts(fname, v, known, argname)
  argname = argname or "opts"
  if v == nil then return {} end
  if type(v) ~= "table" then
    error(M.new { kind = "usage", message = ("bad argument '%s' to '%s' (table expected, got %s)")
      :format(argname, fname, type(v)) }, 0)
  end
  if known then
    for k in pairs(v) do
      if not known[k] then error(M.unknown_option(fname, k, known), 0) end
    end
  end
  return v
end

return M
