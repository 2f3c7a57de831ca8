--- td.v3.users: users of the account, their API keys, logging in with a
-- password, and delegated admins. Passwords and keys never appear in
-- traces, errors or dry-run output. The thin operations are declared as
-- data (td/ops.lua); authenticate is written by hand.
local errors = require "td.errors"
local http = require "td.http"
local redact = require "td.redact"
local shape = require "td.v3.shape"
local args = require "td.v3.args"
local ops = require "td.ops"

local M = {}
local name_arg = args.name

local function user_shape(u)
  return shape.object(u, { "id", "account_id" })
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

local NAME = { "name", "name", "the user's name" }

local function hide(k) if type(k) == "string" then redact.add(k) end return k end

ops.define(M, "v3.users", {
  { name = "users", path = "/v3/user/list",
    answer = { users = { "table" } }, unwrap = "users", each = user_shape,
    returns = "array of users ({id, name, email, first_name, last_name, administrator, account_owner, created_at, ...})",
    doc = "The account's users.", example = "for _, u in ipairs(c:users()) do print(u.email) end" },

  { name = "user", path = "/v3/user/show", answer = "table", unwrap = user_shape,
    returns = "the user", doc = "The user this client's API key belongs to.", example = "c:user().email" },

  { name = "authenticate", hand = true, method = "POST", path = "/v3/user/authenticate",
    args = { { "user", "name", "an e-mail address or user name" }, { "password", "name", "the password (masked)" } },
    returns = "client, name", errors = "bad_request for a wrong password",
    doc = "Log in with a password; returns a new client using the user's API key.",
    example = 'local uc, name = c:authenticate("me@example.com", pw)' },

  { name = "add_user", describe = "add user {name}", method = "POST", path = "/v3/user/add/{name}", args = { NAME },
    opts = { { "email", "string", "the user's e-mail address", required = true },
             { "password", "string", "an initial password (masked)" },
             { "organization", "string", "the organization" } },
    before = function(call) hide(call.opts.password) end, result = "name",
    returns = "name", doc = "Add a user to the account.", example = 'c:add_user("ann", { email = "ann@example.com" })' },

  { name = "remove_user", describe = "remove user {name}", method = "POST", path = "/v3/user/remove/{name}", args = { NAME }, result = "name",
    returns = "name", doc = "Remove a user from the account.", example = 'c:remove_user("ann")' },

  { name = "api_keys", path = "/v3/user/apikey/list/{name}", args = { NAME },
    answer = { apikeys = { "any" } },
    unwrap = function(d)
      local out = {}
      for i, k in ipairs(d.apikeys) do
        if type(k) == "table" then k = k.key or k.apikey end
        out[i] = hide(k)
      end
      return out
    end,
    returns = "array of API keys (strings; masked wherever tdlua prints text)",
    doc = "A user's API keys.", example = 'c:api_keys("ann")' },

  { name = "add_api_key", describe = "add an API key for user {name}", method = "POST", path = "/v3/user/apikey/add/{name}", args = { NAME },
    answer = { apikey = "string" }, unwrap = function(d) return hide(d.apikey) end,
    returns = "the new API key (a string)", doc = "Give a user a new API key.", example = 'c:add_api_key("ann")' },

  { name = "remove_api_key", describe = "remove an API key of user {name}", method = "POST", path = "/v3/user/apikey/remove/{name}",
    args = { NAME, { "key", "name", "the key to revoke", to = "form", as = "apikey" } },
    before = function(call) hide(call.args.key) end, result = "name",
    returns = "name", doc = "Revoke one of a user's API keys.", example = 'c:remove_api_key("ann", key)' },

  { name = "add_delegated_admin", describe = "make {email} a delegated admin", method = "POST", path = "/v3/user/delegated_admin/add/{email}",
    args = { { "email", "name", "the user's e-mail address" } }, answer = "table",
    returns = "{user_email, delegated_admin = true}", doc = "Make a user a delegated admin.",
    example = 'c:add_delegated_admin("ann@example.com")' },

  { name = "remove_delegated_admin", describe = "make {email} no longer a delegated admin", method = "POST", path = "/v3/user/delegated_admin/remove/{email}",
    args = { { "email", "name", "the user's e-mail address" } }, answer = "table",
    returns = "{user_email, delegated_admin = false}", doc = "Stop a user being a delegated admin.",
    example = 'c:remove_delegated_admin("ann@example.com")' },
})

return M
