-- the examples for range runs, file imports and bounded concurrency run end
-- to end against the fake TD server, as a user runs them (a child tdlua
-- configured only through the environment)
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local q = t.sh_quote

local function env()
  local f = t.fake()
  return {
    TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_WORKFLOW_SERVER = f.url,
    TD_CONFIG_PATH = "/nonexistent", TDLUA_HISTORY = "",
  }
end

local function no_key(...)
  for _, s in ipairs { ... } do
    ok(not s:find(t.KEY:sub(3), 1, true), "the API key leaked into the output")
  end
end

local INSTANT = { mode = "time", queued_secs = 0, running_secs = 0 }

test("schedule_range.lua runs every day of the range once; run again, it starts nothing", function()
  t.reset(INSTANT)
  local c = t.client()
  c:create_schedule("ex_daily", { cron = "0 3 * * *", timezone = "Asia/Tokyo", query = "SELECT 1", database = "web" })
  local code, out, err = t.run("examples/schedule_range.lua ex_daily 2026-11-01 2026-11-08 3", env())
  eq(code, 0, err)
  like(out, "^schedule ex_daily: 7 runs from 2026%-11%-01 00:00:00 UTC to 2026%-11%-08 00:00:00 UTC: 7 success\n$")
  local _, lines = err:gsub("INFO  ex_daily 2026%-1[01]%-%d+ 18:00:00 UTC: job %d+ success\n", "")
  eq(lines, 7, err)
  eq(#t.requests("POST", "^/v3/schedule/run/ex_daily/"), 7)
  local jobs = t.state().v3.jobs
  code, out, err = t.run("examples/schedule_range.lua ex_daily 2026-11-01 2026-11-08", env())
  eq(code, 0, err)
  like(out, "7 success %(7 already run%)")
  eq(t.state().v3.jobs, jobs, "no new job")
  eq(#t.requests("POST", "^/v3/schedule/run/ex_daily/"), 7, "no new run request")
  no_key(out, err)
end)

test("schedule_range.lua exits 1 and lists the failed runs", function()
  t.reset(INSTANT)
  local c = t.client()
  c:create_schedule("ex_failing", { cron = "0 0 * * *", query = "SELECT fake_error", database = "web" })
  local code, out, err = t.run("examples/schedule_range.lua ex_failing 2026-11-01 2026-11-03", env())
  eq(code, 1, err)
  like(out, "2 runs .*: 2 error")
  like(out, "2026%-11%-01 00:00:00 UTC  job %d+  job_failed")
  like(err, "WARN")
  code = t.run("examples/schedule_range.lua", env())
  eq(code, 2)
end)

test("import_csv.lua creates the table, imports the file, and reports bad lines", function()
  t.reset()
  local p = t.write_tmp('id,name,signed_up\n1,"Smith, Jane",2026-11-01 10:00:00\n2,"Lee ""JJ"" J",2026-11-02 11:00:00\n'
    .. '3,Broken,not a date\n4,"Doe\nJohn",2026-11-03 12:00:00\n', ".csv")
  local code, out, err = t.run("examples/import_csv.lua " .. q(p) .. " web.ex_users signed_up", env())
  eq(code, 0, err)
  eq(out, "")
  like(err, "created table web.ex_users")
  like(err, "imported 3 records from .* into web.ex_users in 1 chunk %(1 bad line skipped%)")
  like(err, "line 4: column signed_up: cannot read \"not a date\"")
  local c = t.client()
  eq(c:table("web", "ex_users").count, 3)
  -- a second file into the existing table
  local p2 = t.write_tmp('time,v\n1700000000,a\n', ".csv")
  code, out, err = t.run("examples/import_csv.lua " .. q(p2) .. " web.ex_users", env())
  eq(code, 0, err)
  ok(not err:find("created table"), err)
  eq(c:table("web", "ex_users").count, 4)
  no_key(out, err)
  os.remove(p)
  os.remove(p2)
end)

test("bounded_queries.lua: one query per day, at most N at a time, one CSV on stdout", function()
  t.reset(INSTANT)
  local code, out, err = t.run("examples/bounded_queries.lua 2026-11-15 2026-11-17 2", env())
  eq(code, 0, err)
  local want = { "day,country,pv" }
  for _, d in ipairs { "2026-11-15", "2026-11-16", "2026-11-17" } do
    for _, r in ipairs { { "JP", 120 }, { "US", 95 }, { "DE", 61 }, { "FR", 48 }, { "BR", 33 }, { "IN", 21 } } do
      want[#want + 1] = d .. "," .. r[1] .. "," .. r[2]
    end
  end
  eq(out, table.concat(want, "\n") .. "\n")
  like(err, "3 days, 0 failed, at most 2 queries at a time")
  eq(#t.requests("POST", "^/v3/job/issue/"), 3)
  no_key(out, err)
end)
