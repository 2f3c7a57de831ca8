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

--- Make an error object from a table of fields (kind and message required).
function M.new(fields)
  local e = {}
  for k, v in pairs(fields) do e[k] = v end
  e.kind = e.kind or "error"
  e.message = redact.text(e.message and tostring(e.message) or e.kind)
  if e.body then e.body = redact.text(e.body) end
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

--- An optional options table: nil gives {}, a non-table raises, and a key
-- outside `known` (a set; nil accepts any) raises naming the known ones, so
-- that a misspelt option does not silently do nothing.
function M.opts(fname, v, known, argname)
  argname = argname or "opts"
  if v == nil then return {} end
  if type(v) ~= "table" then
    error(M.new { kind = "usage", message = ("bad argument '%s' to '%s' (table expected, got %s)")
      :format(argname, fname, type(v)) }, 0)
  end
  if known then
    for k in pairs(v) do
      if not known[k] then
        local names = {}
        for n in pairs(known) do names[#names + 1] = n end
        table.sort(names)
        error(M.new { kind = "usage", message = ("%s: unknown option %q (known: %s)")
          :format(fname, tostring(k), table.concat(names, ", ")) }, 0)
      end
    end
  end
  return v
end

return M
