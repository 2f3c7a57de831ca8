-- the example runbooks (examples/*.lua) run end to end against the fake TD
-- server as a user would run them: a child tdlua, configured only through
-- the environment
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local q = t.sh_quote

-- the fake server's clock starts at this instant on every reset
local FAKE_NOW = 1795341600 -- 2026-11-22 10:00:00 UTC

local function env()
  local f = t.fake()
  return {
    TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_WORKFLOW_SERVER = f.url,
    TD_CONFIG_PATH = "/nonexistent", TDLUA_HISTORY = "",
  }
end

-- scripts that look at "the last day" see the fake server's day
local PRETEND_NOW = q(([[local real, t0, c0 = os.time, %d, os.time()
os.time = function(tt) if tt then return real(tt) end return t0 + (real() - c0) end]]):format(FAKE_NOW))

local function no_key(...)
  for _, s in ipairs { ... } do
    ok(not s:find(t.KEY:sub(3), 1, true), "the API key leaked into the output")
  end
end

test("kill_long_jobs.lua under --dry-run prints the kills and sends none", function()
  t.reset()
  local code, out, err = t.run("--dry-run examples/kill_long_jobs.lua 3600", env())
  eq(code, 0, err)
  eq(out, "")
  like(err, "killing 1023 after %d+s")
  like(err, "killing 1024 after %d+s")
  like(err, "%[dry%-run%] would kill job 1023 %(running: SELECT 23%)\n  %(POST /v3/job/kill/1023%)")
  no_key(out, err)
  for _, r in ipairs(t.log()) do
    ok(not r.path:find("/kill/", 1, true), "a kill was sent under --dry-run: " .. r.path)
  end
  eq(t.state().v3.jobs_by_status.running, 2)
end)

test("kill_long_jobs.lua kills only the jobs over the limit", function()
  t.reset()
  local code, _, err = t.run("examples/kill_long_jobs.lua 3600", env())
  eq(code, 0, err)
  local killed = {}
  for _, r in ipairs(t.log()) do
    local id = r.path:match("^/v3/job/kill/(%d+)$")
    if id then killed[#killed + 1] = id end
  end
  table.sort(killed)
  eq(table.concat(killed, ","), "1023,1024")
  -- a limit no job reaches kills nothing
  t.reset()
  code, _, err = t.run("examples/kill_long_jobs.lua 999999", env())
  eq(code, 0, err)
  eq(err, "")
end)

test("daily_report.lua writes the day's report as CSV with a header", function()
  t.reset { mode = "time", queued_secs = 0, running_secs = 0 }
  local dir = t.fake().dir .. "/report"
  os.execute("mkdir -p " .. q(dir))
  local code, out, err = t.run("examples/daily_report.lua 2026-11-21 " .. q(dir), env())
  eq(code, 0, err)
  eq(out, "")
  like(err, "wrote 6 rows %(job %d+%)")
  local f = assert(io.open(dir .. "/report-2026-11-21.csv"))
  local csv = f:read("a")
  f:close()
  eq(csv, "country,pv\nJP,120\nUS,95\nDE,61\nFR,48\nBR,33\nIN,21\n")
  ok(not io.open(dir .. "/report-2026-11-21.csv.tmp"), "the temporary file was left behind")
  os.execute("rm -rf " .. q(dir))
  no_key(out, err)
  -- "-": the same CSV on standard output, the log on stderr
  code, out, err = t.run("examples/daily_report.lua 2026-11-21 -", env())
  eq(code, 0, err)
  eq(out, "country,pv\nJP,120\nUS,95\nDE,61\nFR,48\nBR,33\nIN,21\n")
  like(err, "to standard output")
end)

test("daily_report.lua: a failed query exits 1 with TD's error and writes nothing", function()
  t.reset { mode = "time", queued_secs = 0, running_secs = 0 }
  t.fault { path = "^/v3/job/issue/", status = 400, times = -1,
    body = { error = "Query is invalid", message = "Query is invalid", status_code = 400 } }
  local dir = t.fake().dir .. "/report-bad"
  os.execute("mkdir -p " .. q(dir))
  local code, out, err = t.run("examples/daily_report.lua 2026-11-21 " .. q(dir), env())
  eq(code, 1)
  eq(out, "")
  like(err, "^tdlua: bad_request: [^\n]*Query is invalid")
  eq(select(2, err:gsub("\n", "")), 1, "one line on stderr")
  ok(not io.open(dir .. "/report-2026-11-21.csv"), "a report was written for a failed query")
  os.execute("rm -rf " .. q(dir))
end)

test("retry_failed.lua retries the last day's failed attempts concurrently", function()
  t.reset { wf_mode = "time", wf_queued_secs = 0, wf_task_secs = 0.05 }
  local code, out, err = t.run("--yes -e " .. PRETEND_NOW .. " examples/retry_failed.lua etl", env())
  eq(code, 0, err)
  like(err, "Retry 2 failed attempts%? yes")
  local lines = {}
  for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
  table.sort(lines)
  eq(lines, { "7\tsuccess", "9\tsuccess" })
  -- one retry each: PUT /api/attempts resuming from the failed tasks
  local puts = 0
  for _, r in ipairs(t.log()) do
    if r.method == "PUT" and r.path == "/api/attempts" then
      puts = puts + 1
      ok(r.json and r.json.resume, "the retry did not ask to resume")
    end
  end
  eq(puts, 2)
  no_key(out, err)
end)

test("retry_failed.lua without a terminal or --yes asks nothing and changes nothing", function()
  t.reset()
  local code, out, err = t.run("-e " .. PRETEND_NOW .. " examples/retry_failed.lua etl", env())
  eq(code, 8) -- declined
  eq(out, "")
  like(err, "declined: confirmation needed")
  like(err, "%-%-yes")
  for _, r in ipairs(t.log()) do
    ok(r.method == "GET", "a change was sent without confirmation: " .. r.method .. " " .. r.path)
  end
end)

test("retry_failed.lua with nothing to retry says so", function()
  t.reset()
  -- a year later: nothing failed in the last day
  local later = q(([[local real = os.time
os.time = function(tt) if tt then return real(tt) end return %d end]]):format(FAKE_NOW + 365 * 86400))
  local code, out, err = t.run("-e " .. later .. " examples/retry_failed.lua etl", env())
  eq(code, 0, err)
  eq(out, "nothing to retry\n")
end)

test("backfill.lua starts one attempt per missed day and draws their timelines", function()
  t.reset { wf_mode = "time", wf_queued_secs = 0, wf_task_secs = 0.02 }
  local code, out, err = t.run("examples/backfill.lua etl daily 2026-11-01 3", env())
  eq(code, 0, err)
  local n = 0
  for _, r in ipairs(t.log()) do
    if r.method == "POST" and r.path:match("^/api/schedules/%d+/backfill$") then
      n = n + 1
      eq(r.json.count, 3)
    end
  end
  eq(n, 1)
  ok(#out > 0, "no timeline was printed")
  no_key(out, err)
end)
