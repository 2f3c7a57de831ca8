-- client:trino: the Trino client protocol against the fake's /v1/statement
-- (pages, empty pages, failures with a location, 503 and resets between
-- pages, cancel on break / timeout / stall / Ctrl-C, wide and nested types,
-- downloads, configuration, redaction)
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local config = require "td.config"
local redact = require "td.redact"

local FAST = { interval = 0.01, max_interval = 0.02, progress = false }

local DIR = t.fake().dir .. "/trino"
os.execute("mkdir -p " .. t.sh_quote(DIR))

local function queries() return t.state().trino.queries end
local function last_query() local qs = queries() return qs[#qs] end

local function all_rows(iter, ...)
  local out = {}
  for row in iter, ... do out[#out + 1] = row end
  return out
end

test("rows follow nextUri over many pages: the same rows as the job path, one POST", function()
  t.reset()
  local c = t.client()
  local sql = "SELECT * FROM t -- fake_rows(250) page_rows(40)"
  local q = c:trino(sql, { db = "web", progress = false })
  ok(q.id, "a query id from the POST")
  local rows = all_rows(q:rows())
  eq(#rows, 250)
  eq(q.state, "FINISHED")
  eq(q.rows_read, 250)
  local job = c:query(sql, { db = "web" }):wait(FAST)
  eq(rows, all_rows(job:rows()), "rows over Trino == rows of the job")
  eq(math.type(rows[5][1]), "integer")
  eq(math.type(rows[3][3]), "float")
  eq(rows[1][5], td.null)
  eq(#t.requests("POST", "^/v1/statement$"), 1)
  ok(#t.requests("GET", "^/v1/statement/") >= 8, "one GET per page")
  eq(#t.requests("DELETE", "^/v1/statement/"), 0, "a finished query is not cancelled")
  eq(q.schema[1], { "id", "bigint" })
  eq(q:columns(), { "id", "name", "score", "active", "note", "tags" })
end)

test("memory stays flat however many pages arrive", function()
  t.reset()
  local c = t.client()
  local n, low, high = 0, math.huge, 0
  for _ in c:trino("SELECT 1 -- fake_rows(40000) page_rows(500)"):rows() do
    n = n + 1
    if n % 2000 == 0 then
      collectgarbage("collect")
      local kb = collectgarbage("count")
      if n >= 4000 then low, high = math.min(low, kb), math.max(high, kb) end
    end
  end
  eq(n, 40000)
  ok(high - low < 2048, ("memory grew by %d KiB over 80 pages"):format(math.floor(high - low)))
end)

test("empty pages in the middle of the result are skipped", function()
  t.reset()
  local c = t.client()
  local rows = all_rows(c:trino("SELECT 1 -- fake_rows(30) page_rows(10) fake_empty_pages(3)"):rows())
  eq(#rows, 30)
  for i, r in ipairs(rows) do eq(r[1], i - 1) end
  ok(last_query().pages >= 8, "the empty pages were fetched")
  -- rows on the final page (no nextUri) are read too
  local q = c:trino("SELECT 1 -- fake_rows(25) page_rows(10) fake_final_data")
  rows = all_rows(q:rows())
  eq(#rows, 25)
  eq(rows[25][1], 24)
  eq(q.rows_read, 25)
  eq(q.state, "FINISHED")
end)

test("records are maps by column name without NULL columns; columns() before reading keeps the rows", function()
  t.reset()
  local c = t.client()
  local q = c:trino("SELECT 1 -- fake_rows(15) page_rows(4)")
  eq(q:columns(), { "id", "name", "score", "active", "note", "tags" })
  local recs = all_rows(q:records())
  eq(#recs, 15)
  eq(recs[1], { id = 0, name = "name_0", score = 0.0, active = true, tags = { "t0" } })
  eq(recs[2].note, "comma, separated 1")
end)

test("a failed query raises query_failed with Trino's error name, type, location and query id", function()
  t.reset()
  local c = t.client()
  local q = c:trino("SELECT nope\nFROM x -- fake_error")
  local e = raises_kind("query_failed", function() for _ in q:rows() do end end)
  eq(e.error_name, "COLUMN_NOT_FOUND")
  eq(e.error_type, "USER_ERROR")
  eq(e.user_error, true)
  eq(e.retryable, false)
  eq(e.line, 1)
  eq(e.column, 8)
  eq(e.near, "SELECT nope")
  eq(e.query_id, q.id)
  like(tostring(e), "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved")
  like(tostring(e), q.id, "the query id in the message")
  eq(q.state, "FAILED")

  local e2 = raises_kind("query_failed", function() c:trino("SELECT 1 -- fake_internal_error"):fetch(5) end)
  eq(e2.error_type, "INTERNAL_ERROR")
  eq(e2.error_name, "GENERIC_INTERNAL_ERROR")
  eq(e2.user_error, false)
  eq(e2.retryable, true)
  eq(#t.requests("DELETE", "^/v1/statement/"), 0, "a failed query needs no cancel")
end)

test("a 503 and a reset between pages are retried without resubmitting the query", function()
  t.reset()
  local c = t.client()
  t.fault {
    { path = "^/v1/statement/executing/", method = "GET", status = 503, times = 2, headers = { ["Retry-After"] = "0" } },
  }
  local q = c:trino("SELECT 1 -- fake_rows(50) page_rows(10)")
  local n = 0
  for row in q:rows() do
    eq(row[1], n, "no row lost or repeated")
    n = n + 1
    if n == 25 then t.fault { path = "^/v1/statement/executing/", method = "GET", action = "reset", times = 1 } end
  end
  eq(n, 50)
  eq(#t.requests("POST", "^/v1/statement$"), 1, "the POST is never repeated")
  local n503 = 0
  for _, r in ipairs(t.requests("GET", "^/v1/statement/executing/")) do
    if r.status == 503 then n503 = n503 + 1 end
  end
  eq(n503, 2)
end)

test("the POST is not retried: a 503 on submission raises", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v1/statement$", method = "POST", status = 503, times = 1 }
  local e = raises_kind("server", function() c:trino("SELECT 1") end)
  eq(e.status, 503)
  eq(#t.requests("POST", "^/v1/statement$"), 1)
  eq(#queries(), 0)
end)

test("break out of the loop cancels the query (DELETE nextUri)", function()
  t.reset()
  local c = t.client()
  local q = c:trino("SELECT 1 -- fake_rows(500) page_rows(10)")
  local n = 0
  for _ in q:rows() do
    n = n + 1
    if n == 15 then break end
  end
  eq(#t.requests("DELETE", "^/v1/statement/executing/"), 1)
  eq(last_query().state, "CANCELED")
  eq(q.cancelled, true)
  ok(last_query().pages < 10, "the rest of the result was not fetched")
  local e = raises_kind("usage", function() q:rows() end)
  like(e.message, "already read")
end)

test("an error in the loop body cancels the query too", function()
  t.reset()
  local c = t.client()
  local okk = pcall(function()
    for row in c:trino("SELECT 1 -- fake_rows(100) page_rows(10)"):records() do
      if row.id == 12 then error("stop here") end
    end
  end)
  eq(okk, false)
  eq(#t.requests("DELETE", "^/v1/statement/"), 1)
  eq(last_query().state, "CANCELED")
end)

test("a timeout cancels a query that keeps running", function()
  t.reset()
  local c = t.client()
  local q = c:trino("SELECT 1 -- fake_stuck", { timeout = 1.5 })
  local e = raises_kind("timeout", function() for _ in q:rows() do end end)
  eq(e.query_id, q.id)
  like(e.message, "cancelled")
  eq(#t.requests("DELETE", "^/v1/statement/"), 1)
  eq(last_query().state, "CANCELED")
end)

test("a stalled page ends in a timeout and a cancel, not a hang", function()
  t.reset()
  local c = t.client()
  local q = c:trino("SELECT 1 -- fake_rows(30) page_rows(10)", { timeout = 1.5 })
  t.fault { path = "^/v1/statement/executing/", method = "GET", action = "pass", delay = 8, times = 1 }
  raises_kind("timeout", function() for _ in q:rows() do end end)
  eq(#t.requests("DELETE", "^/v1/statement/"), 1)
  local stalled
  for _, r in ipairs(t.requests("GET", "^/v1/statement/executing/")) do
    if r.fault == "pass" then stalled = r end
  end
  ok(stalled, "the stalled request was made")
  eq(stalled.status, nil, "the query was given up while its page was still stalled")
end)

test("Ctrl-C while reading cancels the query; the script exits 130", function()
  t.reset()
  local f = t.fake()
  local code, _, err = t.run("-e " .. t.sh_quote([[
    local q = td.trino("SELECT 1 -- fake_stuck")
    os.execute("(sleep 0.3; kill -INT $PPID) &") -- a Ctrl-C while the pages are read
    for _ in q:rows() do end
  ]]), { TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent" })
  eq(code, 130, err)
  eq(#t.requests("DELETE", "^/v1/statement/"), 1)
  eq(last_query().state, "CANCELED")
end)

test("wide and nested column types decode by the column metadata", function()
  t.reset()
  local c = t.client()
  local q = c:trino("SELECT 1 -- fake_wide")
  local rows = q:fetch(10)
  eq(#rows, 2)
  local r = {}
  for i, name in ipairs(q:columns()) do r[name] = rows[1][i] end
  eq(r.big, math.maxinteger)
  eq(math.type(r.big), "integer")
  eq(r.small, 2147483647)
  eq(r.tiny, -128)
  eq(math.type(r.dbl), "float")
  ok(r.nan ~= r.nan, "NaN")
  eq(r.inf, math.huge)
  eq(r.ninf, -math.huge)
  eq(r.r, 1.5)
  eq(r.dec, "12345.67")
  eq(r.s, "café 日本")
  eq(r.c, "ab ")
  eq(r.b, true)
  eq(r.d, "2026-11-22")
  eq(r.ts, "2026-11-22 10:00:00.123")
  eq(r.tstz, "2026-11-22 10:00:00.123 UTC")
  eq(r.bin, "\0\1\254\255")
  eq(r.arr, { 1, math.mininteger, td.null })
  eq(r.m, { a = 1, b = td.null })
  eq(r.mk, { [1] = "one", [-2] = "minus two" })
  eq(r.rw, { a = 7, ["b c"] = "x", d = { 0.5, 1.0 } })
  eq(math.type(r.rw.d[2]), "float")
  eq(r.nested, { { k = "k1", v = { p = { 1, 2 } } }, { k = "k2", v = {} } })
  eq(r.j, '{"x":[1,2]}')
  eq(r.bigs, { 1234567890123456789, -1234567890123456789 })
  for i = 1, #rows[2] do eq(rows[2][i], td.null) end
  eq(#rows[2], #q:columns())
end)

test("int64 edge values equal the job path's (JSON integers stay exact)", function()
  t.reset()
  local c = t.client()
  local sql = "SELECT 1 -- fake_bigint"
  local rows = c:trino(sql):fetch(10)
  local job = c:query(sql, { db = "web" }):wait(FAST)
  local want = job:fetch(10)
  eq(#rows, #want)
  for i = 1, #want do
    for j = 1, #want[i] do eq(rows[i][j], want[i][j], ("row %d column %d"):format(i, j)) end
  end
  local types = require "td.trino.types"
  local a = types.decode('{"a":[12345678901234567890,1.5,3.0,12345678901234567e3,-9223372036854775808]}').a
  eq(a, { "12345678901234567890", 1.5, 3.0, 12345678901234567e3, math.mininteger })
  eq(math.type(a[3]), "float")
  eq(select(2, types.decode("[1,")) ~= nil, true, "malformed JSON is reported, not raised")
end)

test("headers: basic auth with the key as user, catalog, schema, source, session (Trino and Presto names)", function()
  t.reset()
  local c = t.client()
  c:trino("SELECT 1", { db = "web", session = { query_max_run_time = "10m", join_distribution_type = "BROADCAST", hash_partition_count = 8 } }):wait()
  local post = t.last_request("POST", "^/v1/statement$")
  local h = post.headers
  eq(h["authorization"], "Basic " .. require("td.redact").base64(t.KEY .. ":"))
  eq(h["x-trino-user"], t.KEY)
  eq(h["x-presto-user"], t.KEY)
  eq(h["x-trino-catalog"], "td-presto")
  eq(h["x-presto-catalog"], "td-presto")
  eq(h["x-trino-schema"], "web")
  eq(h["x-trino-source"], "tdlua")
  eq(h["x-trino-session"], "hash_partition_count=8,join_distribution_type=BROADCAST,query_max_run_time=10m")
  like(h["content-type"], "^text/plain")
  c:trino("SELECT 1", { catalog = "td", source = "nightly" }):wait()
  h = t.last_request("POST", "^/v1/statement$").headers
  eq(h["x-trino-catalog"], "td")
  eq(h["x-trino-source"], "nightly")
  eq(h["x-trino-schema"], nil)
  for _, g in ipairs(t.requests("GET", "^/v1/statement/")) do
    eq(g.headers["x-trino-user"], t.KEY, "every page request is authenticated")
  end
  raises_kind("auth", function() t.client { apikey = "9/" .. ("ab"):rep(20) }:trino("SELECT 1") end)
end)

test("the key is masked in its basic-auth form and never shows in traces", function()
  local key = "7/" .. ("0a"):rep(20)
  local c = t.client { apikey = key }
  local b64 = require("td.redact").base64
  local s = redact.text("Authorization: Basic " .. b64(key .. ":") .. " and " .. b64(key))
  ok(not s:find(b64(key .. ":"), 1, true) and not s:find((b64(key):gsub("=+$", "")), 1, true), s)
  t.reset()
  local f = t.fake()
  local code, out, err = t.run("--verbose -e " .. t.sh_quote([[
    for r in td.trino("SELECT 1 -- fake_rows(12) page_rows(5)"):rows() do io.write(r[1], " ") end
    pcall(function() for _ in td.trino("SELECT 1 -- fake_error"):rows() do end end)
  ]]), { TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent" })
  eq(code, 0, err)
  eq(out, "0 1 2 3 4 5 6 7 8 9 10 11 ")
  like(err, "/v1/statement")
  ok(not err:find(t.KEY, 1, true), "no key in the trace")
  ok(not err:find(b64(t.KEY .. ":"), 1, true), "no basic-auth credential in the trace")
  ok(c)
end)

test("the endpoint derives from the region or API endpoint (api -> api-presto) and can be overridden", function()
  local function presto(opts)
    opts.config_path = "/nonexistent"
    opts.apikey = t.KEY
    return config.resolve(opts).presto_endpoint
  end
  eq(presto { region = "jp" }, "https://api-presto.treasuredata.co.jp")
  eq(presto { region = "eu01" }, "https://api-presto.eu01.treasuredata.com")
  eq(presto { endpoint = "https://api.ap02.treasuredata.com" }, "https://api-presto.ap02.treasuredata.com")
  eq(presto { endpoint = "api.treasuredata.com" }, "https://api-presto.treasuredata.com")
  eq(presto { endpoint = "https://api.treasuredata.com", presto_endpoint = "presto.example.com" }, "https://presto.example.com")
  eq(config.derive_presto("https://td.example.com"), nil)
  raises_kind("config", function() presto { presto_endpoint = "http://presto.example.com" } end)
  local c = t.client { endpoint = "https://td.example.com" }
  if not os.getenv("TD_PRESTO_API") then
    local e = raises_kind("config", function() c:trino("SELECT 1") end)
    like(e.hint, "TD_PRESTO_API")
  end
  -- TD_PRESTO_API, as pytd reads it
  local f = t.fake()
  t.reset()
  local code, out, err = t.run("-e " .. t.sh_quote([[
    local c = td.client { endpoint = "https://api.treasuredata.co.jp" }
    print(c.presto_endpoint, c:config().sources.presto_endpoint)
    print(c:trino("SELECT 7"):fetch(1)[1][1])
  ]]), { TD_API_KEY = t.KEY, TD_PRESTO_API = f.url, TD_CONFIG_PATH = "/nonexistent" })
  eq(code, 0, err)
  eq(out, f.url .. "\tTD_PRESTO_API\n7\n")
end)

test("downloads write the same text as job:download (csv, tsv, json, jsonl; header; objects)", function()
  t.reset()
  local c = t.client()
  local sql = "SELECT 1 -- fake_rows(120) page_rows(25)"
  local job = c:query(sql, { db = "web" }):wait(FAST)
  for _, case in ipairs {
    { "csv", {} }, { "tsv", { header = true } }, { "json", {} }, { "jsonl", { objects = true } },
  } do
    local fmt, o = case[1], case[2]
    local jp, tp = DIR .. "/job." .. fmt, DIR .. "/trino." .. fmt
    local jo = { progress = false }
    for k, v in pairs(o) do jo[k] = v end
    job:download(jp, jo)
    local s = c:trino(sql):download(tp, o)
    eq(s.rows, 120)
    eq(s.format, fmt)
    eq(t.slurp(tp), t.slurp(jp), fmt)
    ok(not t.exists(tp .. ".tmp"))
  end
  -- a file handle and an explicit format
  local path = DIR .. "/handle.out"
  local fh = assert(io.open(path, "w"))
  c:trino(sql):download(fh, { format = "csv" })
  fh:close()
  eq(t.slurp(path), t.slurp(DIR .. "/job.csv"))
  -- standard output, through td.output
  local f = t.fake()
  local code, out, err = t.run("-e " .. t.sh_quote(([[td.trino(%q):download("-", { format = "csv" })]]):format(sql)),
    { TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent" })
  eq(code, 0, err)
  eq(out, t.slurp(DIR .. "/job.csv"))
  raises_kind("usage", function() c:trino("SELECT 1"):download(DIR .. "/x.bin") end)
  raises_kind("usage", function() c:trino("SELECT 1"):download(DIR) end)
  raises_kind("usage", function() c:trino("SELECT 1"):download(DIR .. "/x.csv", { fromat = "csv" }) end)
end)

test("a download that fails cancels the query and leaves no file", function()
  t.reset()
  local c = t.client { max_retries = 1 }
  local q = c:trino("SELECT 1 -- fake_rows(100) page_rows(10)")
  t.fault { path = "^/v1/statement/executing/.*/4$", method = "GET", status = 500, times = -1 }
  local path = DIR .. "/failed.csv"
  raises_kind("server", function() q:download(path) end)
  ok(not t.exists(path) and not t.exists(path .. ".tmp"), "nothing left behind")
  eq(#t.requests("DELETE", "^/v1/statement/"), 1)
end)

test("nextUri must stay on the endpoint's host: the key is not sent elsewhere", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v1/statement$", method = "POST", status = 200,
    body = { id = "q1", nextUri = "http://elsewhere.example:8080/v1/statement/queued/q1/y/1", stats = { state = "QUEUED" } } }
  local e = raises_kind("bad_response", function() c:trino("SELECT 1") end)
  like(e.message, "elsewhere.example")
end)

test("fetch(n) and result_table(n) read the first rows and cancel the rest; td.q prints a table", function()
  t.reset()
  local c = t.client()
  local rows = c:trino("SELECT 1 -- fake_rows(100) page_rows(10)"):fetch(3)
  eq(#rows, 3)
  eq(#t.requests("DELETE", "^/v1/statement/"), 1)
  local rt = c:trino("SELECT 1 -- fake_rows(100) page_rows(10)"):result_table(5)
  eq(#rt.rows, 5)
  eq(rt.more, true)
  eq(rt.columns, { "id", "name", "score", "active", "note", "tags" })
  like(tostring(rt), "name_4")
  like(rt:summary(), "^5 rows %(more not read%), query ")
  local narrow = rt:render(60)
  for line in narrow:gmatch("[^\n]+") do
    if line:sub(1, 1) == "|" then ok(td.pretty.width(line) <= 60, line) end
  end
  eq(td.pretty.render(rt), rt:render(), "the REPL prints the table, not only its summary")
  like(td.pretty.render(rt), "name_4")
  local all = c:trino("SELECT 1 -- fake_rows(3)"):result_table(5)
  eq(#all.rows, 3)
  eq(all.more, false)
  local f = t.fake()
  local code, out, err = t.run("-e " .. t.sh_quote([[print(td.q("SELECT 1 -- fake_rows(50)", "web"))]]),
    { TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent" })
  eq(code, 0, err)
  like(out, "| id | name ")
  like(out, "name_39")
  ok(not out:find("name_40", 1, true), "40 rows by default")
  like(out, "40 rows %(more not read%)")
  eq(last_query().headers["x-trino-schema"], "web")
end)

test("wait() drives a statement to its end; options are checked", function()
  t.reset()
  local c = t.client()
  local q = c:trino("SELECT 1 -- fake_rows(35) page_rows(10)"):wait()
  eq(q.state, "FINISHED")
  eq(q.rows_read, 35)
  like(q:summary(), "FINISHED, 35 rows read")
  local e = raises_kind("usage", function() c:trino("SELECT 1", { dbb = "web" }) end)
  like(e.message, "did you mean 'db'")
  raises_kind("usage", function() c:trino("") end)
  raises_kind("usage", function() c:trino("SELECT 1", { db = "we\nb" }) end)
  raises_kind("usage", function() c:trino("SELECT 1", { session = { ["a b"] = 1 } }) end)
  raises_kind("usage", function() c:trino("SELECT 1", { timeout = "5" }) end)
  eq(#queries(), 1, "bad arguments send nothing")
end)

test("under --dry-run nothing is sent; a query left in a <close> scope is cancelled", function()
  t.reset()
  local dry = t.client { dry_run = true }
  local q = dry:trino("DELETE FROM events")
  eq(q.state, "DRY_RUN")
  eq(q:fetch(5), {})
  eq(#t.requests("POST", "^/v1/statement$"), 0)
  local c = t.client()
  do
    local q2 <close> = c:trino("SELECT 1 -- fake_rows(100) page_rows(10)")
    eq(#q2:fetch(0), 0)
  end
  eq(#t.requests("DELETE", "^/v1/statement/"), 1)
  do
    local q3 <close> = c:trino("SELECT 1 -- fake_rows(100) page_rows(10)")
    q3:columns()
  end
  eq(#t.requests("DELETE", "^/v1/statement/"), 2, "an unread query is cancelled on leaving the scope")
end)

test("progress: state, rows, elapsed and splits as log lines when stderr is not a terminal", function()
  t.reset()
  local f = t.fake()
  local code, out, err = t.run("-e " .. t.sh_quote([[
    local n = 0
    for _ in td.trino("SELECT 1 -- fake_rows(40) page_rows(10)"):rows() do n = n + 1 end
    print(n)
  ]]), { TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent", TDLUA_PROGRESS_INTERVAL = "0" })
  eq(code, 0, err)
  eq(out, "40\n")
  like(err, "INFO%s+trino 20261122_100000_00001_fake1: RUNNING, %d+ rows, 0:00, splits %d+/%d+")
  ok(not err:find("\27", 1, true), "no terminal control codes")
  local code2, _, err2 = t.run("--quiet -e " .. t.sh_quote([[for _ in td.trino("SELECT 1 -- fake_rows(40) page_rows(10)"):rows() do end]]),
    { TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent", TDLUA_PROGRESS_INTERVAL = "0" })
  eq(code2, 0, err2)
  eq(err2, "")
end)

-- the REPL on a pseudo-terminal (tests/lib/ptydrive.py, as test_repl.lua drives it)
local function repl(steps, cols)
  local cjson = require "cjson"
  local f = t.fake()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. t.sh_quote(dir))
  local script = {
    argv = { os.getenv("TDLUA_BIN") or arg[-1] or "./tdlua" }, cols = cols or 100, rows = 50, steps = steps,
    env = { TD_API_SERVER = f.url, TD_API_KEY = t.KEY, TD_CONFIG_PATH = "/nonexistent", HOME = dir,
      TDLUA_HISTORY = "", TERM = "xterm", LC_ALL = "C.UTF-8", LANG = "C.UTF-8", NO_COLOR = "1" },
  }
  local fh = assert(io.open(dir .. "/in.json", "w"))
  fh:write(cjson.encode(script))
  fh:close()
  os.execute(("/usr/bin/python3 tests/lib/ptydrive.py %s %s"):format(t.sh_quote(dir .. "/in.json"), t.sh_quote(dir .. "/out.json")))
  local r = cjson.decode((assert(t.slurp(dir .. "/out.json"), "ptydrive wrote no result")))
  os.execute("rm -rf " .. t.sh_quote(dir))
  if not r.ok then error("pty: " .. tostring(r.error), 2) end
  return r
end

test("in the REPL td.q prints the first rows as a table within the terminal; Ctrl-C cancels a query", function()
  t.reset()
  local PROMPT = "\n> $"
  local r = repl({
    { expect = PROMPT },
    { send = [[td.q("SELECT 1 -- fake_rows(50) page_rows(10)", "web")]] .. "\r" },
    { expect = "40 rows \\(more not read\\), query \\S+, [0-9.]+s" .. PROMPT },
    { send = [[for _ in td.trino("SELECT 1 -- fake_stuck"):rows() do end]] .. "\r" },
    { expect = "trino \\S+: RUNNING" }, -- the live progress line: the query runs
    { send = "\3", now = true },
    { expect = "interrupted.*" .. PROMPT },
    { send = "\4" }, { wait = true },
  }, 72)
  local out = r.segments[2]
  like(out, "| id | name")
  like(out, "name_39")
  ok(not out:find("name_40", 1, true))
  for line in out:gmatch("[^\r\n]+") do
    if line:sub(1, 1) == "|" then ok(td.pretty.width(line) <= 72, "fits the terminal: " .. line) end
  end
  local qs = queries()
  eq(qs[1].state, "CANCELED", "td.q cancels the rest")
  eq(qs[2].state, "CANCELED", "Ctrl-C cancels the running query")
end)
