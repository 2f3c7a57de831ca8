--- td.workflow.pools: resource pools and pool rules (Treasure Workflow only).
-- A pool is {id, name, concurrencyLimit, default}; a rule is {id, poolId,
-- priority (1..10000, lowest first), conditions = {{type, operator,
-- values}, ...}}. Both come back as plain tables with snake_case names
-- added (concurrency_limit, pool_id). These functions are methods of
-- client.workflow, declared as data (td/ops.lua).
local errors = require "td.errors"
local base = require "td.workflow.base"
local ops = require "td.ops"

local M = {}

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

local ID = { "id", "wf_id", "its id" }
local SPEC = { "spec", "any", "the fields" }
local function fields(d) return base.fields(d) end
local function each_fields(key) return function(d) local out = {} for i, t in ipairs(d[key]) do out[i] = base.fields(t) end return out end end
local function body(make, partial)
  return function(r, call) r.json = make(call.decl.name, call.args.spec, partial) r.form = nil end
end

ops.define(M, "workflow.pools", {
  { name = "pools", path = "/api/pools", answer = { pools = { "table" } }, unwrap = each_fields("pools"),
    returns = "array of pools ({id, name, concurrencyLimit, default})",
    doc = "The resource pools.", example = "for _, p in ipairs(wf:pools()) do print(p.name, p.concurrency_limit) end" },

  { name = "pool", path = "/api/pools/{id}", args = { ID }, answer = "table", unwrap = fields,
    returns = "one pool", doc = "One resource pool.", example = "wf:pool(3).name" },

  { name = "create_pool", describe = "create a resource pool", method = "POST", path = "/api/pools", args = { SPEC }, request = body(pool_body),
    answer = "table", unwrap = fields, returns = "the new pool",
    doc = "Create a resource pool (its concurrency is taken out of the default pool's).",
    example = 'wf:create_pool{ name = "etl", concurrency_limit = 4 }' },

  { name = "update_pool", describe = "update resource pool {id}", method = "PATCH", path = "/api/pools/{id}", args = { ID, SPEC }, request = body(pool_body, true),
    answer = "table", unwrap = fields, returns = "the pool",
    doc = "Change a resource pool's name or concurrency limit.", example = "wf:update_pool(3, { concurrency_limit = 8 })" },

  { name = "delete_pool", describe = "delete resource pool {id}", method = "DELETE", path = "/api/pools/{id}", args = { ID },
    answer = "table", unwrap = fields, returns = "the deleted pool",
    doc = "Delete a resource pool (refused while attempts run in it, a rule refers to it, or for the default pool).",
    example = "wf:delete_pool(3)" },

  { name = "pool_rules", path = "/api/pool_rules", answer = { poolRules = { "table" } }, unwrap = each_fields("poolRules"),
    returns = "array of rules, by priority", doc = "The pool rules.", example = "wf:pool_rules()" },

  { name = "pool_rule", path = "/api/pool_rules/{id}", args = { ID }, answer = "table", unwrap = fields,
    returns = "one rule", doc = "One pool rule.", example = "wf:pool_rule(5).priority" },

  { name = "create_pool_rule", describe = "create a pool rule", method = "POST", path = "/api/pool_rules", args = { SPEC }, request = body(rule_body),
    answer = "table", unwrap = fields, returns = "the new rule",
    doc = "Create a pool rule: {pool_id =, priority =, conditions = {{type =, values =, operator = \"starts_with\"}}}.",
    example = 'wf:create_pool_rule{ pool_id = 3, priority = 10, conditions = {{ type = "project_name", values = {"etl"} }} }' },

  { name = "update_pool_rule", describe = "update pool rule {id}", method = "PATCH", path = "/api/pool_rules/{id}", args = { ID, SPEC },
    request = body(rule_body, true), answer = "table", unwrap = fields, returns = "the rule",
    doc = "Change a pool rule.", example = "wf:update_pool_rule(5, { priority = 20 })" },

  { name = "delete_pool_rule", describe = "delete pool rule {id}", method = "DELETE", path = "/api/pool_rules/{id}", args = { ID },
    answer = "table", unwrap = fields, returns = "the deleted rule", doc = "Delete a pool rule.", example = "wf:delete_pool_rule(5)" },
}, { prefix = "wf", base = "workflow", dry_run = "nil",
     receiver = function(self) return base.client_of(self, "client.workflow") end })

return M
