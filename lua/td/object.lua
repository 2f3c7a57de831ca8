--- td.object: the one object model for TD's objects (Job, Attempt, Session,
-- Schedule, Project, Workflow, ...).
-- A class is made once by object.class{...}; it gets:
--   Class.wrap(client, json) -> object   fields filled from TD's JSON, the
--                                        client tied to it weakly
--   Class.is(v)                          is v one of these objects?
--   Class.check(self, method) -> client  a usage error for obj.method() or a
--                                        foreign self ("bad self to 'job:wait'")
--   Class.replace(self, json)            refill every field (used by refresh)
--   obj:refresh()                        when the class says how to fetch itself
--   obj:summary() -> string              a short record for the REPL and logs
--   tostring(obj)                        "<name>(<summary>)" unless the class
--                                        has its own __tostring
--   field aliases                        reads of fields the object does not
--                                        hold go to spec.alias(obj, key)
--   object.classes()                     every class made (td.help walks them)
-- Objects keep TD's own fields as plain table fields, so printing or
-- iterating one shows what TD sent; the client is never a field (printing
-- an object never shows it, and an object never keeps a client alive).
--
--   local Thing = object.class {
--     name = "td.thing", kind = "thing", article = "a thing",
--     fill = function(obj, json) ... end,        -- default: copy the fields
--     alias = function(obj, key) ... end,        -- optional
--     fetch = function(client, obj) -> json end, -- optional: gives obj:refresh()
--     summary = function(obj) -> "..." end,      -- optional
--     unbound = "bad self to '%s' (...)",       -- message for an object without
--                                                -- a client (%s: "kind:method")
--   }
local errors = require "td.errors"

local M = {}

local clients = setmetatable({}, { __mode = "k" })
local classes = {} -- every class made, in order (td.help lists their methods)

--- Every class made by object.class so far: { {kind =, class =}, ... }.
function M.classes() return classes end

--- Tie obj to its td client (weakly); returns obj.
function M.bind(obj, client)
  clients[obj] = client
  return obj
end

--- The client obj is tied to, or nil.
function M.client_of(obj)
  return type(obj) == "table" and clients[obj] or nil
end

local function copy_fields(obj, t)
  for k, v in pairs(t) do obj[k] = v end
  return obj
end

--- Make a class from a spec (see the header); returns it. Methods are then
-- added to the class as usual (function Class:method() ... end).
function M.class(spec)
  local Class = {}
  local alias = spec.alias
  local fill = spec.fill or copy_fields
  local kind = spec.kind or spec.name
  local article = spec.article or ("a " .. kind)
  Class.__name = spec.name
  if alias then
    Class.__index = function(t, k)
      local m = rawget(Class, k)
      if m ~= nil then return m end
      return alias(t, k)
    end
  else
    Class.__index = Class
  end

  function Class.wrap(client, t)
    return M.bind(fill(setmetatable({}, Class), t), client)
  end

  function Class.is(v) return getmetatable(v) == Class end

  function Class.check(self, method)
    if getmetatable(self) ~= Class then
      errors.raise { kind = "usage", message = ("bad self to '%s:%s' (%s expected; call it with ':')"):format(kind, method, article) }
    end
    local c = clients[self]
    if not c then
      errors.raise { kind = "usage", message = (spec.unbound or "bad self to '%s' (an object without a client)"):format(kind .. ":" .. method) }
    end
    return c
  end

  function Class.replace(self, t)
    for k in pairs(self) do self[k] = nil end
    fill(self, t)
    return self
  end

  if spec.fetch then
    --- obj:refresh() - reload the object's fields from TD; returns it.
    function Class:refresh()
      local c = Class.check(self, "refresh")
      return Class.replace(self, spec.fetch(c, self))
    end
  end

  local summary = spec.summary
  --- obj:summary() -> a short one-line record of the object.
  function Class:summary()
    if summary then return summary(self) end
    local id = rawget(self, "id") or rawget(self, "job_id")
    local status = rawget(self, "status")
    return ("%s%s%s"):format(kind, id and (" " .. tostring(id)) or "", status and (" " .. tostring(status)) or "")
  end

  Class.__tostring = function(o) return ("%s(%s)"):format(spec.name, Class.summary(o)) end
  classes[#classes + 1] = { kind = kind, class = Class }
  return Class
end

return M
