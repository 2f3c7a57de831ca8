-- client:run_schedule_range: every scheduled time once, idempotent across re-runs
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local utc = td.time.utc

local QUIET = { log = false, wait = { interval = 0.01, max_interval = 0.02 } }
local function opts(extra)
  local o = {}
  for k, v in pairs(QUIET) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- scheduled_at of every run request, in the order sent
local function run_times(name)
  local out = {}
  for _, r in ipairs(t.requests("POST", "^/v3/schedule/run/" .. name .. "/")) do
    out[#out + 1] = tonumber(r.path:match("/(%d+)$"))
  end
  table.sort(out)
  return out
end

local function day(d) return utc(2026, 11, d) end

test("run_schedule_range runs each scheduled time once, in the schedule's zone, and waits", function()
  t.reset()
  local c = t.client()
  c:create_schedule("rr_daily", { cron = "0 2 * * *", timezone = "Asia/Tokyo", query = "SELECT 1", database = "web" })
  local s = c:run_schedule_range("rr_daily", "2026-11-01", "2026-11-08", opts { concurrency = 3 })
  eq(s.count, 7)
  ok(s.ok)
  eq(s.submitted, 7)
  eq(s.reused, 0)
  -- 02:00 JST is 17:00 UTC the day before: Oct 31 17:00 is before the range
  local want = {}
  for d = 1, 7 do want[d] = day(d) + 17 * 3600 end
  eq(run_times("rr_daily"), want)
  for i, r in ipairs(s.runs) do
    eq(r.scheduled_at, want[i])
    eq(r.status, "success")
    ok(r.ok)
    like(r.domain_key, "^tdlua%-range%-rr_daily%-" .. want[i] .. "$")
  end
  for _, r in ipairs(t.requests("POST", "^/v3/schedule/run/rr_daily/")) do eq(r.form.num, "1") end
  like(tostring(s), "7 runs from 2026%-11%-01 00:00:00 UTC to 2026%-11%-08 00:00:00 UTC: 7 success")
  -- the fake's history has the seven jobs with their scheduled times
  local hist = {}
  for j in c:schedule_history("rr_daily") do hist[#hist + 1] = j.scheduled_at end
  eq(#hist, 7)
end)

test("run_schedule_range run again starts nothing new: it finds each time's job by its domain_key", function()
  t.reset()
  local c = t.client()
  c:create_schedule("rr_again", { cron = "0 0 * * *", query = "SELECT 1", database = "web" })
  local a = c:run_schedule_range("rr_again", day(1), day(5), opts())
  eq(a.submitted, 4)
  local jobs_before = t.state().v3.jobs
  local b = c:run_schedule_range("rr_again", day(1), day(5), opts())
  eq(t.state().v3.jobs, jobs_before, "no job was created")
  eq(b.reused, 4)
  eq(b.submitted, 0)
  eq(#run_times("rr_again"), 4, "no second run request")
  for i, r in ipairs(b.runs) do eq(r.job_id, a.runs[i].job_id) end
  like(tostring(b), "4 already run")
  -- a wider range runs only the new times
  local w = c:run_schedule_range("rr_again", day(1), day(7), opts())
  eq(w.reused, 4)
  eq(w.submitted, 2)
  -- a key starts a fresh set of runs on purpose
  local k = c:run_schedule_range("rr_again", day(1), day(3), opts { key = "v2" })
  eq(k.submitted, 2)
  like(k.runs[1].domain_key, "%-v2$")
end)

test("run_schedule_range without waiting, then a lost reply: the time is not run twice", function()
  t.reset()
  local c = t.client()
  c:create_schedule("rr_lost", { cron = "0 12 * * *", query = "SELECT 1", database = "web" })
  -- the first run request is handled but its answer never arrives
  t.fault { method = "POST", path = "^/v3/schedule/run/rr_lost/", action = "truncate", times = 1 }
  local s = c:run_schedule_range("rr_lost", day(1), day(3), opts { wait = false, concurrency = 1 })
  eq(s.count, 2)
  ok(s.ok)
  eq(#run_times("rr_lost"), 2, "the lost request was resolved by its domain_key, not sent again")
  local count = 0
  for _ in c:schedule_history("rr_lost") do count = count + 1 end
  eq(count, 2, "each time has one job")
end)

test("run_schedule_range runs a failed time again, and a re-run keeps the chain", function()
  t.reset()
  local c = t.client()
  c:create_schedule("rr_fail", { cron = "0 0 * * *", query = "SELECT fake_error", database = "web" })
  local e = raises_kind("job_failed", c.run_schedule_range, c, "rr_fail", day(1), day(3), opts())
  like(e.message, "2 of 2 runs of schedule rr_fail failed")
  eq(e.summary.failed, 2)
  eq(e.summary.runs[1].status, "error")
  ok(e.summary.runs[1].job_id)
  -- on_failure = "return" gives the summary
  local s = c:run_schedule_range("rr_fail", day(1), day(3), opts { on_failure = "return", rerun_failed = false })
  eq(s.ok, false)
  eq(s.reused, 2, "rerun_failed = false waits for the failed jobs again")
  -- fixed: a re-run runs the failed times again (key -r1), once
  c:update_schedule("rr_fail", { query = "SELECT 1" })
  local fixed = c:run_schedule_range("rr_fail", day(1), day(3), opts())
  ok(fixed.ok)
  eq(fixed.submitted, 2)
  eq(fixed.runs[1].reruns, 1)
  like(fixed.runs[1].domain_key, "%-r1$")
  local again = c:run_schedule_range("rr_fail", day(1), day(3), opts())
  eq(again.reused, 2)
  eq(again.runs[2].job_id, fixed.runs[2].job_id)
end)

test("run_schedule_range checks its arguments and guards against huge ranges", function()
  t.reset()
  local c = t.client()
  c:create_schedule("rr_minutely", { cron = "* * * * *", query = "SELECT 1", database = "web" })
  c:create_schedule("rr_manual", { cron = "", query = "SELECT 1", database = "web" })
  like(raises_kind("usage", c.run_schedule_range, c, "rr_minutely", day(1), day(8), QUIET).message, "max_runs")
  eq(#run_times("rr_minutely"), 0, "nothing ran")
  like(raises_kind("usage", c.run_schedule_range, c, "rr_manual", day(1), day(2), QUIET).message, "no cron")
  like(raises_kind("usage", c.run_schedule_range, c, "rr_minutely", day(2), day(1), QUIET).message, "after")
  like(raises_kind("usage", c.run_schedule_range, c, "rr_minutely", "someday", day(1), QUIET).message, "someday")
  like(raises_kind("usage", c.run_schedule_range, c, "rr_minutely", day(1), day(2), { concurency = 2 }).message, "concurrency")
  like(raises_kind("usage", c.run_schedule_range, c, "rr_minutely", day(1), day(2), { key = "a b" }).message, "key")
  raises_kind("not_found", c.run_schedule_range, c, "nope_sched", day(1), day(2), QUIET)
  eq(#c:run_schedule_range("rr_minutely", day(1), day(1) + 300, opts { wait = false }).runs, 5)
end)
