-- td.cron expressions and time zones, td.retry, td.timeout, td.race and
-- task cancellation (in process)
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local raises_kind = t.raises_kind
local cron = require "td.cron"
local zoneinfo = require "td.zoneinfo"

local T0 = 1795341600 -- 2026-11-22 10:00:00 UTC, a Sunday

local function wall(tz, utc)
  local z = zoneinfo.load(tz)
  local f = zoneinfo.fields(utc + z:offset(utc))
  return ("%04d-%02d-%02d %02d:%02d"):format(f.year, f.month, f.day, f.hour, f.min)
end

local function nexts(expr, tz, from, n)
  local c, z = cron.parse(expr), zoneinfo.load(tz)
  local out, at = {}, from
  for i = 1, n do
    at = c:next(at, z)
    out[i] = wall(tz, at)
  end
  return table.concat(out, ", ")
end

test("cron: steps, ranges, lists, names and shorthands", function()
  eq(nexts("*/15 * * * *", "UTC", T0, 3), "2026-11-22 10:15, 2026-11-22 10:30, 2026-11-22 10:45")
  eq(nexts("0 9 * * mon-fri", "UTC", T0, 2), "2026-11-23 09:00, 2026-11-24 09:00")
  eq(nexts("0 0 1,15 * *", "UTC", T0, 3), "2026-12-01 00:00, 2026-12-15 00:00, 2027-01-01 00:00")
  eq(nexts("30 8-10/2 * jan,jul *", "UTC", T0, 3), "2027-01-01 08:30, 2027-01-01 10:30, 2027-01-02 08:30")
  eq(nexts("5 4 * * 7", "UTC", T0, 1), "2026-11-29 04:05") -- 7 is Sunday too
  eq(nexts("@daily", "UTC", T0, 1), "2026-11-23 00:00")
  eq(nexts("@hourly", "UTC", T0, 1), "2026-11-22 11:00")
  eq(nexts("0 0 29 2 *", "UTC", T0, 1), "2028-02-29 00:00")
  -- both day fields restricted: either matches (Friday or the 13th)
  eq(nexts("0 12 13 * fri", "UTC", T0, 3), "2026-11-27 12:00, 2026-12-04 12:00, 2026-12-11 12:00")
  eq(cron.parse("0 0 31 2 *"):next(T0), nil)
end)

test("cron: time zones from the system's zoneinfo, including daylight saving changes", function()
  -- 10:00 UTC is 19:00 in Tokyo
  eq(nexts("0 20 * * *", "Asia/Tokyo", T0, 1), "2026-11-22 20:00")
  eq(cron.parse("0 20 * * *"):next(T0, zoneinfo.load("Asia/Tokyo")), T0 + 3600)
  eq(zoneinfo.load("America/New_York"):offset(T0), -5 * 3600)
  -- 2027-03-14 02:30 does not exist in New York: it runs just after the jump
  local mar13 = 1804939200 -- 2027-03-13 12:00 UTC
  eq(nexts("30 2 * * *", "America/New_York", mar13, 2), "2027-03-14 03:30, 2027-03-15 02:30")
  -- 2026-11-01 01:30 happens twice: it runs once
  local oct31 = 1793448000 -- 2026-10-31 12:00 UTC
  eq(nexts("30 1 * * *", "America/New_York", oct31, 2), "2026-11-01 01:30, 2026-11-02 01:30")
  -- after the file's last transition the POSIX rule decides (summer 2045)
  eq(zoneinfo.load("America/New_York"):offset(2382480000), -4 * 3600)
  raises_kind("usage", zoneinfo.load, "Mars/Olympus")
  raises_kind("usage", zoneinfo.load, "../etc/passwd")
end)

test("cron: a bad expression is a usage error that says what is wrong", function()
  like(raises_kind("usage", cron.parse, "61 * * * *").message, "minute 61 is outside 0%-59")
  like(raises_kind("usage", cron.parse, "* * *").message, "5 fields expected")
  like(raises_kind("usage", cron.parse, "* * * foo *").message, "\"foo\" is not a valid month")
  like(raises_kind("usage", cron.parse, "5-1 * * * *").message, "goes backwards")
  raises_kind("usage", td.cron, "* * * * *", print, { tz = "Nowhere/City" })
  like(raises_kind("usage", td.cron, "* * * * *", print, { timezone = "UTC" }).message, "unknown option 'timezone'")
  like(raises_kind("usage", td.cron, "0 0 31 2 *", print).message, "never matches")
end)

