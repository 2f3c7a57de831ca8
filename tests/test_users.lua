-- users, API keys, logging in, delegated admins
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local find = t.find_named

test("users and user", function()
  t.reset()
  local c = t.client()
  local users = c:users()
  local owner = ok(find(users, "owner"))
  eq(owner.id, "1", "ids are strings")
  eq(owner.email, "owner@example.com")
  eq(owner.password, nil)
  eq(c:user().name, "owner")
  eq(t.client { apikey = t.RO_KEY }:user().name, "analyst")
end)

test("authenticate returns a client for the user; the key stays hidden", function()
  t.reset()
  local c = t.client()
  local uc, name = c:authenticate("analyst@example.com", "secret")
  eq(name, "analyst")
  eq(uc:user().name, "analyst", "the new client uses the user's key")
  for _, key in ipairs(c:api_keys("analyst")) do
    eq(tostring(uc):find(key, 1, true), nil, "tostring(client) masks the key")
    eq(td.pretty.format(uc:config()):find(key, 1, true), nil, "config() masks the key")
  end
  local e = raises_kind("bad_request", c.authenticate, c, "analyst@example.com", "wrong-password-123")
  eq(tostring(e):find("wrong-password-123", 1, true), nil)
  eq(td.redact.text("pw=wrong-password-123"):find("wrong-password-123", 1, true), nil, "the password is a known secret")
  like(raises_kind("usage", c.authenticate, c, "analyst@example.com").message, "'password'")
end)

test("authenticate logs in even in dry-run mode and echoes nothing", function()
  t.reset()
  local code, out, err = t.run("-e " .. t.sh_quote(([[
    local c = td.client{ endpoint = %q, apikey = %q, dry_run = true, config_path = "/nonexistent" }
    local uc, name = c:authenticate("owner", "secret")
    print(name, uc:user().name)]]):format(t.fake().url, t.KEY)), { TDLUA_LUA_DIR = "./lua" })
  eq(code, 0, err)
  eq(out, "owner\towner\n")
  eq(err:find("secret", 1, true), nil, "the form with the password is not printed")
end)

test("add_user and remove_user", function()
  t.reset()
  local c = t.client()
  eq(c:add_user("newbie", { email = "newbie@example.com", password = "initial-pass-1" }), "newbie")
  eq(ok(find(c:users(), "newbie")).email, "newbie@example.com")
  raises_kind("conflict", c.add_user, c, "newbie", { email = "other@example.com" })
  eq(c:remove_user("newbie"), "newbie")
  eq(find(c:users(), "newbie"), nil)
  raises_kind("not_found", c.remove_user, c, "newbie")
  like(raises_kind("bad_request", c.remove_user, c, "owner").message, "owner")
  like(raises_kind("usage", c.add_user, c, "x_user", {}).message, "email")
  like(raises_kind("usage", c.add_user, c, "x_user", { email = 5 }).message, "opts.email")
  local ro = t.client { apikey = t.RO_KEY }
  raises_kind("forbidden", ro.add_user, ro, "ro_user", { email = "ro@example.com" })
  raises_kind("forbidden", ro.remove_user, ro, "analyst")
end)

test("api_keys, add_api_key and remove_api_key", function()
  t.reset()
  local c = t.client()
  local keys = c:api_keys("owner")
  ok(#keys >= 1)
  local new = c:add_api_key("owner")
  like(new, "^%d+/%x+$")
  local listed = {}
  for _, k in ipairs(c:api_keys("owner")) do listed[k] = true end
  ok(listed[new], "the new key is listed")
  local nc = t.client { apikey = new }
  ok(#nc:databases() > 0, "the new key works")
  eq(c:remove_api_key("owner", new), "owner")
  local e = raises_kind("auth", nc.databases, nc)
  eq(tostring(e):find(new, 1, true), nil)
  raises_kind("not_found", c.remove_api_key, c, "owner", new)
  raises_kind("not_found", c.api_keys, c, "nobody_here")
  like(raises_kind("usage", c.remove_api_key, c, "owner").message, "'key'")
  raises_kind("forbidden", function() local ro = t.client { apikey = t.RO_KEY }; return ro:add_api_key("analyst") end)
end)

test("add_delegated_admin and remove_delegated_admin", function()
  t.reset()
  local c = t.client()
  eq(c:add_delegated_admin("analyst@example.com"), { user_email = "analyst@example.com", delegated_admin = true })
  eq(t.state().access.delegated_admins, { "analyst@example.com" })
  eq(c:remove_delegated_admin("analyst@example.com").delegated_admin, false)
  eq(#t.state().access.delegated_admins, 0)
  raises_kind("not_found", c.add_delegated_admin, c, "ghost@example.com")
  like(raises_kind("bad_request", c.add_delegated_admin, c, "owner@example.com").message, "administrator")
  local ro = t.client { apikey = t.RO_KEY }
  raises_kind("forbidden", ro.add_delegated_admin, ro, "analyst@example.com")
  like(raises_kind("usage", c.add_delegated_admin, c).message, "'email'")
end)
