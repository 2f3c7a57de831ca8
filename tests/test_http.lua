-- the HTTP policy: retries, backoff, Retry-After, error mapping, tracing
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local http = require "td.http"

local function count(method, pat)
  local n = 0
  for _, r in ipairs(t.log()) do
    if r.method == method and r.path:find(pat) then n = n + 1 end
  end
  return n
end

test("GET is retried on 5xx and then succeeds", function()
  t.reset()
  local c = t.client()
  t.fault { method = "GET", path = "^/v3/database/list$", status = 503, times = 2 }
  ok(#c:databases() > 0)
  eq(count("GET", "^/v3/database/list$"), 3)
end)

test("each retryable status is retried: 429, 500, 502, 503, 504", function()
  for _, st in ipairs { 429, 500, 502, 503, 504 } do
    t.reset()
    local c = t.client()
    t.fault { path = "^/v3/account/show$", status = st, times = 1 }
    ok(c:account().id, "after " .. st)
    eq(count("GET", "^/v3/account/show$"), 2, "status " .. st)
  end
end)

test("429 honours Retry-After", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v3/account/show$", status = 429, headers = { ["Retry-After"] = "1" }, times = 1 }
  local t0 = require("td.core").now()
  c:account()
  local waited = require("td.core").now() - t0
  ok(waited >= 0.9, ("waited %.2fs, Retry-After asked for 1s"):format(waited))
end)

test("Retry-After parsing: seconds and HTTP dates", function()
  eq(http.parse_retry_after("7"), 7)
  eq(http.parse_retry_after(nil), nil)
  eq(http.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0)
end)

test("retries stop at max_retries and the error says how many attempts", function()
  t.reset()
  local c = t.client { max_retries = 2 }
  t.fault { path = "^/v3/account/show$", status = 500, times = -1 }
  local e = raises_kind("server", c.account, c)
  eq(e.status, 500)
  eq(e.attempts, 3)
  like(tostring(e), "3 attempts")
  eq(count("GET", "^/v3/account/show$"), 3)
end)

test("4xx is not retried", function()
  t.reset()
  local c = t.client()
  raises_kind("not_found", c.database, c, "nope_db")
  eq(count("GET", "^/v3/database/show/"), 1)
end)

test("a non-idempotent POST is not retried on 5xx or a dropped connection", function()
  t.reset()
  local c = t.client()
  t.fault { method = "POST", path = "^/v3/database/create/", status = 503, times = 1 }
  raises_kind("server", c.request, c, "POST", "/v3/database/create/db_one", { form = {} })
  eq(count("POST", "^/v3/database/create/"), 1)
  t.fault { method = "POST", path = "^/v3/database/create/", action = "reset", times = 1 }
  local e = raises_kind("network", c.request, c, "POST", "/v3/database/create/db_two", { form = {} })
  like(tostring(e), "may or may not")
  eq(e.retryable, false)
  eq(count("POST", "^/v3/database/create/"), 2)
end)

test("job submission is retried safely: a 503 after the job was created yields that job, not a second", function()
  t.reset()
  local c = t.client()
  t.fault { method = "POST", path = "^/v3/job/issue/", action = "reset", times = 1 }
  local job = c:query("SELECT 1", { db = "web" })
  ok(job.job_id)
  eq(count("POST", "^/v3/job/issue/"), 2)
end)

test("a connection reset on GET is retried", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v3/account/show$", action = "reset", times = 2 }
  ok(c:account().id)
end)

test("a server that never answers hits the timeout", function()
  t.reset()
  local c = t.client { timeout = 0.3, max_retries = 0 }
  t.fault { path = "^/v3/account/show$", delay = 3, status = 200, times = 1 }
  local e = raises_kind("timeout", c.account, c)
  eq(e.method, "GET")
end)

test("connection refused is a network error", function()
  local c = td.client { apikey = t.KEY, endpoint = "http://127.0.0.1:1", max_retries = 1,
    retry_base_delay = 0.01, config_path = "/nonexistent" }
  local e = raises_kind("network", c.account, c)
  eq(e.code, "connect")
  eq(e.attempts, 2)
end)

test("an HTML error page from a proxy gives a clear error", function()
  t.reset()
  local c = t.client { max_retries = 0 }
  t.fault { path = "^/v3/account/show$", action = "html", status = 502, times = 1 }
  local e = raises_kind("server", c.account, c)
  like(e.message, "HTML page")
  eq(e.status, 502)
end)

test("malformed JSON is retried on GET, then gives a bad_response error, not a crash or an empty result", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v3/database/list$", action = "badjson", times = 1 }
  ok(#c:databases() > 0)
  eq(count("GET", "^/v3/database/list$"), 2)
  t.reset()
  t.fault { path = "^/v3/database/list$", action = "badjson", times = -1 }
  local e = raises_kind("bad_response", c.databases, c)
  like(e.message, "not valid JSON")
  like(e.url, "/v3/database/list")
  ok(e.body, "an excerpt of the body")
end)

test("a truncated JSON body is retried on GET", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v3/database/list$", action = "truncate", bytes = 10, times = 1 }
  ok(#c:databases() > 0)
  eq(count("GET", "^/v3/database/list$"), 2)
end)

test("server error messages are surfaced (message | error | text)", function()
  t.reset()
  local c = t.client { max_retries = 0 }
  t.fault { path = "^/v3/account/show$", status = 400, body = { text = "the text field" }, times = 1 }
  like(raises_kind("bad_request", c.account, c).message, "the text field")
  t.fault { path = "^/v3/account/show$", status = 409, body = { error = "Already exists" }, times = 1 }
  like(raises_kind("conflict", c.account, c).message, "Already exists")
end)

test("trace prints one line per request with the key redacted", function()
  local f = t.fake()
  t.reset()
  t.fault { path = "^/v3/account/show$", status = 503, times = 1 }
  local code, out, err = t.run("--verbose -e " .. t.sh_quote([[
    td.client{ retry_base_delay = 0.01 }:account()]]),
    { TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent" })
  eq(code, 0)
  eq(out, "")
  like(err, "td: GET http://127%.0%.0%.1:%d+/v3/account/show %-> 503 [%d.]+s")
  like(err, "%-> 200 [%d.]+s %(retry 1%)")
  eq(err:find(t.KEY, 1, true), nil)
  eq(err:find(t.KEY:sub(3), 1, true), nil)
end)

test("--dry-run prints mutating calls instead of sending them", function()
  local f = t.fake()
  t.reset()
  local code, out, err = t.run("--dry-run -e " .. t.sh_quote([[
    local j = td.query("SELECT 1", { db = "web" })
    print(j.status, #td.databases() > 0)]]),
    { TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent" })
  eq(code, 0)
  eq(out, "dry-run\ttrue\n")
  like(err, "%[dry%-run%] would submit a presto query on database web:\n    SELECT 1\n  %(POST /v3/job/issue/presto/web%)")
  eq(count("POST", "^/v3/job/issue/"), 0)
end)
