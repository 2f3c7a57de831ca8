-- operations as data (td.ops) and the one answer check (td.shape)
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind

test("an answer {} to /v3/database/list is bad_response, not an empty list", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v3/database/list$", status = 200, body = {}, times = -1 }
  local e = raises_kind("bad_response", c.databases, c)
  like(e.message, "client:databases")
  like(e.message, "answer%.databases: missing")
  eq(e.method, "GET")
  like(e.url, "/v3/database/list")
  ok(e.body, "an excerpt of the body")
  ok(e.attempts > 1, "a read is tried again")
  t.reset()
end)

test("a wrong-shaped answer that comes right on a later try is not an error for a read", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v3/database/list$", status = 200, body = {}, times = 1 }
  ok(#c:databases() > 0)
end)

test("a wrong-shaped item inside a list is bad_response naming where", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v3/table/list/web$", status = 200, body = { tables = { { name = "a" }, "x" } }, times = -1 }
  local e = raises_kind("bad_response", c.tables, c, "web")
  like(e.message, "answer%.tables%[2%]: table expected, got a string")
  t.reset()
end)

test("--dry-run describes a declared call that changes something", function()
  local code, _, err = t.run("--dry-run -e " .. t.sh_quote([[
    local c = td.client{ apikey = "1/x", config_path = "/nonexistent", endpoint = "http://127.0.0.1:9" }
    c:delete_database("old_db")
    c.workflow:delete_pool(3)]]), {})
  eq(code, 0, err)
  like(err, "would delete database old_db and its tables")
  like(err, "would delete resource pool 3")
end)

test("shape.check: specs for scalars, optional fields, arrays and objects", function()
  local shape = require "td.shape"
  eq(shape.ok({ a = 1, b = { "x", "y" } }, { a = "integer", b = { "string" }, c = "string?" }), true)
  local good, why = shape.ok({ a = "1" }, { a = "integer" })
  eq(good, false)
  eq(why, "answer.a: integer expected, got a string")
  eq(select(2, shape.ok({}, "array")), nil)
  eq(select(2, shape.ok({ x = 1 }, "array")), "answer: array expected, got an object")
  local e = raises_kind("bad_response", shape.check, "nope", { id = "id" }, { name = "wf:thing", method = "GET", url = "/x", body = "nope" })
  like(e.message, "^wf:thing: unexpected answer")
  eq(e.excerpt, "nope")
end)

test("declared methods check arguments and options (nearest valid option named)", function()
  local c = t.client()
  local e = raises_kind("usage", c.create_database, c, "x", { if_not_exist = true })
  like(e.message, "create_database: unknown option 'if_not_exist' %(did you mean 'if_not_exists'%?%)")
  e = raises_kind("usage", c.create_database, c, "x", { description = 5 })
  like(e.message, "bad argument 'opts.description' to 'create_database' %(string expected, got number%)")
  e = raises_kind("usage", c.table, c, "web")
  like(e.message, "bad argument 'name' to 'table' %(string expected, got no value%)")
  e = raises_kind("usage", c.databases, c, { x = 1 })
  like(e.message, "databases: unknown option 'x'")
end)

test("every declaration has a doc line and a known method; paths name their arguments", function()
  local ops = require "td.ops"
  require("td.client").all_methods()
  local c = t.client()
  local decls = ops.declarations()
  ok(#decls > 0)
  for _, d in ipairs(decls) do
    ok(type(d.doc) == "string" and d.doc ~= "", d.key .. " has a doc line")
    if d.path then
      for k in d.path:gmatch("{([%w_]+)}") do
        local found = false
        for _, a in ipairs(d.args or {}) do if a[1] == k then found = true end end
        ok(found, d.key .. ": {" .. k .. "} is an argument")
      end
    end
    if d.prefix == "client" then ok(type(c[d.name]) == "function", d.key .. " exists") end
  end
end)
