--- td.workflow.base: what every workflow object shares.
-- The workflow flavour of the object model (td/object.lua: snake_case and
-- *_epoch aliases of camelCase fields), the request helper (base =
-- "workflow"), id and time argument checks, and fresh unique names for
-- retries and revisions.
local errors = require "td.errors"
local http = require "td.http"
local redact = require "td.redact"
local tdtime = require "td.time"

local M = {}

local object = require "td.object"

-- what an object without a client says (td/object.lua: spec.unbound)
M.UNBOUND = "bad self to '%s' (call it with ':' on an object from client.workflow)"

--- Tie obj to its td client (weakly: the object never keeps a client alive
-- on its own account, and printing the object never shows the client).
M.bind = object.bind

--- The client an object was made by; a usage error for a method called
-- with '.' instead of ':'.
function M.client_of(obj, what)
  local c = object.client_of(obj)
  if not c then errors.raise { kind = "usage", message = M.UNBOUND:format(what) } end
  return c
end

--- A request to the workflow API: http.request with base = "workflow".
function M.request(client, r)
  r.base = "workflow"
  return http.request(client, r)
end

--- http.path, re-exported for the workflow modules.
M.path = http.path

local function snake(k)
  return (k:gsub("(%l)(%u)", "%1_%2"):gsub("(%u)(%u%l)", "%1_%2"):lower())
end
M.snake = snake

-- user data: copied as they are, never renamed
local OPAQUE = {
  params = true, config = true, exportParams = true, storeParams = true, stateParams = true,
  userInfo = true, error = true,
}

local null = require("td.core").null

local function camel(k)
  return (k:gsub("_(%l)", string.upper))
end

-- snake_case and *_epoch reads of camelCase fields: a.created_at is
-- a.createdAt; a.created_epoch is a.createdAt (or a.sessionTime for
-- session_epoch, ...) as epoch seconds. Nothing is copied, so printing or
-- iterating an object shows the API's own fields once.
local function alias(t, k)
  if type(k) ~= "string" or not k:find("_", 1, true) then return nil end
  local stem = k:match("^(.-)_epoch$")
  if stem then
    local c = camel(stem)
    local v = rawget(t, c .. "At")
    if v == nil then v = rawget(t, c .. "Time") end
    if v == nil then v = rawget(t, c) end
    return M.epoch(v)
  end
  return rawget(t, camel(k))
end
M.alias = alias

local PLAIN = { __index = alias, __name = "td.workflow.object" }

--- A workflow object class (td/object.lua) whose objects answer snake_case
-- and *_epoch reads too: spec as for object.class, with the alias, the
-- message for an object without a client and a fill that copies the
-- API's fields (base.fields) before spec.fill adds derived ones.
function M.class(spec)
  local extra = spec.fill
  spec.alias = alias
  spec.unbound = M.UNBOUND
  spec.fill = function(obj, t)
    M.fields(t, obj)
    if extra then extra(obj, t) end
    return obj
  end
  return object.class(spec)
end

--- Copy a JSON object without JSON nulls (absent fields are nil). Nested
-- objects are converted as well, except user data (params, config, ...),
-- which is copied as it is. Fields keep the API's camelCase names; reads
-- by snake_case name work too (a.createdAt == a.created_at). With `out`,
-- fields go into it (an object with its class already set); without,
-- a plain table that reads snake_case names is returned.
function M.fields(t, out)
  out = out or setmetatable({}, PLAIN)
  for k, v in pairs(t) do
    if v == null and not OPAQUE[k] then
      -- absent
    else
      if type(k) == "string" and type(v) == "table" and not OPAQUE[k] and next(v) ~= nil and #v == 0 then
        v = M.fields(v)
      end
      out[k] = v
    end
  end
  return out
end

--- An id argument: a positive integer or a string of digits -> string.
function M.id(fname, argname, v)
  if math.type(v) == "integer" and v >= 0 then return tostring(v) end
  if type(v) == "string" and v:match("^%d+$") then return v end
  if type(v) == "table" and type(v.id) == "string" then return v.id end
  errors.raise {
    kind = "usage",
    message = ("bad argument '%s' to '%s' (an id expected: digits or an integer, got %s)")
      :format(argname, fname, type(v) == "string" and ("%q"):format(v) or type(v)),
  }
