--- td.shape: the one check of an answer's shape.
-- An answer TD sends that does not have the shape an operation needs is a
-- `bad_response` error naming the operation, the request and the place in
-- the answer that is wrong, with a short excerpt of the body; never a raw
-- Lua error later on and never a made-up value (an answer `{}` to
-- /v3/database/list is bad_response, not an empty list).
--
-- A spec is one of
--   "any"  "table"  "array"  "string"  "number"  "integer"  "boolean"
--   "id" (a string or an integer)  "scalar" (string, number or boolean)
-- with a trailing "?" for "may be absent or null" ("string?"), or
--   { field = spec, ... }   a JSON object with these fields (others allowed)
--   { spec }                 an array whose every item has this shape
-- Normalisation of good answers (ids as strings, "" times, ...) is the
-- business of td/v3/shape.lua and the workflow objects, not of this check.
--
--   shape.check(value, spec, ctx) -> value   (raises bad_response)
--   shape.ok(value, spec) -> true | false, "where: what"
-- ctx = { name = "client:databases", method =, url =, status =, body = }
local errors = require "td.errors"
local redact = require "td.redact"

local M = {}

local null = require("td.core").null
local mtype = math.type

local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = #v
  for k in pairs(v) do
    if mtype(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local SCALAR = {
  any = function() return true end,
  table = function(v) return type(v) == "table" end,
  array = is_array,
  string = function(v) return type(v) == "string" end,
  number = function(v) return type(v) == "number" end,
  integer = function(v) return mtype(v) == "integer" end,
  boolean = function(v) return type(v) == "boolean" end,
  id = function(v) return mtype(v) == "integer" or (type(v) == "string" and v ~= "") end,
  scalar = function(v) local t = type(v) return t == "string" or t == "number" or t == "boolean" end,
}
M.TYPES = SCALAR

local function describe(v)
  if v == nil or v == null then return "nothing" end
  if type(v) == "table" then return is_array(v) and (next(v) and "an array" or "an empty table") or "an object" end
  if type(v) == "string" then return "a string" end
  return "a " .. (mtype(v) or type(v))
end

local function spec_name(spec)
  if type(spec) == "string" then return spec:gsub("%?$", "") end
  if spec[1] ~= nil then return "array" end
  return "object"
end

-- returns nil when v fits spec, else "where: what"
local function walk(v, spec, where)
  if type(spec) == "string" then
    local base, optional = spec:match("^(.-)(%??)$")
    if v == nil or v == null then
      if optional == "?" or base == "any" then return nil end
      return where .. ": missing (" .. base .. " expected)"
    end
    local test = SCALAR[base]
    if not test then error("td.shape: unknown type '" .. tostring(spec) .. "'", 2) end
    if test(v) then return nil end
    return ("%s: %s expected, got %s"):format(where, base, describe(v))
  end
  -- a table spec: { item } for arrays, { field = spec } for objects
  if v == nil or v == null then return where .. ": missing (" .. spec_name(spec) .. " expected)" end
  if spec[1] ~= nil then
    if not is_array(v) then return ("%s: array expected, got %s"):format(where, describe(v)) end
    for i = 1, #v do
      local bad = walk(v[i], spec[1], ("%s[%d]"):format(where, i))
      if bad then return bad end
    end
    return nil
  end
  if type(v) ~= "table" then return ("%s: object expected, got %s"):format(where, describe(v)) end
  local keys = {}
  for k in pairs(spec) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local bad = walk(v[k], spec[k], where .. "." .. k)
    if bad then return bad end
  end
  return nil
end

--- shape.ok(value, spec) -> true, or false and "where: what is wrong".
function M.ok(value, spec)
  local bad = walk(value, spec, "answer")
  if bad then return false, bad end
  return true
end

local EXCERPT = 200

--- A short, redacted, one-line excerpt of an answer's body (or of the
-- decoded value when the body is not at hand).
function M.excerpt(body, value)
  if body == nil and value ~= nil then
    local ok, text = pcall(require("cjson").encode, value)
    body = ok and text or tostring(value)
  end
  if body == nil then return nil end
  body = tostring(body):gsub("%s+", " ")
  if #body > EXCERPT then body = body:sub(1, EXCERPT) .. "..." end
  return redact.text(body)
end

--- shape.check(value, spec, ctx) -> value. Raises a `bad_response` error
-- naming ctx.name (the operation), the request (ctx.method, ctx.url,
-- ctx.status) and the first place where value does not fit spec; the
-- error's `excerpt` (and `body`) hold a short excerpt of ctx.body or of
-- the value.
function M.check(value, spec, ctx)
  local bad = walk(value, spec, "answer")
  if not bad then return value end
  ctx = ctx or {}
  local ex = M.excerpt(ctx.body, value)
  errors.raise {
    kind = "bad_response",
    message = ("%sunexpected answer from TD (%s)"):format(ctx.name and (ctx.name .. ": ") or "", bad),
    method = ctx.method, url = ctx.url, status = ctx.status, request_id = ctx.request_id,
    excerpt = ex, body = ex, retryable = false,
  }
end

--- shape.context(name, response) -> a ctx for check() from an operation's
-- name and the response table http.request returns ({status, body, ...}).
function M.context(name, resp, method, url)
  resp = resp or {}
  return {
    name = name, method = method or resp.method, url = url or resp.url, status = resp.status,
    body = resp.body, request_id = resp.headers and (resp.headers["x-request-id"] or resp.headers["x-td-request-id"]),
  }
end

return M
