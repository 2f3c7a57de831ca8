--- td.v3.access_control: TD's access control (JSON API under
-- /v3/access_control and /v3/policy_group_tags): policies, the users they
-- are attached to, their permissions and column permissions, users'
-- permissions and profile options, policy groups and the delegated admins
-- and users of policy group tags. Declared as data (td/ops.lua turns each
-- declaration into a client method).
-- Ids (policies, users, groups, accounts) are returned as strings and
-- accepted as strings or integers.
local json = require "cjson.safe"
local ops = require "td.ops"
local shape = require "td.v3.shape"
local args = require "td.v3.args"

local M = {}
local usage = args.usage

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

-- a request hook sending body(call) as this API's JSON
local function json_body(body)
  return function(r, call)
    local text = assert(json.encode(mark_empty(body(call), 0)))
    r.body = text:gsub('"\\u0000tdlua%-empty%-array\\u0000"', "[]")
    r.content_type = "application/json"
    r.form = nil
  end
end

local function policy(p) return shape.object(p, { "id", "account_id" }) end

local function strings(items)
  local out = {}
  for i, x in ipairs(items) do out[i] = tostring(x) end
  return out
end

local function group(g)
  g = shape.object(g, { "id", "account_id" })
  if type(g) == "table" and type(g.policy_ids) == "table" then g.policy_ids = strings(g.policy_ids) end
  return g
end

local function ac_user(u)
  u = shape.object(u, { "user_id", "account_id" })
  if type(u) == "table" and type(u.policies) == "table" then
    for i, p in ipairs(u.policies) do u.policies[i] = policy(p) end
  end
  return u
end

local function plain_object(x) return shape.object(x, {}) end

local function int_or_string(s) return math.tointeger(tonumber(s)) or s end

local function ints(ids)
  local out = {}
  for i, v in ipairs(ids) do out[i] = int_or_string(v) end
  return out
end

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

local function check_column_permissions(call)
  local fname, perms = call.decl.name, call.args.column_permissions
  args.array(fname, "column_permissions", perms, function(x, i)
    local where = ("%s: column_permissions[%d]"):format(fname, i)
    if type(x) ~= "table" then usage(where .. " must be a table {tags =, except =, masking =}") end
    args.array(fname, ("column_permissions[%d].tags"):format(i), x.tags, function(tag)
      if type(tag) ~= "string" then usage(where .. ".tags must hold strings") end
    end)
    if x.except ~= nil and type(x.except) ~= "boolean" then usage(where .. ".except must be a boolean") end
    if x.masking ~= nil and type(x.masking) ~= "string" then usage(where .. ".masking must be a string such as \"hash\"") end
  end)
end

local function profile_value(d, call)
  local v = d[call.args.key]
  if v == json.null then v = nil end
  return v
end

local POLICY_ID = { "policy_id", "id", "a policy's id" }
local USER_ID = { "user_id", "id", "a user's id" }
local GROUP = { "group", "id", "a policy group's id or taggable name" }
local TAG = { "tag", "name", "a policy group tag" }
local KEY = { "key", "name", "a profile option's key" }
local P = "/v3/access_control"

