--- td.workflow.pools: resource pools and pool rules (Treasure Workflow only).
-- A pool is {id, name, concurrencyLimit, default}; a rule is {id, poolId,
-- priority (1..10000, lowest first), conditions = {{type, operator,
-- values}, ...}}. Both come back as plain tables with snake_case names
-- added (concurrency_limit, pool_id). These functions are methods of
-- client.workflow.
local errors = require "td.errors"
local base = require "td.workflow.base"

local M = {}

local function list(c, path, key)
  local d = base.request(c, { path = path })
  local out = {}
  for i, t in ipairs(d[key] or {}) do out[i] = base.fields(t) end
  return out
end

local function one(c, r)
  local d, resp = base.request(c, r)
  if resp.dry_run then return nil end
  return base.fields(d)
end

local function pool_body(fname, spec, partial)
  errors.check(fname, "spec", spec, "table")
  local known = { name = true, concurrency_limit = true }
  for k in pairs(spec) do
    if not known[k] then errors.raise { kind = "usage", message = ("%s: unknown field %q (name, concurrency_limit)"):format(fname, tostring(k)) } end
  end
  if spec.name ~= nil or not partial then errors.check(fname, "name", spec.name, "string") end
  if spec.concurrency_limit ~= nil or not partial then
    errors.check(fname, "concurrency_limit", spec.concurrency_limit, "integer")
    if spec.concurrency_limit < 1 then
      errors.raise { kind = "usage", message = ("bad argument 'concurrency_limit' to '%s' (at least 1)"):format(fname) }
    end
  end
  return { name = spec.name, concurrencyLimit = spec.concurrency_limit }
end

--- wf:pools() -> array of pools
function M:pools() return list(base.client_of(self, "client.workflow"), "/api/pools", "pools") end

--- wf:pool(id) -> pool
function M:pool(id)
  return one(base.client_of(self, "client.workflow"), { path = base.path("/api/pools/%s", base.id("pool", "id", id)) })
end

--- wf:create_pool{name =, concurrency_limit =} -> the new pool (its
-- concurrency is taken out of the default pool's).
function M:create_pool(spec)
  return one(base.client_of(self, "client.workflow"), { method = "POST", path = "/api/pools", json = pool_body("create_pool", spec) })
end

--- wf:update_pool(id, {name =, concurrency_limit =}) -> the pool
function M:update_pool(id, spec)
  id = base.id("update_pool", "id", id)
  return one(base.client_of(self, "client.workflow"), { method = "PATCH", path = base.path("/api/pools/%s", id), json = pool_body("update_pool", spec, true) })
end

--- wf:delete_pool(id) -> the deleted pool (refused while attempts run in it
-- or a rule refers to it, and for the default pool).
function M:delete_pool(id)
  return one(base.client_of(self, "client.workflow"), { method = "DELETE", path = base.path("/api/pools/%s", base.id("delete_pool", "id", id)) })
end

local CONDITION_TYPES = { invocation_type = true, project_name = true, workflow_name = true, workflow_type = true }

local function rule_body(fname, spec, partial)
  errors.check(fname, "spec", spec, "table")
  local known = { pool_id = true, priority = true, conditions = true }
  for k in pairs(spec) do
    if not known[k] then errors.raise { kind = "usage", message = ("%s: unknown field %q (pool_id, priority, conditions)"):format(fname, tostring(k)) } end
  end
  local body = {}
  if spec.pool_id ~= nil or not partial then body.poolId = base.id(fname, "pool_id", spec.pool_id) end
  if spec.priority ~= nil or not partial then
    errors.check(fname, "priority", spec.priority, "integer")
    if spec.priority < 1 or spec.priority > 10000 then
      errors.raise { kind = "usage", message = ("bad argument 'priority' to '%s' (1 to 10000)"):format(fname) }
    end
    body.priority = spec.priority
  end
  if spec.conditions ~= nil or not partial then
    errors.check(fname, "conditions", spec.conditions, "table")
    if #spec.conditions < 1 or #spec.conditions > 2 then
      errors.raise { kind = "usage", message = ("bad argument 'conditions' to '%s' (1 or 2 conditions)"):format(fname) }
    end
    body.conditions = {}
    for i, cnd in ipairs(spec.conditions) do
      if type(cnd) ~= "table" or not CONDITION_TYPES[cnd.type] or type(cnd.values) ~= "table" then
        errors.raise { kind = "usage", message = ("bad argument 'conditions[%d]' to '%s' ({type = invocation_type|project_name|workflow_name|workflow_type, values = {...}} expected)"):format(i, fname) }
      end
      local op = cnd.operator
      if op == nil and (cnd.type == "project_name" or cnd.type == "workflow_name") then op = "starts_with" end
      body.conditions[i] = { type = cnd.type, operator = op, values = cnd.values }
    end
  end
  return body
end

--- wf:pool_rules() -> array of rules, by priority
function M:pool_rules() return list(base.client_of(self, "client.workflow"), "/api/pool_rules", "poolRules") end

--- wf:pool_rule(id) -> rule
function M:pool_rule(id)
  return one(base.client_of(self, "client.workflow"), { path = base.path("/api/pool_rules/%s", base.id("pool_rule", "id", id)) })
end

--- wf:create_pool_rule{pool_id =, priority =, conditions = {{type =,
-- values =, operator = "starts_with"}}} -> the new rule
function M:create_pool_rule(spec)
  return one(base.client_of(self, "client.workflow"), { method = "POST", path = "/api/pool_rules", json = rule_body("create_pool_rule", spec) })
end

--- wf:update_pool_rule(id, {pool_id =, priority =, conditions =}) -> the rule
function M:update_pool_rule(id, spec)
  id = base.id("update_pool_rule", "id", id)
  return one(base.client_of(self, "client.workflow"), { method = "PATCH", path = base.path("/api/pool_rules/%s", id), json = rule_body("update_pool_rule", spec, true) })
end

--- wf:delete_pool_rule(id) -> the deleted rule
function M:delete_pool_rule(id)
  return one(base.client_of(self, "client.workflow"), { method = "DELETE", path = base.path("/api/pool_rules/%s", base.id("delete_pool_rule", "id", id)) })
end

return M
