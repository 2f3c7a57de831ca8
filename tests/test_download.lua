-- job:download: every format, tmp+rename, resume under faults, argument
-- errors; the Job extras (statistics, result_export, url, duration, debug)
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local slurp = t.slurp
local exists = t.exists
local core = require "td.core"

local FAST = { interval = 0.01, max_interval = 0.02, progress = false }

-- inside the fake server's directory, which the runner removes at the end
local DIR = t.fake().dir .. "/download"
os.execute("mkdir -p " .. t.sh_quote(DIR))

-- equal strings, reporting where they first differ (not the whole text)
local function same(got, want, what)
  if got == want then return end
  if type(got) ~= "string" then error(("%s: expected a string, got %s"):format(what, type(got)), 2) end
  local i = 1
  while i <= #got and got:byte(i) == want:byte(i) do i = i + 1 end
  error(("%s: differs at byte %d (lengths %d and %d): got %q, want %q"):format(what, i, #got, #want,
    got:sub(math.max(1, i - 20), i + 40), want:sub(math.max(1, i - 20), i + 40)), 2)
end

-- the server's own rendering of a result format
local function server(c, job, fmt, header)
  return (td.http.request(c, {
    path = "/v3/job/result/" .. job.job_id, accept = "*/*", raw = true,
    query = { format = fmt, header = header and "true" or "false" },
  }))
end

