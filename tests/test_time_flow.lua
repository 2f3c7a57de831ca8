-- td.cron loops, td.retry, td.timeout, td.race and
-- task cancellation (in process)
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local raises_kind = t.raises_kind

test("td.cron: a bad expression, zone or option is a usage error at once", function()
  raises_kind("usage", td.cron, "61 * * * *", print)
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
