--- td.v3.args: argument checks for the hand-written v3 methods.
-- Every check raises a `usage` error at the caller's call that names the
-- function and the argument, before any request is sent. The types and
-- their messages are those of the declarations (td/ops.lua check_value):
-- one vocabulary for declared and hand-written methods.
local errors = require "td.errors"
local check_value = require("td.ops").check_value

local M = {}

local function usage(msg) error(errors.new { kind = "usage", message = msg }, 0) end
M.usage = usage

local function bad(fname, argname, expected, v)
  usage(("bad argument '%s' to '%s' (%s expected, got %s)"):format(
    argname, fname, expected, v == nil and "no value" or type(v)))
end

--- A required non-empty string (names of databases, tables, schedules, ...).
function M.name(fname, argname, v)
  return check_value(fname, argname, "name", v)
end

--- A required id: a non-empty string or an integer; returned as a string.
function M.id(fname, argname, v)
  return check_value(fname, argname, "id", v)
end

--- opts(fname, v, known, argname): errors.opts (nil -> {}, unknown keys refused).
M.opts = errors.opts

--- Optional typed fields of an options table: fields(fname, opts, {name = "string", ...}).
-- Types: "string", "integer", "number", "boolean", "table", "id" (string or integer).
function M.fields(fname, opts, spec)
  for k, want in pairs(spec) do
    if opts[k] ~= nil then check_value(fname, "opts." .. k, want, opts[k]) end
  end
end

--- A required array (a table with items 1..n and nothing else); each item
-- is checked with `item(v, i)` when given.
function M.array(fname, argname, v, item)
  if type(v) ~= "table" then bad(fname, argname, "array", v) end
  local n = #v
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      usage(("bad argument '%s' to '%s' (an array expected, found key %q)"):format(argname, fname, tostring(k)))
    end
  end
  if item then for i = 1, n do item(v[i], i) end end
  return v
end

--- An array of ids (strings or integers), returned as strings.
function M.ids(fname, argname, v)
  local out = {}
  M.array(fname, argname, v, function(x, i)
    out[i] = M.id(fname, ("%s[%d]"):format(argname, i), x)
  end)
  return out
end

--- Copy the listed keys of `opts` that are set into a new table (a form body).
function M.pick(opts, keys)
  local out = {}
  for _, k in ipairs(keys) do
    if opts[k] ~= nil then out[k] = opts[k] end
  end
  return out
end

return M
