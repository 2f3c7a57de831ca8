-- the first v3 slice against the fake TD server
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local find = t.find_named
local last_request = t.last_request

test("server_status needs no key", function()
  t.reset()
  local c = t.client { apikey = "9/wrong" }
  eq(c:server_status(), "ok")
end)

test("requests carry TD1 auth, our User-Agent and JSON accept", function()
  t.reset()
  local c = t.client()
  c:databases()
  local r = ok(last_request("GET", "^/v3/database/list$"))
  eq(r.headers["authorization"] == "TD1 " .. t.KEY, true, "Authorization header")
  like(r.headers["user-agent"], "^tdlua/%d")
end)

test("databases, database, tables, table", function()
  t.reset()
  local c = t.client()
  local dbs = c:databases()
  ok(find(dbs, "sample_datasets"), "sample_datasets listed")
  eq(c:database("web").name, "web")
  local tables = c:tables("sample_datasets")
  local www = ok(find(tables, "www_access"))
  eq(type(www.schema), "table", "schema decoded from its JSON string")
  eq(type(www.schema_json), "string")
  eq(c:table("sample_datasets", "www_access").name, "www_access")
end)

test("unknown database and table raise not_found with the server's message", function()
  t.reset()
  local c = t.client()
  local e = raises_kind("not_found", c.tables, c, "nope_db")
  eq(e.status, 404)
  like(e.message, "nope_db")
  eq(e.method, "GET")
  like(e.url, "/v3/table/list/nope_db$")
  raises_kind("not_found", c.table, c, "sample_datasets", "nope")
  like(tostring(e), "^not_found: .*nope_db.*%[GET http://127%.0%.0%.1:%d+/v3/table/list/nope_db %-> 404")
end)

test("a wrong key raises auth with a hint, and the key is not in the error", function()
  t.reset()
  local bad = "1/" .. ("ab"):rep(20)
  local c = t.client { apikey = bad }
  local e = raises_kind("auth", c.databases, c)
  eq(e.status, 401)
  like(tostring(e), "API key")
  eq(tostring(e):find(bad, 1, true), nil)
  eq(tostring(e.body or ""):find(bad, 1, true), nil)
end)

test("a query-only key gets forbidden on writes", function()
  t.reset()
  local c = t.client { apikey = t.RO_KEY }
  local e = raises_kind("forbidden", c.request, c, "POST", "/v3/database/create/newdb", { form = {} })
  eq(e.status, 403)
end)

test("account", function()
  t.reset()
  local a = t.client():account()
  ok(a.id, "account id")
end)

test("path segments are escaped strictly", function()
  local http = require "td.http"
  eq(http.escape("a b/c.d+e"), "a%20b%2Fc%2Ed%2Be")
  eq(http.path("/v3/table/show/%s/%s", "my db", "t.1"), "/v3/table/show/my%20db/t%2E1")
  eq(http.encode_form { b = "x y", a = 1, c = true, d = td.null }, "a=1&b=x%20y&c=true")
  t.reset()
  local c = t.client()
  local e = raises_kind("not_found", c.tables, c, "../v3/account")
  like(e.url, "%%2E%%2E%%2Fv3%%2Faccount")
end)

test("query submits the form TD expects and returns a Job", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT 1", { db = "sample_datasets", priority = 1, retry_limit = 2, pool_name = "p1" })
  like(job.job_id, "^%d+$")
  eq(job.database, "sample_datasets")
  like(job.domain_key, "^tdlua%-%x+$")
  local r = ok(last_request("POST", "^/v3/job/issue/presto/sample_datasets$"))
  eq(r.form.query, "SELECT 1")
  eq(r.form.priority, "1")
  eq(r.form.retry_limit, "2")
  eq(r.form.pool_name, "p1")
  eq(r.form.domain_key, job.domain_key)
  c:query("SELECT 1", { db = "web", engine = "hive" })
  ok(last_request("POST", "^/v3/job/issue/hive/web$"))
end)

