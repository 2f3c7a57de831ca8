-- saved results (connections), connector config validation, data connector
-- restrictions and table export
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local find = t.find_named
local last_request = t.last_request

test("results, result, create_result and delete_result", function()
  t.reset()
  local c = t.client()
  local pg = ok(find(c:results(), "my_postgres"))
  like(pg.url, "^postgresql://")
  eq(pg.organization, nil, "null is absent")
  eq(c:create_result("to_td", "td://@/web/summary?mode=append"), "to_td")
  eq(c:result("to_td").url, "td://@/web/summary?mode=append")
  raises_kind("conflict", c.create_result, c, "to_td", "td://@/web/x")
  like(raises_kind("bad_request", c.create_result, c, "bad_url", "notaurl").message, "notaurl")
  eq(c:delete_result("to_td"), "to_td")
  raises_kind("not_found", c.result, c, "to_td")
  raises_kind("not_found", c.delete_result, c, "to_td")
  like(raises_kind("usage", c.create_result, c, "x_res").message, "'url'")
  local ro = t.client { apikey = t.RO_KEY }
  raises_kind("forbidden", ro.create_result, ro, "ro_res", "td://@/web/x")
  raises_kind("forbidden", ro.delete_result, ro, "my_postgres")
end)

test("a password inside a result URL is masked in what tdlua prints", function()
  t.reset()
  local c = t.client()
  c:create_result("with_pw", "mysql://writer:hunter2-pass@db.example.com/app/t")
  eq(td.redact.text("mysql://writer:hunter2-pass@x"):find("hunter2-pass", 1, true), nil)
  eq(c:result("with_pw").url, "mysql://writer:hunter2-pass@db.example.com/app/t", "the value itself is intact")
end)

test("connection_id looks a connection up by name", function()
  t.reset()
  local c = t.client()
  local id = c:connection_id("my_postgres")
  like(id, "^%d+$")
  eq(c:connection_id("my_postgres"), id, "stable")
  eq(ok(last_request("GET", "^/v3/connections/lookup$")).query.name, "my_postgres")
  raises_kind("not_found", c.connection_id, c, "nope_conn")
  like(raises_kind("usage", c.connection_id, c, {}).message, "'name'")
end)

test("validate_connector_config", function()
  t.reset()
  local c = t.client()
  local out = c:validate_connector_config { type = "s3", settings = { bucket = "b", path = "x/" }, connection = "my_postgres" }
  eq(out.type, "s3")
  eq(out.settings.bucket, "b")
  local r = ok(last_request("POST", "^/v3/connector_configs/validate_with_connection$"))
  eq(r.json.connection_id, tonumber(c:connection_id("my_postgres")), "the looked-up id is sent")
  local e = raises_kind("bad_request", c.validate_connector_config, c, { type = "s3", settings = {} })
  eq(e.status, 422)
  like(e.message, "bucket")
  raises_kind("not_found", c.validate_connector_config, c, { type = "td", connection_id = 424242 })
  like(raises_kind("usage", c.validate_connector_config, c, { settings = {} }).message, "type")
  like(raises_kind("usage", c.validate_connector_config, c, { type = "s3", settings = "x" }).message, "opts.settings")
  like(raises_kind("usage", c.validate_connector_config, c, { type = "s3", connection = "a", connection_id = 1 }).message, "not both")
end)

test("data_connector_restrictions", function()
  t.reset()
  local r = t.client():data_connector_restrictions()
  eq(r.mysql.import, true)
  eq(r.mysql.export, false)
end)

test("export starts an export Job and never shows the secret key", function()
  t.reset()
  local c = t.client()
  local secret = "wJalrXUtnFEMI-K7MDENG-EXAMPLEKEY"
  local job = c:export("web", "pageviews", { bucket = "my-bucket", access_key_id = "AKIDEXAMPLE",
    secret_access_key = secret, file_prefix = "exports/pv", file_format = "tsv.gz",
    from = "2026-11-01", to = 1795132800 })
  like(job.job_id, "^%d+$")
  eq(job.type, "export")
  like(job.domain_key, "^tdlua%-")
  local r = ok(last_request("POST", "^/v3/export/run/web/pageviews$"))
  eq(r.form.bucket, "my-bucket")
  eq(r.form.storage_type, "s3")
  eq(r.form.file_format, "tsv.gz")
  eq(r.form.from, "1793491200")
  eq(r.form.to, "1795132800")
  eq(r.form.domain_key, job.domain_key)
  job:wait { interval = 0.01 }
  eq(job.status, "success")
  eq(td.redact.text("k=" .. secret):find(secret, 1, true), nil, "the secret is masked")
  local e = raises_kind("not_found", c.export, c, "web", "nope_tbl", { bucket = "b", secret_access_key = secret })
  eq(tostring(e):find(secret, 1, true), nil)
end)

test("export is retried after a lost answer without a second job", function()
  t.reset()
  local c = t.client()
  local before = t.state().v3.jobs
  t.fault { method = "POST", path = "^/v3/export/run/", action = "truncate", bytes = 4 }
  local job = c:export("web", "pageviews", { bucket = "b" })
  eq(t.state().v3.jobs - before, 1)
  eq(c:job(job.job_id).type, "export")
end)

test("export argument errors", function()
  local c = t.client()
  like(raises_kind("usage", c.export, c, "web", "pageviews", {}).message, "bucket")
  like(raises_kind("usage", c.export, c, "web", "pageviews").message, "'opts'")
  like(raises_kind("usage", c.export, c, "web", "pageviews", { bucket = "b", file_format = "csv" }).message, "file_format")
  like(raises_kind("usage", c.export, c, "web", "pageviews", { bucket = "b", from = "last tuesday" }).message, "from")
  like(raises_kind("usage", c.export, c, "web", "pageviews", { bucket = "b", buckett = "c" }).message, "buckett")
  like(raises_kind("usage", c.export, c, "web", nil, { bucket = "b" }).message, "'table'")
end)
