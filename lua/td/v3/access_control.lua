--- td.v3.access_control: TD's access control (JSON API under
-- /v3/access_control and /v3/policy_group_tags): policies, the users they
-- are attached to, their permissions and column permissions, users'
-- permissions and profile options, policy groups and the delegated admins
-- and users of policy group tags.
-- Ids (policies, users, groups, accounts) are returned as strings and
-- accepted as strings or integers.
local http = require "td.http"
local json = require "cjson.safe"
local shape = require "td.v3.shape"
local args = require "td.v3.args"

local M = {}
local id_arg, usage = args.id, args.usage

-- JSON bodies: lua-cjson writes an empty table as {}; every empty table
-- below the top level of these bodies is a list (policy_ids, user_ids,
-- tags, a resource's permissions), so it is written as [].
local EMPTY = "\0tdlua-empty-array\0"
local function mark_empty(v, depth)
  if type(v) ~= "table" then return v end
  if depth > 0 and next(v) == nil then return EMPTY end
  local out = {}
  for k, x in pairs(v) do out[k] = mark_empty(x, depth + 1) end
  return out
end

local function send(self, method, path, body, extra)
  local r = { method = method, path = path, idempotent = method ~= "POST" }
  if body ~= nil then
    local text = assert(json.encode(mark_empty(body, 0)))
    r.body = text:gsub('"\\u0000tdlua%-empty%-array\\u0000"', "[]")
    r.content_type = "application/json"
  end
  for k, v in pairs(extra or {}) do r[k] = v end
  return (http.request(self, r))
end

local function get(self, path) return (http.request(self, { path = path })) end

local function policy(p) return shape.object(p, { "id", "account_id" }) end

local function list(items, fn)
  local out = {}
  for i, x in ipairs(type(items) == "table" and items or {}) do out[i] = fn(x) end
  return out
end

local function strings(items)
  return list(items, function(x) return tostring(x) end)
end

local function group(g)
  g = shape.object(g, { "id", "account_id" })
  if type(g) == "table" and type(g.policy_ids) == "table" then g.policy_ids = strings(g.policy_ids) end
  return g
end

local function ac_user(u)
  u = shape.object(u, { "user_id", "account_id" })
  if type(u) == "table" and type(u.policies) == "table" then u.policies = list(u.policies, policy) end
  return u
end

local function pid(fname, v) return id_arg(fname, "policy_id", v) end
local function uid(fname, v) return id_arg(fname, "user_id", v) end
local function gid(fname, v) return id_arg(fname, "group", v) end

local function int_or_string(s) return math.tointeger(tonumber(s)) or s end

-- ---------------------------------------------------------------------------
-- Policies

--- client:policies{column_permission_tag =} -> array of policies ({id,
-- account_id, name, description, user_count}).
function M:policies(opts)
  opts = args.opts("policies", opts, { column_permission_tag = true })
  args.fields("policies", opts, { column_permission_tag = "string" })
  local d = http.request(self, { path = "/v3/access_control/policies",
    query = { column_permission_tag = opts.column_permission_tag } })
  return list(d, policy)
end

--- client:policy(policy_id) -> one policy (raises not_found).
function M:policy(policy_id)
  local id = pid("policy", policy_id)
  return policy(get(self, http.path("/v3/access_control/policies/%s", id)))
end

--- client:create_policy{name =, description =} -> the new policy.
function M:create_policy(opts)
  if type(opts) ~= "table" then
    usage(("bad argument 'opts' to 'create_policy' (table expected, got %s)"):format(opts == nil and "no value" or type(opts)))
  end
  opts = args.opts("create_policy", opts, { name = true, description = true })
  args.fields("create_policy", opts, { name = "string", description = "string" })
  if not opts.name or opts.name == "" then usage("create_policy: opts.name is required") end
  return policy(send(self, "POST", "/v3/access_control/policies",
    { policy = args.pick(opts, { "name", "description" }) }))
end

--- client:update_policy(policy_id, {name =, description =}) -> the policy.
function M:update_policy(policy_id, opts)
  local id = pid("update_policy", policy_id)
  opts = args.opts("update_policy", opts, { name = true, description = true })
  args.fields("update_policy", opts, { name = "string", description = "string" })
  if next(opts) == nil then usage("update_policy: nothing to update (opts is empty)") end
  return policy(send(self, "PATCH", http.path("/v3/access_control/policies/%s", id),
    { policy = args.pick(opts, { "name", "description" }) }))
end

--- client:delete_policy(policy_id) -> the deleted policy.
function M:delete_policy(policy_id)
  local id = pid("delete_policy", policy_id)
  return policy(send(self, "DELETE", http.path("/v3/access_control/policies/%s", id)))
end

--- client:user_policies(user_id) -> array of the policies attached to a user.
function M:user_policies(user_id)
  local u = uid("user_policies", user_id)
  return list(get(self, http.path("/v3/access_control/users/%s/policies", u)), policy)
end

--- client:set_user_policies(user_id, policy_ids) -> the user's policies:
-- exactly these policies are attached to the user afterwards.
function M:set_user_policies(user_id, policy_ids)
  local u = uid("set_user_policies", user_id)
  local ids = args.ids("set_user_policies", "policy_ids", policy_ids)
  return list(send(self, "PATCH", http.path("/v3/access_control/users/%s/policies", u),
    { policy_ids = ids }), policy)
end

--- client:attach_policy(user_id, policy_id) -> the policy: attaches it to the user.
function M:attach_policy(user_id, policy_id)
  local u, p = uid("attach_policy", user_id), pid("attach_policy", policy_id)
  return policy(send(self, "POST", http.path("/v3/access_control/users/%s/policies/%s", u, p), nil,
    { form = {}, idempotent = true }))
end

--- client:detach_policy(user_id, policy_id) -> the policy: detaches it from the user.
function M:detach_policy(user_id, policy_id)
  local u, p = uid("detach_policy", user_id), pid("detach_policy", policy_id)
  return policy(send(self, "DELETE", http.path("/v3/access_control/users/%s/policies/%s", u, p)))
end

--- client:policy_users(policy_id) -> array of the users the policy is
-- attached to ({user_id, account_id, email, name}).
function M:policy_users(policy_id)
  local p = pid("policy_users", policy_id)
  return list(get(self, http.path("/v3/access_control/policies/%s/users", p)), ac_user)
end

--- client:set_policy_users(policy_id, user_ids) -> array of access control
-- users: exactly these users have the policy afterwards.
function M:set_policy_users(policy_id, user_ids)
  local p = pid("set_policy_users", policy_id)
  local ids = args.ids("set_policy_users", "user_ids", user_ids)
  for i, v in ipairs(ids) do ids[i] = int_or_string(v) end
  return list(send(self, "PATCH", http.path("/v3/access_control/policies/%s/users", p),
    { user_ids = ids }), ac_user)
end

--- client:add_policy_user(policy_id, user_id) -> the policy: attaches it to
-- the user (the same as attach_policy, seen from the policy).
function M:add_policy_user(policy_id, user_id)
  local p, u = pid("add_policy_user", policy_id), uid("add_policy_user", user_id)
  return policy(send(self, "POST", http.path("/v3/access_control/policies/%s/users/%s", p, u), nil,
    { form = {}, idempotent = true }))
end

--- client:remove_policy_user(policy_id, user_id) -> the policy: detaches it from the user.
function M:remove_policy_user(policy_id, user_id)
  local p, u = pid("remove_policy_user", policy_id), uid("remove_policy_user", user_id)
  return policy(send(self, "DELETE", http.path("/v3/access_control/policies/%s/users/%s", p, u)))
end

-- ---------------------------------------------------------------------------
-- Permissions

-- {ResourceType = {{operation =, ...}, ...}, ...}
local function check_permissions(fname, t)
  if type(t) ~= "table" then
    usage(("bad argument 'permissions' to '%s' (table expected, got %s)"):format(fname, t == nil and "no value" or type(t)))
  end
  for resource, grants in pairs(t) do
    if type(resource) ~= "string" then usage(fname .. ": permissions are keyed by resource type names such as \"WorkflowProject\"") end
    args.array(fname, "permissions." .. resource, grants, function(g, i)
      if type(g) ~= "table" or type(g.operation) ~= "string" then
        usage(("%s: permissions.%s[%d] needs an operation (a string)"):format(fname, resource, i))
      end
    end)
  end
  return t
end

--- client:policy_permissions(policy_id) -> the policy's permissions:
-- { WorkflowProject = {{operation = "view", ...}}, Databases = {...}, ... }.
function M:policy_permissions(policy_id)
  local p = pid("policy_permissions", policy_id)
  return get(self, http.path("/v3/access_control/policies/%s/permissions", p))
end

--- client:update_policy_permissions(policy_id, permissions) -> the policy's
-- permissions; each resource type given replaces that type's grants.
function M:update_policy_permissions(policy_id, permissions)
  local p = pid("update_policy_permissions", policy_id)
  check_permissions("update_policy_permissions", permissions)
  return send(self, "PATCH", http.path("/v3/access_control/policies/%s/permissions", p), permissions)
end

--- client:policy_column_permissions(policy_id) -> array of column
-- permissions ({tags = {...}, except =, masking = "hash"|nil}).
function M:policy_column_permissions(policy_id)
  local p = pid("policy_column_permissions", policy_id)
  return list(get(self, http.path("/v3/access_control/policies/%s/column_permissions", p)), function(x) return shape.object(x, {}) end)
end

--- client:update_policy_column_permissions(policy_id, list) -> the new list:
-- replaces the policy's column permissions.
--   c:update_policy_column_permissions(7, {{ tags = {"pii"}, masking = "hash" }})
function M:update_policy_column_permissions(policy_id, perms)
  local fname = "update_policy_column_permissions"
  local p = pid(fname, policy_id)
  args.array(fname, "column_permissions", perms, function(x, i)
    local where = ("%s: column_permissions[%d]"):format(fname, i)
    if type(x) ~= "table" then usage(where .. " must be a table {tags =, except =, masking =}") end
    args.array(fname, ("column_permissions[%d].tags"):format(i), x.tags, function(tag)
      if type(tag) ~= "string" then usage(where .. ".tags must hold strings") end
    end)
    if x.except ~= nil and type(x.except) ~= "boolean" then usage(where .. ".except must be a boolean") end
    if x.masking ~= nil and type(x.masking) ~= "string" then usage(where .. ".masking must be a string such as \"hash\"") end
  end)
  return list(send(self, "PATCH", http.path("/v3/access_control/policies/%s/column_permissions", p),
    { column_permissions = perms }), function(x) return shape.object(x, {}) end)
end

-- ---------------------------------------------------------------------------
-- Users

--- client:access_control_users() -> array of users with their permissions
-- and policies ({user_id, account_id, permissions, policies}).
function M:access_control_users()
  return list(get(self, "/v3/access_control/users"), ac_user)
end

--- client:access_control_user(user_id) -> one user's permissions and policies.
function M:access_control_user(user_id)
  local u = uid("access_control_user", user_id)
  return ac_user(get(self, http.path("/v3/access_control/users/%s", u)))
end

--- client:update_user_permissions(user_id, permissions) -> {user_id,
-- permissions}: the permissions a user has outside any policy.
function M:update_user_permissions(user_id, permissions)
  local u = uid("update_user_permissions", user_id)
  check_permissions("update_user_permissions", permissions)
  return ac_user(send(self, "PATCH", http.path("/v3/access_control/users/%s/permissions", u), permissions))
end

--- client:user_profile_options(user_id) -> { key = value|nil, ... }: every
-- profile option with its resolved value for the user.
function M:user_profile_options(user_id)
  local u = uid("user_profile_options", user_id)
  return shape.object(get(self, http.path("/v3/access_control/users/%s/profile_options", u)), {})
end

local function option_key(fname, key)
  return args.name(fname, "key", key)
end

--- client:user_profile_option(user_id, key) -> the option's resolved value
-- (nil when unset without a default; raises not_found for an unknown key).
function M:user_profile_option(user_id, key)
  local u = uid("user_profile_option", user_id)
  option_key("user_profile_option", key)
  local d = get(self, http.path("/v3/access_control/users/%s/profile_options/%s", u, key))
  local v = d[key]
  if v == json.null then v = nil end
  return v
end

--- client:set_user_profile_option(user_id, key, value) -> the value now in
-- effect (admins only).
function M:set_user_profile_option(user_id, key, value)
  local u = uid("set_user_profile_option", user_id)
  option_key("set_user_profile_option", key)
  args.name("set_user_profile_option", "value", value)
  local d = send(self, "PUT", http.path("/v3/access_control/users/%s/profile_options/%s", u, key), { value = value })
  local v = d[key]
  if v == json.null then v = nil end
  return v
end

--- client:delete_user_profile_option(user_id, key) -> true: the option goes
-- back to the account default (admins only).
function M:delete_user_profile_option(user_id, key)
  local u = uid("delete_user_profile_option", user_id)
  option_key("delete_user_profile_option", key)
  send(self, "DELETE", http.path("/v3/access_control/users/%s/profile_options/%s", u, key))
  return true
end

-- ---------------------------------------------------------------------------
-- Policy groups (a group is named by its id or its taggable name)

--- client:policy_groups() -> array of policy groups ({id, account_id, name,
-- taggable_name, description, policy_count, created_at, updated_at}).
function M:policy_groups()
  return list(get(self, "/v3/access_control/policy_groups"), group)
end

--- client:policy_group(id_or_taggable_name) -> one policy group.
function M:policy_group(g)
  local id = gid("policy_group", g)
  return group(get(self, http.path("/v3/access_control/policy_groups/%s", id)))
end

--- client:create_policy_group{name =} -> the new policy group.
function M:create_policy_group(opts)
  if type(opts) ~= "table" then
    usage(("bad argument 'opts' to 'create_policy_group' (table expected, got %s)"):format(opts == nil and "no value" or type(opts)))
  end
  opts = args.opts("create_policy_group", opts, { name = true })
  args.fields("create_policy_group", opts, { name = "string" })
  if not opts.name or opts.name == "" then usage("create_policy_group: opts.name is required") end
  return group(send(self, "POST", "/v3/access_control/policy_groups", { name = opts.name }))
end

--- client:update_policy_group(group, {name =, description =}) -> the group.
-- TD wants the name in every update; when only the description changes,
-- the current name is looked up first.
function M:update_policy_group(g, opts)
  local id = gid("update_policy_group", g)
  opts = args.opts("update_policy_group", opts, { name = true, description = true })
  args.fields("update_policy_group", opts, { name = "string", description = "string" })
  if next(opts) == nil then usage("update_policy_group: nothing to update (opts is empty)") end
  local body = args.pick(opts, { "name", "description" })
  if body.name == nil then body.name = self:policy_group(id).name end
  return group(send(self, "PATCH", http.path("/v3/access_control/policy_groups/%s", id), body))
end

--- client:delete_policy_group(group) -> true.
function M:delete_policy_group(g)
  local id = gid("delete_policy_group", g)
  send(self, "DELETE", http.path("/v3/access_control/policy_groups/%s", id))
  return true
end

--- client:policy_group_policies(group) -> array of the group's policy ids (strings).
function M:policy_group_policies(g)
  local id = gid("policy_group_policies", g)
  local d = get(self, http.path("/v3/access_control/policy_groups/%s/policies", id))
  return strings(d.policy_ids)
end

--- client:set_policy_group_policies(group, policy_ids) -> the group's policy
-- ids: exactly these policies belong to the group afterwards.
function M:set_policy_group_policies(g, policy_ids)
  local id = gid("set_policy_group_policies", g)
  local ids = args.ids("set_policy_group_policies", "policy_ids", policy_ids)
  for i, v in ipairs(ids) do ids[i] = int_or_string(v) end
  local d = send(self, "PATCH", http.path("/v3/access_control/policy_groups/%s/policies", id), { policy_ids = ids })
  return strings(d.policy_ids)
end

-- ---------------------------------------------------------------------------
-- Policy group tags

local function tag_ids(self, fname, tag, what)
  args.name(fname, "tag", tag)
  local d = get(self, http.path("/v3/policy_group_tags/%s/" .. what, tag))
  return strings(d.user_ids)
end

local function set_tag_ids(self, fname, tag, what, user_ids)
  args.name(fname, "tag", tag)
  local ids = args.ids(fname, "user_ids", user_ids)
  send(self, "PATCH", http.path("/v3/policy_group_tags/%s/" .. what, tag), { user_ids = ids })
  return ids
end

--- client:policy_group_tag_delegated_admins(tag) -> array of the user ids of
-- the delegated admins who manage the policy groups with this tag.
function M:policy_group_tag_delegated_admins(tag)
  return tag_ids(self, "policy_group_tag_delegated_admins", tag, "delegated_admins")
end

--- client:set_policy_group_tag_delegated_admins(tag, user_ids) -> user_ids:
-- exactly these delegated admins manage the tag's policy groups afterwards.
function M:set_policy_group_tag_delegated_admins(tag, user_ids)
  return set_tag_ids(self, "set_policy_group_tag_delegated_admins", tag, "delegated_admins", user_ids)
end

--- client:policy_group_tag_users(tag) -> array of the user ids tagged with it.
function M:policy_group_tag_users(tag)
  return tag_ids(self, "policy_group_tag_users", tag, "users")
end

--- client:set_policy_group_tag_users(tag, user_ids) -> user_ids: exactly
-- these users carry the tag afterwards.
function M:set_policy_group_tag_users(tag, user_ids)
  return set_tag_ids(self, "set_policy_group_tag_users", tag, "users", user_ids)
end

return M
