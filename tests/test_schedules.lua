-- schedules: create, list, update, delete, run (idempotently) and history
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local find = t.find_named
local last_request = t.last_request

local function job_count() return t.state().v3.jobs end

test("create_schedule, schedules, schedule, update_schedule, delete_schedule", function()
  t.reset()
  local c = t.client()
  local s = c:create_schedule("daily_kpi", { cron = "0 2 * * *", query = "SELECT 1", database = "web",
    timezone = "Asia/Tokyo", delay = 60, priority = 1, retry_limit = 2 })
  eq(s.name, "daily_kpi")
  eq(s.type, "presto", "presto unless told otherwise")
  ok(s.start, "first run time")
  eq(type(s.id), "string")
  local r = ok(last_request("POST", "^/v3/schedule/create/daily_kpi$"))
  eq(r.form.cron, "0 2 * * *")
  eq(r.form.database, "web")
  eq(r.form.timezone, "Asia/Tokyo")
  eq(r.form.delay, "60")
  local listed = ok(find(c:schedules(), "daily_kpi"))
  eq(listed.timezone, "Asia/Tokyo")
  eq(listed.priority, 1)
  eq(c:schedule("daily_kpi").query, "SELECT 1")
  raises_kind("not_found", c.schedule, c, "nope_sched")

  c:create_schedule("manual_only", { cron = "", query = "SELECT 2", db = "web", engine = "hive" })
  local m = c:schedule("manual_only")
  eq(m.cron, "")
  eq(m.type, "hive")
  eq(m.next_time, nil, "never runs by itself")

  local u = c:update_schedule("daily_kpi", { cron = "@hourly", query = "SELECT 3", name = "hourly_kpi" })
  eq(u.name, "hourly_kpi")
  eq(u.cron, "@hourly")
  eq(find(c:schedules(), "daily_kpi"), nil)
  eq(c:schedule("hourly_kpi").query, "SELECT 3")

  eq(c:delete_schedule("hourly_kpi").name, "hourly_kpi")
  eq(find(c:schedules(), "hourly_kpi"), nil)
  raises_kind("not_found", c.delete_schedule, c, "hourly_kpi")
  raises_kind("not_found", c.update_schedule, c, "hourly_kpi", { cron = "@daily" })
end)

test("schedule errors carry TD's message", function()
  t.reset()
  local c = t.client()
  c:create_schedule("dup_sched", { cron = "@daily", query = "SELECT 1", database = "web" })
  eq(raises_kind("conflict", c.create_schedule, c, "dup_sched", { cron = "@daily", query = "SELECT 1", database = "web" }).status, 409)
  local e = raises_kind("bad_request", c.create_schedule, c, "bad_cron", { cron = "99 * * * *", query = "SELECT 1", database = "web" })
  eq(e.status, 422)
  like(e.message, "cron")
  like(raises_kind("bad_request", c.update_schedule, c, "dup_sched", { timezone = "Mars/Olympus" }).message, "Mars/Olympus")
  like(raises_kind("not_found", c.create_schedule, c, "no_db", { cron = "", query = "SELECT 1", database = "nope_db" }).message, "nope_db")
end)