end

-- the argument type "wf_id" of the workflow declarations (td/ops.lua)
require("td.ops").add_type("wf_id", M.id)

--- opts(fname, opts, known): errors.opts (nil -> {}, unknown keys refused).
M.opts = errors.opts

--- Epoch seconds -> "2026-11-22T10:00:00Z" (what digdag expects for instants).
function M.iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

--- Parse a workflow API time (ISO instant or offset time) to epoch seconds.
function M.epoch(s)
  if type(s) ~= "string" then return nil end
  return tdtime.parse(s)
end

--- A time argument for an instant field: epoch number, or a string with a
-- zone ("Z", "+09:00"); returns the ISO instant. Local times are refused
-- here (the caller resolves them in the workflow's time zone first).
function M.instant(fname, argname, v)
  if type(v) == "number" then return M.iso(tdtime.epoch_arg(fname, argname, v)) end
  if type(v) == "string" then
    local t = tdtime.parse(v)
    if t and (v:match("[Zz]$") or v:match("[%+%-]%d%d:?%d%d$") or v:match(" UTC$")) then return M.iso(t) end
  end
  errors.raise {
    kind = "usage",
    message = ("bad argument '%s' to '%s' (epoch seconds or a time with a zone such as \"2026-11-22T00:00:00Z\" expected, got %s)")
      :format(argname, fname, type(v) == "string" and ("%q"):format(v) or type(v)),
  }
end

--- Does the string carry a time zone (Z or an offset)?
function M.has_zone(s)
  return s:match("[Zz]$") ~= nil or s:match("[%+%-]%d%d:?%d%d$") ~= nil or s:match(" UTC$") ~= nil
end

--- A local date/time "2026-11-01", "2026-11-01 02:00", "2026-11-01T02:00:00"
-- -> "2026-11-01T02:00:00" (digdag reads it in the workflow's time zone);
-- nil when s is not one.
function M.local_time(s)
  local d, rest = s:match("^(%d%d%d%d%-%d%d%-%d%d)(.*)$")
  if not d then return nil end
  if rest == "" then return d .. "T00:00:00" end
  local h, m, sec = rest:match("^[T ](%d%d):(%d%d):?(%d?%d?)$")
  if not h then return nil end
  return ("%sT%s:%s:%s"):format(d, h, m, sec ~= "" and sec or "00")
end

--- A random UUID (version 4), as digdag uses for retry and revision names.
M.uuid = function() return require("td.submit").uuid() end

local paging = require "td.paging"

M.MAX_PAGE = 100

--- A `for x in ...` iterator over a last_id-paged list. fetch(last_id, size)
-- returns one page of wrapped items; the server applies the endpoint's own
-- order and last_id rule, the cursor is the last item's id. opts: limit
-- (stop after this many), page_size (capped at 100), last_id (start after).
function M.pages(fname, fetch, opts)
  local size = opts.page_size or M.MAX_PAGE
  if math.type(size) ~= "integer" or size < 1 then
    errors.raise { kind = "usage", message = ("bad argument 'page_size' to '%s' (a positive integer expected)"):format(fname) }
  end
  if opts.limit ~= nil and (math.type(opts.limit) ~= "integer" or opts.limit < 0) then
    errors.raise { kind = "usage", message = ("bad argument 'limit' to '%s' (a non-negative integer expected)"):format(fname) }
  end
  if opts.last_id ~= nil then M.id(fname, "last_id", opts.last_id) end
  size = math.min(size, M.MAX_PAGE)
  return paging.by_last_id(fetch, function(x) return x.id end,
    { page = size, limit = opts.limit, last_id = opts.last_id and tostring(opts.last_id) })
end

--- An iterator over an array (for the lists the API does not page).
function M.each(list, limit)
  local i = 0
  return function()
    i = i + 1
    if limit and i > limit then return nil end
    return list[i]
  end
end

--- Re-raise err with a clearer kind, message and hint (fields added).
function M.reraise(err, fields)
  if not errors.is(err) then error(err, 0) end
  for k, v in pairs(fields) do
    err[k] = type(v) == "string" and redact.text(v) or v
  end
  error(err, 0)
end

return M