ops.define(M, "v3.access_control", {
  -- Policies
  { name = "policies", path = P .. "/policies",
    opts = { { "column_permission_tag", "string", "only policies with this column permission tag" } },
    answer = { "table" }, each = policy,
    returns = "array of policies ({id, account_id, name, description, user_count})",
    doc = "The account's access control policies.", example = "for _, p in ipairs(c:policies()) do print(p.id, p.name) end" },

  { name = "policy", path = P .. "/policies/{policy_id}", args = { POLICY_ID },
    answer = "table", unwrap = policy, returns = "one policy", errors = "not_found",
    doc = "One policy.", example = "c:policy(7).name" },

  { name = "create_policy", describe = "create a policy", method = "POST", path = P .. "/policies", opts_required = true,
    opts = { { "name", "string", "the policy's name", required = true }, { "description", "string", "free text" } },
    request = json_body(function(call) return { policy = args.pick(call.opts, { "name", "description" }) } end),
    answer = "table", unwrap = policy, returns = "the new policy",
    doc = "Create a policy.", example = 'c:create_policy{ name = "analysts" }' },

  { name = "update_policy", describe = "update policy {policy_id}", method = "PATCH", path = P .. "/policies/{policy_id}", idempotent = true,
    args = { POLICY_ID }, needs_opts = true,
    opts = { { "name", "string", "a new name" }, { "description", "string", "a new description" } },
    request = json_body(function(call) return { policy = args.pick(call.opts, { "name", "description" }) } end),
    answer = "table", unwrap = policy, returns = "the policy",
    doc = "Change a policy's name or description.", example = 'c:update_policy(7, { description = "read only" })' },

  { name = "delete_policy", describe = "delete policy {policy_id}", method = "DELETE", path = P .. "/policies/{policy_id}", args = { POLICY_ID },
    answer = "table", unwrap = policy, returns = "the deleted policy",
    doc = "Delete a policy.", example = "c:delete_policy(7)" },

  { name = "user_policies", path = P .. "/users/{user_id}/policies", args = { USER_ID },
    answer = { "table" }, each = policy, returns = "array of policies",
    doc = "The policies attached to a user.", example = "c:user_policies(42)" },

  { name = "set_user_policies", describe = "set the policies of user {user_id}", method = "PATCH", path = P .. "/users/{user_id}/policies", idempotent = true,
    args = { USER_ID, { "policy_ids", "ids", "the policies the user has afterwards" } },
    request = json_body(function(call) return { policy_ids = call.args.policy_ids } end),
    answer = { "table" }, each = policy, returns = "the user's policies",
    doc = "Attach exactly these policies to a user.", example = "c:set_user_policies(42, { 7, 8 })" },

  { name = "attach_policy", describe = "attach policy {policy_id} to user {user_id}", method = "POST", path = P .. "/users/{user_id}/policies/{policy_id}", idempotent = true,
    args = { USER_ID, POLICY_ID }, answer = "table", unwrap = policy, returns = "the policy",
    doc = "Attach a policy to a user.", example = "c:attach_policy(42, 7)" },

  { name = "detach_policy", describe = "detach policy {policy_id} from user {user_id}", method = "DELETE", path = P .. "/users/{user_id}/policies/{policy_id}",
    args = { USER_ID, POLICY_ID }, answer = "table", unwrap = policy, returns = "the policy",
    doc = "Detach a policy from a user.", example = "c:detach_policy(42, 7)" },

  { name = "policy_users", path = P .. "/policies/{policy_id}/users", args = { POLICY_ID },
    answer = { "table" }, each = ac_user, returns = "array of users ({user_id, account_id, email, name})",
    doc = "The users a policy is attached to.", example = "c:policy_users(7)" },

  { name = "set_policy_users", describe = "set the users of policy {policy_id}", method = "PATCH", path = P .. "/policies/{policy_id}/users", idempotent = true,
    args = { POLICY_ID, { "user_ids", "ids", "the users who have the policy afterwards" } },
    request = json_body(function(call) return { user_ids = ints(call.args.user_ids) } end),
    answer = { "table" }, each = ac_user, returns = "array of access control users",
    doc = "Give a policy to exactly these users.", example = "c:set_policy_users(7, { 42 })" },

  { name = "add_policy_user", describe = "attach policy {policy_id} to user {user_id}", method = "POST", path = P .. "/policies/{policy_id}/users/{user_id}", idempotent = true,
    args = { POLICY_ID, USER_ID }, answer = "table", unwrap = policy, returns = "the policy",
    doc = "Attach a policy to a user (attach_policy seen from the policy).", example = "c:add_policy_user(7, 42)" },

  { name = "remove_policy_user", describe = "detach policy {policy_id} from user {user_id}", method = "DELETE", path = P .. "/policies/{policy_id}/users/{user_id}",
    args = { POLICY_ID, USER_ID }, answer = "table", unwrap = policy, returns = "the policy",
    doc = "Detach a policy from a user.", example = "c:remove_policy_user(7, 42)" },

  -- Permissions
  { name = "policy_permissions", path = P .. "/policies/{policy_id}/permissions", args = { POLICY_ID },
    answer = "table", returns = '{ WorkflowProject = {{operation = "view", ...}}, Databases = {...}, ... }',
    doc = "A policy's permissions, by resource type.", example = "c:policy_permissions(7).Databases" },

  { name = "update_policy_permissions", describe = "update the permissions of policy {policy_id}", method = "PATCH", path = P .. "/policies/{policy_id}/permissions",
    idempotent = true, args = { POLICY_ID, { "permissions", "any", "{ResourceType = {{operation =, ...}}}" } },
    before = function(call) check_permissions(call.decl.name, call.args.permissions) end,
    request = json_body(function(call) return call.args.permissions end),
    answer = "table", returns = "the policy's permissions",
    doc = "Replace the grants of each resource type given.",
    example = 'c:update_policy_permissions(7, { Databases = {{ operation = "query", ids = "web" }} })' },

  { name = "policy_column_permissions", path = P .. "/policies/{policy_id}/column_permissions", args = { POLICY_ID },
    answer = { "table" }, each = plain_object, returns = 'array of {tags = {...}, except =, masking = "hash"|nil}',
    doc = "A policy's column permissions.", example = "c:policy_column_permissions(7)" },

  { name = "update_policy_column_permissions", describe = "replace the column permissions of policy {policy_id}", method = "PATCH", idempotent = true,
    path = P .. "/policies/{policy_id}/column_permissions",
    args = { POLICY_ID, { "column_permissions", "any", "array of {tags =, except =, masking =}" } },
    before = check_column_permissions,
    request = json_body(function(call) return { column_permissions = call.args.column_permissions } end),
    answer = { "table" }, each = plain_object, returns = "the new list",
    doc = "Replace a policy's column permissions.",
    example = 'c:update_policy_column_permissions(7, {{ tags = {"pii"}, masking = "hash" }})' },

  -- Users
  { name = "access_control_users", path = P .. "/users",
    answer = { "table" }, each = ac_user, returns = "array of {user_id, account_id, permissions, policies}",
    doc = "Users with their permissions and policies.", example = "c:access_control_users()" },

  { name = "access_control_user", path = P .. "/users/{user_id}", args = { USER_ID },
    answer = "table", unwrap = ac_user, returns = "one user's permissions and policies",
    doc = "One user's permissions and policies.", example = "c:access_control_user(42)" },

  { name = "update_user_permissions", describe = "update the permissions of user {user_id}", method = "PATCH", path = P .. "/users/{user_id}/permissions", idempotent = true,
    args = { USER_ID, { "permissions", "any", "{ResourceType = {{operation =, ...}}}" } },
    before = function(call) check_permissions(call.decl.name, call.args.permissions) end,
    request = json_body(function(call) return call.args.permissions end),
    answer = "table", unwrap = ac_user, returns = "{user_id, permissions}",
    doc = "The permissions a user has outside any policy.", example = 'c:update_user_permissions(42, { Databases = {} })' },

  { name = "user_profile_options", path = P .. "/users/{user_id}/profile_options", args = { USER_ID },
    answer = "table", unwrap = plain_object, returns = "{ key = value|nil, ... }",
    doc = "Every profile option with its resolved value for a user.", example = "c:user_profile_options(42)" },

  { name = "user_profile_option", path = P .. "/users/{user_id}/profile_options/{key}", args = { USER_ID, KEY },
    answer = "table", unwrap = profile_value, returns = "the option's value (nil when unset without a default)",
    errors = "not_found for an unknown key",
    doc = "One profile option's resolved value for a user.", example = 'c:user_profile_option(42, "timezone")' },

  { name = "set_user_profile_option", describe = "set profile option {key} of user {user_id}", method = "PUT", path = P .. "/users/{user_id}/profile_options/{key}",
    idempotent = true, args = { USER_ID, KEY, { "value", "name", "the new value" } },
    request = json_body(function(call) return { value = call.args.value } end),
    answer = "table", unwrap = profile_value, returns = "the value now in effect",
    doc = "Set a user's profile option (admins only).", example = 'c:set_user_profile_option(42, "timezone", "UTC")' },

  { name = "delete_user_profile_option", describe = "reset profile option {key} of user {user_id}", method = "DELETE", path = P .. "/users/{user_id}/profile_options/{key}",
    args = { USER_ID, KEY }, unwrap = function() return true end, returns = "true",
    doc = "Reset a user's profile option to the account default (admins only).",
    example = 'c:delete_user_profile_option(42, "timezone")' },

  -- Policy groups (a group is named by its id or its taggable name)
  { name = "policy_groups", path = P .. "/policy_groups",
    answer = { "table" }, each = group,
    returns = "array of policy groups ({id, account_id, name, taggable_name, description, policy_count, ...})",
    doc = "The account's policy groups.", example = "c:policy_groups()" },

  { name = "policy_group", path = P .. "/policy_groups/{group}", args = { GROUP },
    answer = "table", unwrap = group, returns = "one policy group",
    doc = "One policy group.", example = 'c:policy_group("finance")' },

  { name = "create_policy_group", describe = "create a policy group", method = "POST", path = P .. "/policy_groups", opts_required = true,
    opts = { { "name", "string", "the group's name", required = true } },
    request = json_body(function(call) return { name = call.opts.name } end),
    answer = "table", unwrap = group, returns = "the new policy group",
    doc = "Create a policy group.", example = 'c:create_policy_group{ name = "finance" }' },

  { name = "update_policy_group", describe = "update policy group {group}", method = "PATCH", path = P .. "/policy_groups/{group}", idempotent = true,
    args = { GROUP }, needs_opts = true,
    opts = { { "name", "string", "a new name" }, { "description", "string", "a new description" } },
    -- TD wants the name in every update: when only the description changes,
    -- the current name is looked up first
    before = function(call)
      if call.opts.name == nil then call.opts.name = call.client:policy_group(call.args.group).name end
    end,
    request = json_body(function(call) return args.pick(call.opts, { "name", "description" }) end),
    answer = "table", unwrap = group, returns = "the group",
    doc = "Change a policy group's name or description.", example = 'c:update_policy_group("finance", { description = "FP&A" })' },

  { name = "delete_policy_group", describe = "delete policy group {group}", method = "DELETE", path = P .. "/policy_groups/{group}", args = { GROUP },
    unwrap = function() return true end, returns = "true",
    doc = "Delete a policy group.", example = 'c:delete_policy_group("finance")' },

  { name = "policy_group_policies", path = P .. "/policy_groups/{group}/policies", args = { GROUP },
    answer = { policy_ids = { "id" } }, unwrap = function(d) return strings(d.policy_ids) end,
    returns = "array of policy ids (strings)",
    doc = "The policies of a policy group.", example = 'c:policy_group_policies("finance")' },

  { name = "set_policy_group_policies", describe = "set the policies of policy group {group}", method = "PATCH", path = P .. "/policy_groups/{group}/policies",
    idempotent = true, args = { GROUP, { "policy_ids", "ids", "the group's policies afterwards" } },
    request = json_body(function(call) return { policy_ids = ints(call.args.policy_ids) } end),
    answer = { policy_ids = { "id" } }, unwrap = function(d) return strings(d.policy_ids) end,
    returns = "the group's policy ids",
    doc = "Put exactly these policies in a policy group.", example = 'c:set_policy_group_policies("finance", { 7 })' },

  -- Policy group tags
  { name = "policy_group_tag_delegated_admins", path = "/v3/policy_group_tags/{tag}/delegated_admins", args = { TAG },
    answer = { user_ids = { "id" } }, unwrap = function(d) return strings(d.user_ids) end,
    returns = "array of user ids",
    doc = "The delegated admins who manage the policy groups with a tag.", example = 'c:policy_group_tag_delegated_admins("fin")' },

  { name = "set_policy_group_tag_delegated_admins", describe = "set the delegated admins of policy group tag {tag}", method = "PATCH", idempotent = true,
    path = "/v3/policy_group_tags/{tag}/delegated_admins",
    args = { TAG, { "user_ids", "ids", "the delegated admins afterwards" } },
    request = json_body(function(call) return { user_ids = call.args.user_ids } end),
    result = "user_ids", returns = "user_ids",
    doc = "Let exactly these delegated admins manage a tag's policy groups.",
    example = 'c:set_policy_group_tag_delegated_admins("fin", { 42 })' },

  { name = "policy_group_tag_users", path = "/v3/policy_group_tags/{tag}/users", args = { TAG },
    answer = { user_ids = { "id" } }, unwrap = function(d) return strings(d.user_ids) end,
    returns = "array of user ids",
    doc = "The users tagged with a policy group tag.", example = 'c:policy_group_tag_users("fin")' },

  { name = "set_policy_group_tag_users", describe = "set the users of policy group tag {tag}", method = "PATCH", idempotent = true,
    path = "/v3/policy_group_tags/{tag}/users",
    args = { TAG, { "user_ids", "ids", "the tagged users afterwards" } },
    request = json_body(function(call) return { user_ids = call.args.user_ids } end),
    result = "user_ids", returns = "user_ids",
    doc = "Tag exactly these users.", example = 'c:set_policy_group_tag_users("fin", { 42 })' },
})

return M
