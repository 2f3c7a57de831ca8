--- td.v3.users: users of the account, their API keys, logging in with a
-- password, and delegated admins. Passwords and keys never appear in
-- traces, errors or dry-run output.
local errors = require "td.errors"
local http = require "td.http"
local redact = require "td.redact"
local shape = require "td.v3.shape"
local args = require "td.v3.args"

local M = {}
local name_arg = args.name

local function user_shape(u)
  return shape.object(u, { "id", "account_id" })
end

--- client:users() -> array of users ({id, name, email, first_name,
-- last_name, administrator, account_owner, created_at, ...}).
function M:users()
  local d = http.request(self, { path = "/v3/user/list" })
  local out = {}
  for i, u in ipairs(d.users or {}) do out[i] = user_shape(u) end
  return out
end

--- client:user() -> the user this client's API key belongs to (GET /v3/user/show).
function M:user()
  return user_shape(http.request(self, { path = "/v3/user/show" }))
end

--- client:authenticate(user, password) -> client, name: logs in with an
-- e-mail address (or user name) and password (POST /v3/user/authenticate)
-- and returns a new client that uses the user's API key, plus the user's
-- name. The key stays inside the new client (printing it shows it masked);
-- a wrong password raises bad_request.
function M:authenticate(user, password)
  name_arg("authenticate", "user", user)
  name_arg("authenticate", "password", password)
  redact.add(password)
  local d = http.request(self, {
    method = "POST", path = "/v3/user/authenticate",
    form = { user = user, password = password }, auth = false,
    dry_run_send = true, -- logging in changes nothing, and the form must not be echoed
  })
  if type(d.apikey) ~= "string" or d.apikey == "" then
    errors.raise { kind = "json", message = "authenticate: TD answered without an API key" }
  end
  redact.add(d.apikey)
  local o = {
    apikey = d.apikey, endpoint = self.endpoint, workflow_endpoint = self.workflow_endpoint,
    trace = self.trace, dry_run = self.dry_run, ca_file = self.ca_file, config_path = "/nonexistent",
  }
  for _, k in ipairs { "max_retries", "retry_base_delay", "retry_max_delay", "retry_max_time",
                       "connect_timeout", "timeout", "stall_timeout" } do o[k] = self[k] end
  return require("td.client").new(o), d.name
end

--- client:add_user(name, {email =, password =, organization =}) -> name
-- (POST /v3/user/add/:name; email is required).
function M:add_user(name, opts)
  name_arg("add_user", "name", name)
  opts = args.opts("add_user", opts, { email = true, password = true, organization = true })
  args.fields("add_user", opts, { email = "string", password = "string", organization = "string" })
  if not opts.email or opts.email == "" then args.usage("add_user: opts.email is required") end
  if opts.password then redact.add(opts.password) end
  http.request(self, {
    method = "POST", path = http.path("/v3/user/add/%s", name),
    form = args.pick(opts, { "email", "password", "organization" }),
  })
  return name
end

--- client:remove_user(name) -> name (POST /v3/user/remove/:name).
function M:remove_user(name)
  name_arg("remove_user", "name", name)
  http.request(self, { method = "POST", path = http.path("/v3/user/remove/%s", name), form = {} })
  return name
end

--- client:api_keys(name) -> array of the user's API keys (strings; they are
-- masked wherever tdlua prints text, but the strings themselves are real).
function M:api_keys(name)
  name_arg("api_keys", "name", name)
  local d = http.request(self, { path = http.path("/v3/user/apikey/list/%s", name) })
  local out = {}
  for i, k in ipairs(d.apikeys or {}) do
    if type(k) == "table" then k = k.key or k.apikey end
    redact.add(k)
    out[i] = k
  end
  return out
end

--- client:add_api_key(name) -> the new API key (a string) for the user.
function M:add_api_key(name)
  name_arg("add_api_key", "name", name)
  local d = http.request(self, { method = "POST", path = http.path("/v3/user/apikey/add/%s", name), form = {} })
  redact.add(d.apikey)
  return d.apikey
end

--- client:remove_api_key(name, key) -> name: the key stops working.
function M:remove_api_key(name, key)
  name_arg("remove_api_key", "name", name)
  name_arg("remove_api_key", "key", key)
  redact.add(key)
  http.request(self, { method = "POST", path = http.path("/v3/user/apikey/remove/%s", name), form = { apikey = key } })
  return name
end

--- client:add_delegated_admin(email) -> {user_email, delegated_admin = true}
-- (POST /v3/user/delegated_admin/add/:email).
function M:add_delegated_admin(email)
  name_arg("add_delegated_admin", "email", email)
  return (http.request(self, { method = "POST", path = http.path("/v3/user/delegated_admin/add/%s", email), form = {} }))
end

--- client:remove_delegated_admin(email) -> {user_email, delegated_admin = false}
-- (POST /v3/user/delegated_admin/remove/:email).
function M:remove_delegated_admin(email)
  name_arg("remove_delegated_admin", "email", email)
  return (http.request(self, { method = "POST", path = http.path("/v3/user/delegated_admin/remove/%s", email), form = {} }))
end

return M