test("query argument errors name the argument", function()
  local c = t.client()
  like(raises_kind("usage", c.query, c, 42, { db = "x" }).message, "'sql'")
  like(raises_kind("usage", c.query, c, "SELECT 1").message, "'opts'")
  like(raises_kind("usage", c.query, c, "SELECT 1", {}).message, "opts.db")
  like(raises_kind("usage", c.query, c, "SELECT 1", { db = "x", engine = "spark" }).message, "spark")
  like(raises_kind("usage", c.query, c, "SELECT 1", { db = "x", priority = 7 }).message, "priority")
  like(raises_kind("usage", c.query, c, "   ", { db = "x" }).message, "empty")
end)

test("job, job_status and kill", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT 1 -- fake_stuck", { db = "web" })
  local st = c:job_status(job.job_id)
  eq(st.job_id, job.job_id)
  ok(st.status == "queued" or st.status == "running")
  eq(st.end_at, nil, "empty end_at is absent")
  local full = c:job(job.job_id)
  eq(full.query, "SELECT 1 -- fake_stuck")
  local former = c:kill(job.job_id)
  ok(former == "queued" or former == "running", "former status " .. tostring(former))
  eq(c:job_status(job.job_id).status, "killed")
  raises_kind("not_found", c.job, c, "99999999")
end)

test("jobs pages through the whole list once, newest first", function()
  t.reset()
  local c = t.client()
  local ids, seen = {}, {}
  for j in c:jobs() do
    ok(not seen[j.job_id], "duplicate " .. j.job_id)
    seen[j.job_id] = true
    ids[#ids + 1] = tonumber(j.job_id)
  end
  ok(#ids >= 20, "seeded jobs listed: " .. #ids)
  for i = 2, #ids do ok(ids[i - 1] > ids[i], "newest first") end
  local n = 0
  for _ in c:jobs { limit = 7 } do n = n + 1 end
  eq(n, 7)
  for j in c:jobs { status = "error" } do eq(j.status, "error") end
  like(raises_kind("usage", c.jobs, c, { status = "weird" }).message, "weird")
end)

test("jobs pages in windows of 100 with from/to", function()
  t.reset()
  local c = t.client()
  for _ = 1, 3 do c:query("SELECT 1", { db = "web" }) end
  local n = 0
  for _ in c:jobs { limit = 3 } do n = n + 1 end
  eq(n, 3)
  local r = ok(last_request("GET", "^/v3/job/list$"))
  eq(r.query.from, "0")
  eq(r.query.to, "2")
end)

test("module-level shortcuts use a default client from the environment", function()
  local f = t.fake()
  local code, out, err = t.run("-e " .. t.sh_quote([[
    print(#td.databases() > 0, td.server_status())
    local j = td.query("SELECT 1", { db = "web" })
    print(j.job_id ~= nil)]]),
    { TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent" })
  eq(err, "")
  eq(code, 0)
  eq(out, "true\tok\ntrue\n")
end)

test("client:request is the escape hatch", function()
  t.reset()
  local c = t.client()
  local d = c:request("GET", "/v3/job/list", { query = { from = 0, to = 1 } })
  eq(#d.jobs, 2)
  like(raises_kind("usage", c.request, c, "GET", "https://elsewhere.example/v3").message, "must start with")
end)

test("JSON integers stay Lua integers", function()
  t.reset()
  local c = t.client()
  local db = c:database("web")
  eq(math.type(db.count), "integer")
  local j = c:query("SELECT 1", { db = "web" }):wait { interval = 0.01, progress = false }
  eq(math.type(j.num_records), "integer")
end)

test("method modules load on first need; every method is still there", function()
  local code, out = t.run("-e " .. t.sh_quote([[
    local c = td.client { apikey = "1/x", endpoint = "http://127.0.0.1:9" }
    local _ = c.ca_file, c.trace, c.query
    io.write(tostring(package.loaded["td.v3.access_control"] ~= nil), " ")
    io.write(type(c.create_policy), " ", type(c.server_status), " ", tostring(c.no_such_method), "\n")
  ]]), { TD_CONFIG_PATH = "/nonexistent" })
  eq(code, 0)
  eq(out, "false function function nil\n")
end)