test("td.retry: retries with backoff until success; some errors are never retried", function()
  local n = 0
  local v = td.retry(function(i)
    n = n + 1
    eq(i, n)
    if n < 3 then require("td.errors").raise { kind = "server", message = "flaky" } end
    return "done", n
  end, { attempts = 5, delay = 0.001, jitter = false })
  eq(v, "done")
  eq(n, 3)
  n = 0
  local e = raises_kind("auth", td.retry, function()
    n = n + 1
    require("td.errors").raise { kind = "auth", message = "bad key" }
  end, { attempts = 5, delay = 0.001 })
  eq(n, 1)
  eq(e.attempts, nil)
  n = 0
  e = raises_kind("server", td.retry, function()
    n = n + 1
    require("td.errors").raise { kind = "server", message = "down" }
  end, { attempts = 3, delay = 0.001, backoff = 1.5, max_delay = 0.002 })
  eq(n, 3)
  eq(e.attempts, 3)
  n = 0
  raises_kind("server", td.retry, function()
    n = n + 1
    require("td.errors").raise { kind = "server", message = "down" }
  end, { attempts = 3, delay = 0.001, retry_if = function(err, i) return err.kind == "server" and i < 2 end })
  eq(n, 2)
  like(raises_kind("usage", td.retry, print, { attempt = 3 }).message, "did you mean 'attempts'")
end)

test("td.timeout returns the results in time, raises timeout and cancels the work otherwise", function()
  eq(select("#", td.timeout(1, function(a, b) return a + b, "x" end, 1, 2)), 2)
  eq(td.timeout("1s", function(a, b) return a + b end, 1, 2), 3)
  local after = false
  local e = raises_kind("timeout", td.timeout, 0.05, function() td.sleep(0.3) after = true end)
  like(e.message, "within 0%.05s")
  td.sleep(0.4)
  eq(after, false, "the cancelled function went on running")
  -- a request in flight is dropped
  t.reset()
  t.fault { path = "^/v3/database/list", delay = 1 }
  local c = t.client()
  raises_kind("timeout", td.timeout, 0.1, function() return c:databases() end)
  t.reset()
  raises_kind("usage", td.timeout, "soon", print)
end)

test("td.race returns the first function to finish and cancels the others", function()
  local slow_done = false
  local i, v = td.race(function() td.sleep(0.3) slow_done = true return "slow" end,
                       function() td.sleep(0.01) return "fast" end)
  eq(i, 2)
  eq(v, "fast")
  td.sleep(0.4)
  eq(slow_done, false)
  local e = t.raises(td.race, function() error("first", 0) end, function() td.sleep(1) end)
  eq(e, "first")
  raises_kind("usage", td.race)
end)

test("async.cancel ends a task: its waiters wake and late wake-ups are ignored", function()
  local async = require "td.async"
  local task = td.spawn(function() td.sleep(0.2) return 1 end)
  td.sleep(0.01)
  ok(async.cancel(task, "stopped"))
  eq(task.status, "failed")
  eq(t.raises(td.wait, task), "stopped")
  td.sleep(0.3) -- the task's timer fires into nothing
  eq(async.cancel(task), false)
end)

test("td.cron runs fn at the next matching time with that time, and ends when fn returns false", function()
  local code, out, err = t.run("-e " .. t.sh_quote([[
    local real, c0 = os.time, os.time()
    os.time = function(tt) if tt then return real(tt) end return 1795341659 + (real() - c0) end
    local task = td.cron("* * * * *", function(at) print("run", at) return false end, { tz = "Asia/Tokyo" })
    print(task.status)]]), { TD_CONFIG_PATH = "/nonexistent" })
  eq(code, 0, err)
  eq(out, "running\nrun\t1795341660\n")
end)
