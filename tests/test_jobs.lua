-- waiting for jobs and streaming their results
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind

local FAST = { interval = 0.01, max_interval = 0.02, progress = false }

test("wait polls job/status until success; booting is not terminal", function()
  t.reset { queued_polls = 2, running_polls = 3 }
  local c = t.client()
  local job = c:query("SELECT 1", { db = "web" })
  eq(job:wait(FAST), job)
  eq(job.status, "success")
  eq(job.num_records, 1)
  eq(job.schema[1][1], "_col0")
  local polls = 0
  for _, r in ipairs(t.log()) do
    if r.path == "/v3/job/status/" .. job.job_id then polls = polls + 1 end
  end
  eq(polls, 6)
end)

test("a failed job raises job_failed carrying the engine's stderr", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT nope -- fake_error", { db = "web" })
  local e = raises_kind("job_failed", job.wait, job, FAST)
  eq(e.job_id, job.job_id)
  like(e.stderr, "cannot be resolved")
  like(e.message, "cannot be resolved")
  like(tostring(e), "^job_failed: .*job " .. job.job_id)
end)

test("a killed job raises job_killed", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT 1 -- fake_killed", { db = "web" })
  raises_kind("job_killed", job.wait, job, FAST)
end)

test("wait times out with a timeout error and the job keeps running", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT 1 -- fake_stuck", { db = "web" })
  local e = raises_kind("timeout", job.wait, job, { timeout = 0.2, interval = 0.05, progress = false })
  eq(e.job_id, job.job_id)
  like(e.message, "keeps running")
  c:kill(job.job_id)
end)

test("wait rides out transient errors while polling", function()
  t.reset()
  local c = t.client { max_retries = 1 }
  local job = c:query("SELECT 1", { db = "web" })
  t.fault { path = "^/v3/job/status/", status = 503, times = 3 }
  job:wait(FAST)
  eq(job.status, "success")
end)

test("wait argument errors name the argument", function()
  local c = t.client()
  local job = c:query("SELECT 1", { db = "web" })
  like(raises_kind("usage", job.wait, job, { timeout = "1h" }).message, "timeout")
  like(raises_kind("usage", job.wait, job, 5).message, "opts")
end)

test("rows streams arrays with NULL as td.null; records are keyed by column", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT * FROM x -- fake_rows(50)", { db = "web" }):wait(FAST)
  local n = 0
  for row in job:rows() do
    eq(row[1], n)
    eq(row[2], "name_" .. n)
    if n % 7 == 0 then eq(row[5], td.null) end
    n = n + 1
  end
  eq(n, 50)
  local m = 0
  for rec in job:records() do
    eq(rec.id, m)
    eq(rec.name, "name_" .. m)
    if m % 7 == 0 then eq(rec.note, nil) end
    m = m + 1
  end
  eq(m, 50)
  eq(job:columns(), { "id", "name", "score", "active", "note", "tags" })
end)

test("rows waits for an unfinished job first", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT 1", { db = "web" })
  local got = {}
  for row in job:rows() do got[#got + 1] = row end
  eq(got, { { 1 } })
end)

test("fetch and result_table", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT * -- fake_rows(30)", { db = "web" }):wait(FAST)
  local rows = job:fetch(5)
  eq(#rows, 5)
  eq(rows[5][1], 4)
  local rt = job:result_table(3)
  eq(rt.columns[1], "id")
  eq(#rt.rows, 3)
  like(tostring(rt), "| id | name")
end)

test("breaking out of rows releases the transfer", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT * -- fake_rows(200000)", { db = "web" }):wait(FAST)
  for row in job:rows() do
    if row[1] == 10 then break end
  end
  collectgarbage()
  eq(require("td.core").active(), 0)
end)

local function rss_kb()
  local f = io.open("/proc/self/status")
  local s = f and f:read("a") or ""
  if f then f:close() end
  return tonumber(s:match("VmRSS:%s*(%d+)")) or 0
end

test("large results stream with flat memory", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT * -- fake_rows(300000)", { db = "web" }):wait(FAST)
  collectgarbage()
  local n, rss_early, rss_peak, heap_early, heap_peak = 0, 0, 0, 0, 0
  for row in job:rows() do
    n = n + 1
    if n == 20000 then
      collectgarbage()
      rss_early, heap_early = rss_kb(), collectgarbage("count")
    elseif n % 20000 == 0 then
      rss_peak = math.max(rss_peak, rss_kb())
      heap_peak = math.max(heap_peak, collectgarbage("count"))
    end
    local _ = row
  end
  eq(n, 300000)
  -- the result is ~15x larger than what was read by row 20000; memory must not follow it
  ok(heap_peak - heap_early < 32 * 1024, ("Lua heap grew by %.0f KiB while streaming"):format(heap_peak - heap_early))
  if not os.getenv("TDLUA_SANITIZER") and not os.getenv("TDLUA_VALGRIND") then -- their allocators keep freed memory resident
    ok(rss_peak - rss_early < 24 * 1024, ("RSS grew by %d KiB while streaming"):format(rss_peak - rss_early))
  end
end)

test("a reset mid-download resumes with Range/If-Range and yields every row once", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT * -- fake_rows(20000)", { db = "web" }):wait(FAST)
  t.fault { path = "^/v3/job/result/", action = "truncate", bytes = 30000, times = 2 }
  local n = 0
  for row in job:rows() do
    eq(row[1], n)
    n = n + 1
  end
  eq(n, 20000)
  local ranges = {}
  for _, r in ipairs(t.log()) do
    if r.path:find("^/v3/job/result/") and r.headers["range"] then
      ranges[#ranges + 1] = r.headers["range"]
      ok(r.headers["if-range"], "If-Range sent")
    end
  end
  eq(ranges, { "bytes=30000-", "bytes=60000-" })
end)

test("a broken download that cannot resume fails loudly, never truncates", function()
  t.reset()
  local c = t.client { max_retries = 2 }
  local job = c:query("SELECT * -- fake_rows(20000)", { db = "web" }):wait(FAST)
  t.fault { path = "^/v3/job/result/", action = "truncate", bytes = 1000, times = -1 }
  local n = 0
  local e = raises_kind("network", function() for _ in job:rows() do n = n + 1 end end)
  like(e.message, "gave up")
  ok(n < 20000)
end)

test("result of an unknown job is not_found", function()
  t.reset()
  local c = t.client()
  local job = require("td.v3.job").wrap(c, { job_id = "424242", status = "success" })
  raises_kind("not_found", function() for _ in job:rows() do end end)
end)

test("many jobs wait concurrently in one process", function()
  t.reset { queued_polls = 1, running_polls = 2 }
  local c = t.client()
  local jobs = {}
  for i = 1, 20 do jobs[i] = c:query("SELECT " .. i, { db = "web" }) end
  local res = td.wait_all(jobs, FAST)
  for i = 1, 20 do
    ok(res[i].ok, tostring(res[i].err))
    eq(res[i].value.status, "success")
  end
end)