test("schedule writes are forbidden for a query-only key, runs are not", function()
  t.reset()
  local c = t.client()
  c:create_schedule("ro_sched", { cron = "", query = "SELECT 1", database = "web" })
  local ro = t.client { apikey = t.RO_KEY }
  raises_kind("forbidden", ro.create_schedule, ro, "ro_new", { cron = "", query = "SELECT 1", database = "web" })
  raises_kind("forbidden", ro.update_schedule, ro, "ro_sched", { cron = "@daily" })
  raises_kind("forbidden", ro.delete_schedule, ro, "ro_sched")
  eq(#ro:run_schedule("ro_sched", 1764000000), 1)
end)

test("schedule argument errors name the argument", function()
  local c = t.client()
  like(raises_kind("usage", c.create_schedule, c, "s_x", { query = "SELECT 1", database = "web" }).message, "cron")
  like(raises_kind("usage", c.create_schedule, c, "s_x", { cron = "", database = "web" }).message, "query")
  like(raises_kind("usage", c.create_schedule, c, "s_x", { cron = "", query = "SELECT 1" }).message, "database")
  like(raises_kind("usage", c.create_schedule, c, "s_x").message, "'opts'")
  like(raises_kind("usage", c.create_schedule, c, "s_x", { cron = "", query = "q", database = "web", priority = 5 }).message, "priority")
  like(raises_kind("usage", c.create_schedule, c, "s_x", { cron = "", query = "q", database = "web", delay = "1h" }).message, "opts.delay")
  like(raises_kind("usage", c.create_schedule, c, "s_x", { cron = "", query = "q", database = "web", cronn = "x" }).message, "cronn")
  like(raises_kind("usage", c.create_schedule, c, 5, {}).message, "'name'")
  like(raises_kind("usage", c.update_schedule, c, "s_x", {}).message, "nothing to update")
  like(raises_kind("usage", c.run_schedule, c, "s_x").message, "'time'")
  like(raises_kind("usage", c.run_schedule, c, "s_x", "yesterday-ish").message, "yesterday")
  like(raises_kind("usage", c.run_schedule, c, "s_x", 0, { num = 11 }).message, "num")
  like(raises_kind("usage", c.schedule_history, c, "s_x", { from = "0" }).message, "opts.from")
end)

test("run_schedule returns one Job per run, at the given time and the next cron times", function()
  t.reset()
  local c = t.client()
  c:create_schedule("nightly", { cron = "@daily", query = "SELECT 7", database = "web" })
  local jobs = c:run_schedule("nightly", "2026-11-20 00:00:00 UTC", { num = 3 })
  eq(#jobs, 3)
  local r = ok(last_request("POST", "^/v3/schedule/run/nightly/%d+$"))
  like(r.path, "/1795132800$")
  eq(r.form.num, "3")
  like(r.form.domain_key, "^tdlua%-%x+$")
  eq(jobs[1].scheduled_at, "2026-11-20 00:00:00 UTC")
  eq(jobs[3].scheduled_at, "2026-11-22 00:00:00 UTC")
  for _, j in ipairs(jobs) do
    eq(type(j.job_id), "string", "job ids are strings")
    eq(j.domain_key, r.form.domain_key)
  end
  jobs[1]:wait { interval = 0.01 }
  eq(jobs[1].status, "success")
  eq(#c:run_schedule("nightly", 1795132800.9), 1, "fractions of a second are dropped")
  like(last_request("POST", "^/v3/schedule/run/nightly/").path, "/1795132800$")
  raises_kind("not_found", c.run_schedule, c, "nope_sched", 0)
end)

test("run_schedule is retried after a 503 and creates the runs once", function()
  t.reset()
  local c = t.client()
  c:create_schedule("retry_503", { cron = "@daily", query = "SELECT 1", database = "web" })
  local before = job_count()
  t.fault { method = "POST", path = "^/v3/schedule/run/", status = 503, times = 2 }
  local jobs = c:run_schedule("retry_503", 1795132800, { num = 2 })
  eq(#jobs, 2)
  eq(job_count() - before, 2, "exactly two new jobs")
end)

test("run_schedule whose answer is lost finds the runs of the first attempt", function()
  for _, action in ipairs { "truncate", "close" } do
    t.reset()
    local c = t.client()
    c:create_schedule("lost_answer", { cron = "@hourly", query = "SELECT 1", database = "web" })
    local before = job_count()
    if action == "truncate" then
      -- the server creates the jobs, the answer breaks off: a retry must not create more
      t.fault { method = "POST", path = "^/v3/schedule/run/", action = "truncate", bytes = 5 }
    else
      t.fault { method = "POST", path = "^/v3/schedule/run/", action = "close" }
    end
    local jobs = c:run_schedule("lost_answer", 1795132800, { num = 3 })
    eq(#jobs, 3, action)
    eq(job_count() - before, 3, action .. ": no duplicate jobs")
    local ids = {}
    for _, j in ipairs(jobs) do
      ok(not ids[j.job_id], "distinct jobs")
      ids[j.job_id] = true
    end
    local hist = {}
    for j in c:schedule_history("lost_answer") do hist[j.job_id] = true end
    for id in pairs(ids) do ok(hist[id], "the returned jobs are the schedule's runs") end
  end
end)

test("run_schedule with a domain_key used before returns the earlier jobs", function()
  t.reset()
  local c = t.client()
  c:create_schedule("keyed", { cron = "@daily", query = "SELECT 1", database = "web" })
  local first = c:run_schedule("keyed", 1795132800, { domain_key = "run-2026-11-20" })
  local before = job_count()
  local again = c:run_schedule("keyed", 1795132800, { domain_key = "run-2026-11-20" })
  eq(job_count(), before, "no new job")
  eq(again[1].job_id, first[1].job_id)
  eq(#again, 1)
end)

test("schedule_history pages newest first; `to` is exclusive", function()
  t.reset()
  local c = t.client()
  c:create_schedule("busy", { cron = "@hourly", query = "SELECT 1", database = "web" })
  local made = {}
  for i = 0, 2 do
    for _, j in ipairs(c:run_schedule("busy", 1795132800 + i * 36000, { num = 8 })) do made[j.job_id] = true end
  end
  local ids, seen = {}, {}
  for j in c:schedule_history("busy", { page = 5 }) do
    ok(not seen[j.job_id], "no duplicates")
    seen[j.job_id] = true
    ok(made[j.job_id], "one of ours")
    ok(j.scheduled_at, "scheduled_at")
    ids[#ids + 1] = tonumber(j.job_id)
  end
  eq(#ids, 24)
  for i = 2, #ids do ok(ids[i - 1] > ids[i], "newest first") end
  local reqs = 0
  for _, r in ipairs(t.log()) do if r.path == "/v3/schedule/history/busy" then reqs = reqs + 1 end end
  eq(reqs, 5, "pages of five")

  local window = {}
  for j in c:schedule_history("busy", { from = 2, to = 6 }) do window[#window + 1] = tonumber(j.job_id) end
  eq(window, { ids[3], ids[4], ids[5], ids[6] })
  local r = ok(last_request("GET", "^/v3/schedule/history/busy$"))
  eq(r.query.from, "2")
  eq(r.query.to, "6")
  local n = 0
  for _ in c:schedule_history("busy", { limit = 3 }) do n = n + 1 end
  eq(n, 3)
  raises_kind("not_found", function() for _ in c:schedule_history("nope_sched") do end end)
end)