-- the result requests in the fake's log (from entry `from` on)
local function result_requests(from)
  local out = {}
  for i, r in ipairs(t.log()) do
    if i >= (from or 1) and r.path:find("^/v3/job/result/") then out[#out + 1] = r end
  end
  return out
end

local function starts(s, prefix, what) eq(s:sub(1, #prefix), prefix, what) end
local function ends(s, suffix, what) eq(s:sub(-#suffix), suffix, what) end

-- s contains the plain text sub (reports only sub, not all of s)
local function has(s, sub, what)
  if not s:find(sub, 1, true) then error(("%s: %q not found"):format(what, sub), 2) end
end

local function finished(c, q)
  return c:query("SELECT * -- " .. q, { db = "web" }):wait(FAST)
end

-- ---------------------------------------------------------------------------
-- formats against the server's rendering

test("csv, tsv and jsonl match the server's rendering byte for byte, header on and off", function()
  t.reset()
  local c = t.client()
  for _, q in ipairs { "fake_rows(500)", "fake_bigint", "SELECT 1" } do
    local job = finished(c, q)
    for _, fmt in ipairs { "csv", "tsv", "jsonl" } do
      for _, header in ipairs { false, true } do
        local path = DIR .. "/out." .. fmt
        local s = job:download(path, { format = fmt, header = header })
        local want = server(c, job, fmt == "jsonl" and "json" or fmt, header)
        same(slurp(path), want, ("%s %s header=%s"):format(q, fmt, header))
        eq(s.rows, job.num_records)
        eq(s.bytes, #want)
        eq(s.path, path)
        eq(s.format, fmt)
      end
    end
  end
end)

test("json is one array holding the jsonl rows", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(40)")
  for _, header in ipairs { false, true } do
    local path = DIR .. "/out.json"
    job:download(path, { header = header })
    local lines = {}
    for line in server(c, job, "json", header):gmatch("[^\n]+") do lines[#lines + 1] = line end
    same(slurp(path), "[\n" .. table.concat(lines, ",\n") .. "\n]\n", "json header=" .. tostring(header))
  end
  local empty = finished(c, "fake_rows(0)")
  empty:download(DIR .. "/empty.json")
  eq(slurp(DIR .. "/empty.json"), "[]\n")
  empty:download(DIR .. "/empty.csv", { header = true })
  eq(slurp(DIR .. "/empty.csv"), "id,name,score,active,note,tags\n")
end)

test("msgpack.gz is the server's bytes; rows is TD's count", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(300)")
  local path = DIR .. "/out.msgpack.gz"
  local s = job:download(path)
  same(slurp(path), server(c, job, "msgpack.gz"), "msgpack.gz")
  eq(s.bytes, job.result_size)
  eq(s.wire_bytes, job.result_size)
  eq(s.rows, 300)
end)

-- ---------------------------------------------------------------------------
-- hand-checked values

test("csv quoting and tsv escapes of tricky notes (hand-checked)", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(8)")
  job:download(DIR .. "/n.csv")
  eq(slurp(DIR .. "/n.csv"), table.concat({
    '0,name_0,0.0,true,,"[""t0""]"',
    '1,name_1,1.5,false,"comma, separated 1","[""t1""]"',
    '2,name_2,3.0,true,"says ""hello"" 2","[""t2""]"',
    '3,name_3,4.5,false,"line one\nline two 3","[""t0""]"',
    '4,name_4,6.0,true,tab\there 4 café 日本語 ✓,"[""t1""]"',
    '5,name_5,7.5,false,plain note 5,"[""t2""]"',
    '6,name_6,9.0,true,"comma, separated 6","[""t0""]"',
    '7,name_7,10.5,false,,"[""t1""]"',
  }, "\n") .. "\n")
  job:download(DIR .. "/n.tsv", { header = true })
  local lines = {}
  for line in slurp(DIR .. "/n.tsv"):gmatch("[^\n]*\n") do lines[#lines + 1] = line end
  eq(#lines, 9)
  eq(lines[1], "id\tname\tscore\tactive\tnote\ttags\n")
  eq(lines[2], '0\tname_0\t0.0\ttrue\t\t["t0"]\n')
  eq(lines[5], '3\tname_3\t4.5\tfalse\tline one\\nline two 3\t["t0"]\n')
  eq(lines[6], '4\tname_4\t6.0\ttrue\ttab\\there 4 café 日本語 ✓\t["t1"]\n')
end)

test("edge values: u64 max, float32, binary as base64, maps, nulls (hand-checked)", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_bigint")
  job:download(DIR .. "/b.jsonl", { objects = true })
  local recs = {}
  for line in slurp(DIR .. "/b.jsonl"):gmatch("[^\n]+") do recs[#recs + 1] = line end
  eq(#recs, 2)
  local r0, r1 = recs[1], recs[2]
  starts(r0, '{"i64_max": 9223372036854775807, "i64_min": -9223372036854775808, "u64_max": 18446744073709551615, "neg": -1, ')
  has(r0, '"f64": 3.141592653589793, "f32": 1.5, "fneg": -0.25, ', "floats")
  has(r0, '"m": {"a": 1, "nested": {"b": [1, 2, {"c": null}]}, "s": "x"}, "bin": "AAEC/v8=", "nul": null, "t": true, "f": false, ', "nested, bin, null")
  has(r0, '"text": "' .. ("\u{e9}"):rep(200) .. '", ', "UTF-8 text")
  ends(r0, '"arr": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]}')
  has(r1, '"f64": 1e+300, "f32": -2.0, "fneg": 0.0, "m": {"k00": 0, "k01": 1, ', "row 1")
  has(r1, '"bin": "", "nul": null, "t": false, "f": true, "text": "yyyy', "empty bin")
  ends(r1, '"text": "' .. ("y"):rep(70000) .. '", "arr": []}', "str32 and an empty array")

  job:download(DIR .. "/b.csv")
  local lines = {}
  for line in slurp(DIR .. "/b.csv"):gmatch("[^\n]+") do lines[#lines + 1] = line end
  eq(#lines, 2)
  starts(lines[1], "9223372036854775807,-9223372036854775808,18446744073709551615,-1,-128,-32768,-2147483648")
  has(lines[1], ',3.141592653589793,1.5,-0.25,"{""a"": 1, ""nested"": {""b"": [1, 2, {""c"": null}]}, ""s"": ""x""}",AAEC/v8=,,true,false,', "csv row 0")
  starts(lines[2], "127,-32,128,-33,-129,-32769,-2147483649,256,65536,4294967296,1e+300,-2.0,0.0,\"{\"\"k00\"\": 0, \"\"k01\"\": 1,")
  has(lines[2], '""k15"": 15}",,,false,true,yyy', "an empty bin and a null are empty fields")
  ends(lines[2], "y,[]")
end)

test("formats: floats, NaN, invalid UTF-8, empty maps, one empty field", function()
  local formats = require "td.v3.formats"
  local oracle = require "formats_oracle"
  local cases = {
    { 0.0, "0.0" }, { -0.0, "-0.0" }, { 1.5, "1.5" }, { 3.0, "3.0" }, { 0.1 + 0.2, "0.30000000000000004" },
    { 1e15, "1000000000000000.0" }, { 1e16, "1e+16" }, { 1.5e-7, "1.5e-07" }, { 1e-4, "0.0001" },
    { 123456789012345678.0, "1.2345678901234568e+17" }, { 5e-324, "5e-324" }, { 1e300, "1e+300" },
    { 0 / 0, "NaN" }, { math.huge, "Infinity" }, { -math.huge, "-Infinity" },
  }
  for _, cse in ipairs(cases) do eq(oracle.float(cse[1]), cse[2], tostring(cse[1])) end
  for _, cse in ipairs(cases) do
    if cse[1] == cse[1] and cse[1] ~= math.huge and cse[1] ~= -math.huge then
      eq(tonumber(oracle.float(cse[1])), cse[1], "round trip of " .. cse[2])
    end
  end
  eq(oracle.base64(""), "")
  eq(oracle.base64("f"), "Zg==")
  eq(oracle.base64("fo"), "Zm8=")
  eq(oracle.base64("foo"), "Zm9v")

  local function render(fmt, columns, rows, opts)
    local out = {}
    local w = formats.writer(fmt, function(s) out[#out + 1] = s end, columns, opts)
    for _, r in ipairs(rows) do w:row(r) end
    w:finish()
    return table.concat(out)
  end
  local cols = { { "s", "varchar" }, { "m", "map(varchar,bigint)" }, { "x", "double" } }
  local bad = "ok\xff\xfeend"
  local rows = { { bad, {}, 0 / 0 }, { "cr\rhere", { b = 2, a = 1 }, math.huge } }
  -- csv/tsv keep the bytes; JSON replaces each invalid byte with U+FFFD
  eq(render("csv", cols, rows), "ok\xff\xfeend,{},NaN\n\"cr\rhere\",\"{\"\"a\"\": 1, \"\"b\"\": 2}\",Infinity\n")
  eq(render("tsv", cols, rows), "ok\xff\xfeend\t{}\tNaN\ncr\\rhere\t{\"a\": 1, \"b\": 2}\tInfinity\n")
  eq(render("jsonl", cols, rows),
    '["ok\u{FFFD}\u{FFFD}end", {}, "NaN"]\n["cr\\rhere", {"a": 1, "b": 2}, "Infinity"]\n')
  eq(render("jsonl", { { "c", "varchar" } }, { { "\1\31\127" } }), '["\\u0001\\u001f\127"]\n')
  -- a row made of one empty field is not a blank line
  eq(render("csv", { { "c", "varchar" } }, { { "" }, { td.null }, { "a" } }), '""\n""\na\n')
  -- header and objects
  eq(render("csv", { { "a,b", "varchar" }, { "c", "bigint" } }, { { "x", 1 } }, { header = true }), '"a,b",c\nx,1\n')
  eq(render("json", { { "a", "varchar" }, { "n", "bigint" } }, { { "x", "18446744073709551615" }, { td.null, 2 } }, { objects = true }),
    '[\n{"a": "x", "n": 18446744073709551615},\n{"a": null, "n": 2}\n]\n')
end)

-- ---------------------------------------------------------------------------
-- the file: tmp + rename

test("download writes path.tmp and renames it; an existing file is replaced whole", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(20)")
  local path = DIR .. "/replace.csv"
  local f = assert(io.open(path, "w"))
  f:write(("old content\n"):rep(1000))
  f:close()
  local s = job:download(path, { header = true })
  same(slurp(path), server(c, job, "csv", true), "replaced")
  ok(not exists(path .. ".tmp"), "no tmp left")
  eq(s.rows, 20)
end)

test("a failed job raises job_failed and leaves no file", function()
  t.reset { queued_polls = 0, running_polls = 0 } -- the first poll sees the outcome
  local c = t.client()
  local job = c:query("SELECT nope -- fake_error", { db = "web" })
  local path = DIR .. "/failed.csv"
  raises_kind("job_failed", job.download, job, path)
  ok(not exists(path) and not exists(path .. ".tmp"), "no file")
  eq(#result_requests(), 0)
end)

test("a missing result is not_found and leaves no file", function()
  t.reset()
  local c = t.client()
  local job = require("td.v3.job").wrap(c, { job_id = "424242", status = "success", hive_result_schema = "[]" })
  local path = DIR .. "/missing.csv"
  raises_kind("not_found", job.download, job, path)
  ok(not exists(path) and not exists(path .. ".tmp"), "no file")
end)

test("a download waits for an unfinished job", function()
  t.reset { queued_polls = 0, running_polls = 0 } -- the first poll sees the outcome
  local c = t.client()
  local job = c:query("SELECT * -- fake_rows(3)", { db = "web" })
  local path = DIR .. "/wait.tsv"
  local s = job:download(path, { progress = false })
  eq(job.status, "success")
  eq(s.rows, 3)
  same(slurp(path), server(c, job, "tsv", false), "tsv")
end)

-- ---------------------------------------------------------------------------
-- resume

test("a broken download resumes with Range/If-Range: same file, no row twice, tail kept", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(20000)")
  local want = server(c, job, "csv", true)
  local raw = server(c, job, "msgpack.gz")
  local mark = #t.log() + 1
  -- a truncated body, then a reset connection on the first resume attempt
  t.fault {
    { path = "^/v3/job/result/", action = "truncate", bytes = 30000, times = 1 },
    { path = "^/v3/job/result/", action = "reset", times = 1 },
    { path = "^/v3/job/result/", action = "truncate", bytes = 40000, times = 1 },
  }
  local path = DIR .. "/resumed.csv"
  local s = job:download(path, { header = true })
  same(slurp(path), want, "resumed csv")
  eq(s.rows, 20000)
  eq(s.wire_bytes, #raw)
  local ranges = {}
  for _, r in ipairs(result_requests(mark)) do
    if r.headers["range"] then
      ranges[#ranges + 1] = r.headers["range"]
      eq(r.headers["if-range"], ('"%s"'):format(r.headers["if-range"]:match('^"(.*)"$')), "If-Range is the ETag")
    end
  end
  eq(ranges, { "bytes=30000-", "bytes=30000-", "bytes=70000-" })

  -- the raw bytes resume the same way
  t.fault { path = "^/v3/job/result/", action = "truncate", bytes = 12345, times = 2 }
  local mp = DIR .. "/resumed.msgpack.gz"
  job:download(mp)
  same(slurp(mp), raw, "resumed msgpack.gz")
end)

test("when the server will not resume (200 to a Range) the download fails and leaves no file", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(20000)")
  t.fault {
    { path = "^/v3/job/result/", action = "truncate", bytes = 30000, times = 1 },
    { path = "^/v3/job/result/", status = 200, body = "not the rest of the result", times = 1 },
  }
  local path = DIR .. "/refused.csv"
  local e = raises_kind("network", job.download, job, path)
  like(e.message, "206")
  eq(e.job_id, job.job_id)
  ok(not exists(path) and not exists(path .. ".tmp"), "no file")
  ok(not tostring(e):find(t.KEY, 1, true), "no key in the message")
end)

test("when the result changed (another ETag) the resume is refused and no file is left", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(20000)")
  -- the first answer carries a stale ETag: the If-Range of the resume no
  -- longer matches, so the server sends the whole (other) result with 200
  t.fault { path = "^/v3/job/result/", action = "truncate", bytes = 30000, times = 1,
    headers = { ETag = '"stale"' } }
  local path = DIR .. "/changed.msgpack.gz"
  local e = raises_kind("network", job.download, job, path)
  like(e.message, "instead of 206")
  ok(not exists(path) and not exists(path .. ".tmp"), "no file")
  local rs = result_requests()
  eq(rs[2].headers["if-range"], '"stale"')
end)

test("a download that keeps breaking gives up and leaves no file", function()
  t.reset()
  local c = t.client { max_retries = 2 }
  local job = finished(c, "fake_rows(20000)")
  t.fault { path = "^/v3/job/result/", action = "truncate", bytes = 1000, times = -1 }
  local path = DIR .. "/broken.jsonl"
  like(raises_kind("network", job.download, job, path).message, "gave up")
  ok(not exists(path) and not exists(path .. ".tmp"), "no file")
end)

-- ---------------------------------------------------------------------------
-- arguments

test("wrong arguments raise before any transfer, naming the argument", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(5)")
  t.reset() -- clears the log; the job stays known to this client object
  local function bad(pattern, ...)
    like(raises_kind("usage", job.download, job, ...).message, pattern)
  end
  bad("'path'", 42)
  bad("'path'", "")
  bad("'path'.*does not exist", DIR .. "/no/such/dir/out.csv")
  bad("'path'.*is a directory", DIR)
  bad("'format'.*csv, tsv, json, jsonl or msgpack%.gz.*\"xml\"", DIR .. "/x.csv", { format = "xml" })
  bad("'format'.*does not tell", DIR .. "/x.dat")
  bad("'opts'", DIR .. "/x.csv", "csv")
  bad("unknown option 'fromat' %(did you mean 'format'%?%)", DIR .. "/x.csv", { fromat = "csv" })
  bad("'header'", DIR .. "/x.csv", { header = "yes" })
  bad("'header'", DIR .. "/x.msgpack.gz", { header = true })
  bad("'objects'", DIR .. "/x.csv", { objects = true })
  bad("'parallel'", DIR .. "/x.csv", { parallel = 0 })
  bad("'chunk_size'", DIR .. "/x.csv", { chunk_size = -1 })
  like(raises_kind("usage", job.download, nil, DIR .. "/x.csv").message, "download")
  eq(#result_requests(), 0)
  ok(not exists(DIR .. "/x.csv.tmp"))
end)

-- ---------------------------------------------------------------------------
-- releasing transfers

test("fetch and a break out of rows release the transfer", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(200000)")
  local rows = job:fetch(3)
  eq(#rows, 3)
  eq(rows[3][2], "name_2")
  collectgarbage()
  eq(core.active(), 0)
  local iter, _, _, closer = job:rows()
  ok(getmetatable(closer) and getmetatable(closer).__close, "the fourth value closes")
  for row in iter, nil, nil, closer do
    if row[1] == 5 then break end
  end
  eq(core.active(), 0)
end)

-- ---------------------------------------------------------------------------
-- the Job extras

test("statistics", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(12)")
  local st = job:statistics()
  eq(st.records_inserted, 12)
end)

test("result_export returns the new job and sends the result URL once", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(3)")
  local ex = job:result_export { result = "my_postgres" }
  eq(getmetatable(ex), getmetatable(job))
  ok(ex.job_id ~= job.job_id)
  eq(ex.type, "result_export")
  ex:wait(FAST)
  eq(ex.status, "success")
  local posts = {}
  for _, r in ipairs(t.log()) do
    if r.method == "POST" and r.path == "/v3/job/result_export/" .. job.job_id then posts[#posts + 1] = r end
  end
  eq(#posts, 1)
  eq(posts[1].form.result, "my_postgres")
  ok(posts[1].form.domain_key, "a domain_key makes it safe to retry")
  raises_kind("bad_request", job.result_export, job, { result = "notaurl" })
  like(raises_kind("usage", job.result_export, job, {}).message, "'result'")
end)

test("job.url, job.schema, job:show() debug output, job.duration", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(2)")
  job:show()
  like(job.url, "^https://.*/jobs/" .. job.job_id .. "$")
  eq(job.schema[1], { "id", "bigint" })
  eq(job:columns()[6], "tags")
  like(job.debug.cmdout, "rows")
  eq(job.debug.stderr, "")
  eq(math.type(job.duration), "integer")
  local failed = c:query("SELECT nope -- fake_error", { db = "web" })
  pcall(failed.wait, failed, FAST)
  failed:show()
  like(failed.debug.stderr, "cannot be resolved")

  local shape = require "td.v3.shape"
  local d = shape.job { job_id = 1, status = "success", start_at = "2026-11-22 10:00:00 UTC",
    end_at = "2026-11-22 10:01:05 UTC" }
  eq(d.duration, 65)
  eq(shape.job({ job_id = 1, duration = 12.7 }).duration, 12)
  local before = os.time()
  local r = shape.job { job_id = 1, status = "running", start_at = "2026-01-01 00:00:00 UTC" }
  local after = os.time()
  local start = td.time.parse("2026-01-01 00:00:00 UTC")
  ok(r.duration >= before - start and r.duration <= after - start, "measured up to now")
  eq(math.type(r.duration), "integer")
end)

test("the result modules define no globals", function()
  local code, out, err = t.run("-e " .. t.sh_quote([[
    local before = {}
    for k in pairs(_G) do before[k] = true end
    for _, m in ipairs { "td.v3.formats", "td.v3.download", "td.v3.result", "td.v3.job" } do require(m) end
    local f = require "td.v3.formats"
    local w = f.writer("json", function() end, { { "a", "varbinary" } }, { header = true })
    w:row { "x" }
    w:finish()
    f.kind("bigint")
    local new = {}
    for k in pairs(_G) do if not before[k] then new[#new + 1] = k end end
    print(#new, table.concat(new, ","))]]), { TDLUA_LUA_DIR = "./lua" })
  eq(code, 0, err)
  eq(out, "0\t\n")
end)
