--- td.ops: operations as data.
-- Each API area (td/v3/*.lua, td/workflow/*.lua) declares its operations
-- in one table; ops.define turns each declaration into a method with the
-- strict argument and option checks, builds the request, checks the
-- answer's shape (td.shape) and unwraps it. The same declarations feed the
-- reference pages, td.help, the LuaCATS annotations and the coverage
-- tables (scripts/gendocs.lua), so each operation is described once.
--
-- A declaration:
--   { name = "create_database",          -- method name (client:create_database)
--     method = "POST",                    -- HTTP method (default GET)
--     path = "/v3/database/create/{name}",-- {arg} is a positional argument, escaped;
--                                         --   {self.id} a field of the receiver
--     args = { {"name", "name", "the database's name"}, ... },
--                                         -- positional: {name, type, doc, to =, as =,
--                                         --   optional = true}
--     opts = { {"description", "string", "free text"}, ... },
--                                         -- options: {name, type, doc, default =,
--                                         --   to = "form"|"query"|"json"|false, as =,
--                                         --   required = true | "what it is"}
--     opts_required = true,               -- the options table itself is required
--     needs_opts = true,                  -- an empty options table is a usage error
--     send = "form" | "query" | "json",   -- where options go (default: query for
--                                         --   GET/DELETE, form otherwise)
--     idempotent = true | false,          -- retry class (default: by HTTP method)
--     base = "workflow",                  -- the workflow API (default: v3)
--     auth = false,                       -- no API key needed
--     answer = { databases = {"table"} }, -- the answer's shape (td.shape spec), checked
--                                         --   by the request kernel (http's expect)
--     unwrap = "databases" | function(d, call) -> result,
--     each = fn,                          -- normalise each item of the unwrapped array
--     returns = "array of databases",     -- doc of the result
--     result = "name",                    -- return this argument instead of the answer
--     before = function(call),            -- extra checks / redaction before sending
--     request = function(r, call),        -- adjust the http.request description
--     rescue = function(err, call) -> result  -- turn an error into a result (or re-raise)
--     describe = "delete database {name}" | function(call) -> text,
--                                         -- what --dry-run says instead of sending
--                                         --   (default: the doc line and the arguments)
--     doc = "one line", example = "c:create_database(\"web\")",
--     errors = "conflict when it exists", see = "...",
--     dry_run = "nil" | "self",           -- what the method returns under --dry-run
--                                         --   (default: what unwrap makes of {dry_run = true})
--     describe = function(call) -> text | "template {arg}",
--                                         -- what a change would do, for --dry-run
--     receiver = function(self, decl),    -- the td client of a non-client receiver
--     hand = true }                       -- written by hand: declared for docs only
--
-- `call` = { client =, args = {name = value}, opts =, decl = }.
-- Argument types: name (non-empty string), id (string or integer; becomes a
-- string), ids (array of ids), string, integer, number, boolean, table,
-- array, any; a trailing "?" makes an argument optional.
--
--   ops.define(M, area, decls, common) -> M  (adds the methods, registers decls)
--   ops.add_type(name, check)         (an argument type of an API area)
--   ops.declarations() -> { decl, ... } in definition order (for docs/help)
--   ops.check_args(decl, ...) / ops.check_opts(decl, opts)
--                                     (the checks alone, for hand-written methods)
local errors = require "td.errors"
local http = require "td.http"
local shape = require "td.shape"

local M = {}

local registry = {} -- every declaration, in definition order
local by_key = {} -- "client:name" / "wf:name" ... -> decl

local function usage(msg) error(errors.new { kind = "usage", message = msg }, 0) end

local function bad(fname, argname, expected, v)
  usage(("bad argument '%s' to '%s' (%s expected, got %s)"):format(
    argname, fname, expected, v == nil and "no value" or type(v)))
end

local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = #v
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local TYPES = {} -- argument types added by the API areas (ops.add_type)

--- ops.add_type(name, check): a new argument type; check(fname, argname, v)
-- returns the value to use or raises a usage error (e.g. workflow ids).
function M.add_type(name, check) TYPES[name] = check end

--- Check one value against an argument type; returns the (converted) value.
-- fname and argname name it in the usage error.
function M.check_value(fname, argname, typ, v)
  local base, optional = typ:match("^(.-)(%??)$")
  if TYPES[base] and not (v == nil and optional == "?") then return TYPES[base](fname, argname, v) end
  if v == nil then
    if optional == "?" or base == "any" then return nil end
    bad(fname, argname, base == "id" and "string or integer" or (base == "name" and "string" or base), nil)
  end
  if base == "name" then
    if type(v) ~= "string" then bad(fname, argname, "string", v) end
    if v == "" then usage(("bad argument '%s' to '%s' (empty string)"):format(argname, fname)) end
  elseif base == "id" then
    if math.type(v) == "integer" then return tostring(v) end
    if type(v) ~= "string" then bad(fname, argname, "string or integer", v) end
    if v == "" then usage(("bad argument '%s' to '%s' (empty string)"):format(argname, fname)) end
  elseif base == "ids" then
    if not is_array(v) then bad(fname, argname, "array", v) end
    local out = {}
    for i, x in ipairs(v) do out[i] = M.check_value(fname, ("%s[%d]"):format(argname, i), "id", x) end
    return out
  elseif base == "array" then
    if not is_array(v) then bad(fname, argname, "array", v) end
  elseif base == "integer" then
    if math.type(v) ~= "integer" then bad(fname, argname, "integer", v) end
  elseif base == "any" then
    return v
  elseif type(v) ~= base then
    bad(fname, argname, base, v)
  end
  return v
end

-- the name used in messages: "create_database" for client methods (as the
-- hand-written methods have always said), "<prefix>:<name>" otherwise
local function fname_of(decl)
  return decl.fname or decl.name
end

--- The positional arguments of a call, checked: { name = value }.
function M.check_args(decl, ...)
  local out = {}
  local fname = fname_of(decl)
  for i, a in ipairs(decl.args or {}) do
    local v = select(i, ...)
    local typ = a[2] or "any"
    if a.optional and not typ:find("?", 1, true) then typ = typ .. "?" end
    out[a[1]] = M.check_value(fname, a[1], typ, v)
  end
  return out
end

--- The options of a call, checked (unknown key: usage error naming the
-- nearest valid one), with the declared defaults filled in.
function M.check_opts(decl, opts)
  local fname = fname_of(decl)
  if not decl.opts then
    if opts ~= nil then
      if type(opts) ~= "table" then bad(fname, "opts", "table", opts) end
      if next(opts) ~= nil then errors.opts(fname, opts, {}) end
    end
    return {}
  end
  local known = decl._known
  if opts == nil and decl.opts_required then bad(fname, "opts", "table", nil) end
  opts = errors.opts(fname, opts, known)
  if decl.needs_opts and next(opts) == nil then usage(fname .. ": nothing to update (opts is empty)") end
  local out = {}
  for _, o in ipairs(decl.opts) do
    local v = opts[o[1]]
    if v == nil then v = o.default
    else v = M.check_value(fname, "opts." .. o[1], (o[2] or "any"):gsub("%?$", "") .. "?", v) end
    if o.required and (v == nil or v == "") then
      usage(("%s: opts.%s is required%s"):format(fname, o[1], o.required == true and "" or (" (" .. o.required .. ")")))
    end
    out[o[1]] = v
  end
  return out
end

local function fill_path(decl, a, obj)
  return (decl.path:gsub("{([%w_.]+)}", function(k)
    local v
    local field = k:match("^self%.(.*)$")
    if field then v = obj and obj[field] else v = a[k] end
    if v == nil then error(("td.ops: %s: no value for {%s}"):format(decl.name, k), 0) end
    return http.escape(tostring(v))
  end))
end

--- What a declared call that changes something would do, in words, for
-- --dry-run (td.dryrun): decl.describe (a function(call) or a template with
-- {arg} and {self.field}), else the doc line and the arguments.
function M.describe(decl, call)
  local d = decl.describe
  if type(d) == "function" then return d(call) end
  local function value(k)
    local field = k:match("^self%.(.*)$")
    local v
    if field then v = call.self and call.self[field] else v = call.args[k] end
    return v == nil and "?" or tostring(v)
  end
  if type(d) == "string" then return (d:gsub("{([%w_.]+)}", value)) end
  local shown = {}
  for _, a in ipairs(decl.args or {}) do
    local v = call.args[a[1]]
    if type(v) == "string" or type(v) == "number" then shown[#shown + 1] = ("%s %s"):format(a[1], tostring(v)) end
  end
  local text = (decl.doc or decl.name):gsub("[;%.].*$", ""):gsub("^%u", string.lower)
  if #shown > 0 then text = text .. " (" .. table.concat(shown, ", ") .. ")" end
  return text
end

local function default_send(method)
  if method == "GET" or method == "DELETE" or method == "HEAD" then return "query" end
  return "form"
end

--- Perform a declared operation for a checked call (the generic body of
-- every declared method; hand-written code may call it too).
function M.perform(decl, call)
  local method = decl.method or "GET"
  local send = decl.send or default_send(method)
  local r = { method = method, path = fill_path(decl, call.args, call.self), base = decl.base,
              auth = decl.auth, idempotent = decl.idempotent, dry_run_send = decl.dry_run_send }
  local parts = {}
  local function put(to, key, v)
    if v == nil or to == false then return end
    parts[to] = parts[to] or {}
    parts[to][key] = v
  end
  for _, a in ipairs(decl.args or {}) do
    if a.to then put(a.to, a.as or a[1], call.args[a[1]]) end
  end
  for _, o in ipairs(decl.opts or {}) do
    local to = o.to
    if to == nil then to = send end
    put(to, o.as or o[1], call.opts[o[1]])
  end
  -- a POST/PUT/PATCH always carries a body, empty when nothing is sent
  if send ~= "query" and not parts[send] and not parts.json and not parts.form then parts[send] = {} end
  r.query, r.form, r.json = parts.query, parts.form, parts.json
  r.describe = function() return M.describe(decl, call) end
  if decl.request then decl.request(r, call) end
  if decl.answer then
    -- the kernel raises bad_response (retrying reads) when this says no
    local spec, name = decl.answer, decl.key
    r.expect = function(data)
      local good, why = shape.ok(data, spec)
      if not good then return name .. ": " .. why end
    end
  end
  return http.request(call.client, r)
end

local function finish(decl, call, d)
  if decl.result then return call.args[decl.result] end
  local u = decl.unwrap
  if type(u) == "string" then d = d[u]
  elseif type(u) == "function" then d = u(d, call) end
  if decl.each and type(d) == "table" then
    local out = {}
    for i, v in ipairs(d) do out[i] = decl.each(v) end
    d = out
  end
  return d
end

local function make_method(decl)
  local receiver = decl.receiver
  return function(self, ...)
    local call = { client = receiver and receiver(self, decl) or self, self = self, decl = decl }
    call.args = M.check_args(decl, ...)
    local nargs = #(decl.args or {})
    call.opts = M.check_opts(decl, (select(nargs + 1, ...)))
    if decl.before then decl.before(call) end
    local d, resp
    if decl.rescue then
      local ok, res, r2 = pcall(M.perform, decl, call)
      if not ok then return decl.rescue(res, call) end
      d, resp = res, r2
    else
      d, resp = M.perform(decl, call)
    end
    if resp and resp.dry_run and decl.dry_run == "nil" then return nil end
    if resp and resp.dry_run and decl.dry_run == "self" then return self end
    return finish(decl, call, d)
  end
end

--- ops.define(M, area, decls, common) -> M: one method per declaration
-- (except those marked hand = true, whose body M already has), each
-- registered for the docs under `area` ("v3.databases", "workflow.pools",
-- ...). `common` holds fields every declaration of the area shares:
-- prefix (the receiver's name in docs: "client" by default, "wf", ...),
-- base ("workflow"), receiver (function(self, decl) -> the td client, for
-- methods of objects other than the client), fname = true (messages name
-- "prefix:name" instead of the bare name).
function M.define(target, area, decls, common)
  if type(common) ~= "table" then common = { prefix = common } end
  local prefix = common.prefix or "client"
  for _, decl in ipairs(decls) do
    for k, v in pairs(common) do if decl[k] == nil then decl[k] = v end end
    decl.area = area
    decl.prefix = decl.prefix or prefix
    decl.key = decl.prefix .. ":" .. decl.name
    if decl.fname == true then decl.fname = decl.key end
    if decl.opts then
      local known = {}
      for _, o in ipairs(decl.opts) do known[o[1]] = true end
      decl._known = known
    end
    if not by_key[decl.key] then registry[#registry + 1] = decl end
    by_key[decl.key] = decl
    if not decl.hand then
      target[decl.name] = make_method(decl)
      for _, alias in ipairs(decl.aliases or {}) do target[alias] = target[decl.name] end
    end
    for _, alias in ipairs(decl.aliases or {}) do by_key[decl.prefix .. ":" .. alias] = decl end
  end
  return target
end

--- Every declaration registered so far, in definition order.
function M.declarations()
  return registry
end

--- The declaration for "client:name" (or "wf:name", ...), or nil.
function M.lookup(key)
  return by_key[key]
end

--- The signature of a declared operation: "client:tables(db)".
function M.signature(decl)
  local names = {}
  for _, a in ipairs(decl.args or {}) do
    names[#names + 1] = (a.optional or (a[2] or ""):find("?", 1, true)) and ("[" .. a[1] .. "]") or a[1]
  end
  if decl.opts then names[#names + 1] = "{opts}" end
  return ("%s:%s(%s)"):format(decl.prefix, decl.name, table.concat(names, ", "))
end

return M
