-- the fake TD server's fault injection: "act, then fail the reply", kept-alive
-- connection faults, stalls, wrong-shaped JSON, echo, headers and framing
local t = require "testlib"
local test, eq, ok, raises_kind = t.test, t.eq, t.ok, t.raises_kind
local http = require "td.http"

local function db_exists(c, name)
  for _, d in ipairs(c:databases()) do if d.name == name then return true end end
  return false
end

local function create_db(c, name)
  return http.request(c, { method = "POST", path = "/v3/database/create/" .. name })
end

local function hits()
  local n = 0
  for _, f in ipairs(t.faults()) do n = n + f.hits end
  return n
end

test("act then 503: the server acted, the client saw a 503", function()
  t.reset()
  local c = t.client()
  t.inject("after_act_503", "POST", "^/v3/database/create/")
  local e = raises_kind("server", create_db, c, "acted_503")
  eq(e.status, 503)
  ok(db_exists(c, "acted_503"), "the database was created")
  local r = t.last_request("POST", "^/v3/database/create/")
  eq(r.acted, true)
  eq(r.acted_status, 200)
  eq(r.status, 503)
end)

test("act then reset, act then invalid JSON: the effect is there", function()
  for _, kind in ipairs { "after_act_reset", "after_act_badjson" } do
    t.reset()
    local c = t.client()
    t.inject(kind, "POST", "^/v3/database/create/")
    ok(not pcall(create_db, c, "acted_" .. kind), kind .. ": the call failed")
    ok(db_exists(c, "acted_" .. kind), kind .. ": the database was created")
  end
end)

test("act then stall: the client times out, the effect is there", function()
  t.reset()
  local c = t.client { timeout = 1 }
  t.inject("after_act_stall", "POST", "^/v3/database/create/")
  local ok1, e = pcall(create_db, c, "acted_stall")
  ok(not ok1, "timed out")
  eq(e.kind, "timeout")
  ok(db_exists(c, "acted_stall"), "the database was created")
end)

test("a stall without act swallows the request: no effect", function()
  t.reset()
  local c = t.client { timeout = 1 }
  t.inject("stall", "POST", "^/v3/database/create/")
  ok(not pcall(create_db, c, "swallowed"))
  ok(not db_exists(c, "swallowed"), "nothing was created")
end)

test("conn = reused applies only to a request on a kept-alive connection", function()
  t.reset()
  local c = t.client()
  t.inject("after_act_reset_reused", "GET", "^/v3/account/show$")
  c:account() -- maybe fresh (no fault), maybe reused (reset, then retried)
  c:account()
  c:account()
  eq(hits(), 1, "the rule fired once, on a reused connection")
  local seen = t.requests("GET", "^/v3/account/show$")
  local faulted
  for _, r in ipairs(seen) do if r.fault then faulted = r end end
  ok(faulted.conn_seq > 1, "on a reused connection")
  eq(#seen, 4, "the reset GET was retried")
end)

test("stall mid-body: headers and a few bytes, then silence", function()
  t.reset()
  local c = t.client { timeout = 1 }
  t.inject("stall_mid_body", "GET", "^/v3/database/list$")
  ok(#c:databases() > 0, "the retry succeeds")
  eq(hits(), 1)
  eq(#t.requests("GET", "^/v3/database/list$"), 2)
end)

test("wrong-shaped JSON for any endpoint", function()
  local c = t.client()
  local want = { shape_null = "null", shape_number = "12345", shape_string = '"unexpected"',
                 shape_array = "[]", shape_object = "{}" }
  for kind, body in pairs(want) do
    t.reset()
    t.inject(kind, "GET", "^/v3/account/show$")
    local got, resp = http.request(c, { path = "/v3/account/show", raw = true })
    eq(got, body, kind)
    eq(resp.status, 200, kind)
  end
  t.reset()
  t.inject("shape_missing", "GET", "^/v3/account/show$", { drop = { "account.plan" } })
  local a = http.request(c, { path = "/v3/account/show" })
  eq(a.account.plan, nil, "plan dropped")
  eq(a.account.id, 1, "the rest kept")
  t.inject("shape_missing", "GET", "^/v3/database/list$", { drop = { "databases.*.name" } })
  for _, d in ipairs(http.request(c, { path = "/v3/database/list" }).databases) do
    eq(d.name, nil)
    ok(d.count, "other fields kept")
  end
  t.inject("shape_wrongtype", "GET", "^/v3/account/show$")
  eq(http.request(c, { path = "/v3/account/show" }).account, { "unexpected" })
  t.inject("shape_wrongtype", "POST", "^/v3/database/create/", { keys = { "database" } })
  eq(create_db(c, "wtype").database, 12345)
  ok(db_exists(c, "wtype"), "shape acts: the real handler ran")
end)

test("echo sends the request back", function()
  t.reset()
  local c = t.client()
  t.fault { method = "POST", path = "^/v3/database/create/", action = "echo" }
  local e = http.request(c, { method = "POST", path = "/v3/database/create/echoed", form = { a = "1 2" } })
  eq(e.form, { a = "1 2" })
  eq(e.body, "a=1%202")
  eq(e.headers.authorization, nil, "the key is not echoed")
  ok(not db_exists(c, "echoed"), "echo does not act")
  t.fault { method = "PUT", path = "^/v3/table/import/", action = "echo", raw = true }
  local raw = http.request(c, { method = "PUT", path = "/v3/table/import/web/x/msgpack.gz",
                                body = "\0\1\2", content_type = "application/octet-stream", raw = true })
  eq(raw, "\0\1\2")
end)

test("drop_headers, chunked bodies, Connection: close", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT 1", { db = "web" }):wait()
  local path = "/v3/job/result/" .. job.job_id
  local full, r0 = http.request(c, { path = path, query = { format = "csv" }, raw = true })
  ok(r0.headers.etag, "an ETag normally")
  t.inject("no_etag", "GET", "^/v3/job/result/")
  local _, r1 = http.request(c, { path = path, query = { format = "csv" }, raw = true })
  eq(r1.headers.etag, nil, "no ETag")
  t.inject("chunked", "GET", "^/v3/database/list$", { chunked = 7 })
  local dbs, r2 = http.request(c, { path = "/v3/database/list" })
  ok(#dbs.databases >= 2)
  eq(r2.headers["transfer-encoding"], "chunked")
  eq(r2.headers["content-length"], nil)
  t.inject("connection_close", "GET", "^/v3/job/result/")
  local again, r3 = http.request(c, { path = path, query = { format = "csv" }, raw = true })
  eq(again, full)
  eq(r3.headers.connection, "close")
  local closed = t.last_request("GET", "^/v3/job/result/").conn_port
  for _ = 1, 3 do http.request(c, { path = path, query = { format = "csv" }, raw = true }) end
  local rs = t.requests("GET", "^/v3/job/result/")
  for i = #rs - 2, #rs do ok(rs[i].conn_port ~= closed, "a closed connection is not reused") end
end)

test("skip lets the first matches through", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v3/account/show$", status = 500, skip = 2, times = 1 }
  c:account()
  c:account()
  eq(hits(), 0)
  c:account() -- faulted once, then retried
  eq(hits(), 1)
  eq(#t.requests("GET", "^/v3/account/show$"), 4)
end)
