--- td.loops: repeating runs (td.every, td.cron) for unattended scripts.
-- A loop is a task. Its runs are scheduled on a fixed grid (the interval
-- from the first run, or the cron times), so they do not drift however
-- long each run takes. A run still going when the next time comes makes
-- that time be skipped, with a warning in the log (runs never overlap).
-- SIGINT/SIGTERM stop loops cleanly: the current run finishes, no new one
-- starts, and the script ends with status 0; a second signal interrupts at
-- once (status 130). A script that started loops keeps running until they
-- end (tdlua waits for them after the script's last line).
local async = require "td.async"
local core = require "td.core"
local errors = require "td.errors"

local M = {}
local host = package.loaded["td.host"] or {}

local loops = {}  -- running loop tasks
local nloops = 0

local function log() return require("td.log") end

local function stop_requested()
  return host.stop_requested and host.stop_requested() or false
end

-- sleep until the monotonic time `at`, in short slices so a requested stop
-- is seen promptly; false when a stop was requested
local function sleep_until(at)
  while true do
    if stop_requested() then return false end
    local left = at - core.now()
    if left <= 0 then return true end
    async.sleep(math.min(left, 0.25))
  end
end

local OPTS = { tz = true, on_error = true, name = true }

--- loops.run(label, first, next_after, fn, opts) -> task: the loop
-- runner. first: the monotonic time of the first run; next_after(at, now)
-- -> the next monotonic time after the run scheduled at `at` (called
-- after each run; times already past are skipped and logged).
-- opts.on_error: "stop" (default: the loop's task fails with the error,
-- and so does the script) or "continue" (log it and keep going).
local function run(label, first, next_after, fn, opts)
  local on_error = opts.on_error or "stop"
  if on_error ~= "stop" and on_error ~= "continue" then
    errors.raise { kind = "usage", message = ("bad argument 'on_error' to '%s' (\"stop\" or \"continue\" expected, got %q)"):format(label, tostring(on_error)) }
  end
  local name = opts.name or label
  local task
  task = async.spawn(function()
    nloops = nloops + 1
    if host.defer_stops then host.defer_stops(true) end
    local function leave()
      nloops = nloops - 1
      loops[task] = nil
      if nloops == 0 and host.defer_stops then host.defer_stops(false) end
    end
    local ok, err = pcall(function()
      local at = first
      while true do
        if not sleep_until(at) then break end
        local ok2, r = pcall(fn, at)
        if not ok2 then
          if on_error == "continue" and not errors.is(r, "interrupted") then
            log().error("%s: run failed: %s", name, tostring(r))
          else
            error(r, 0)
          end
        elseif r == false then
          break
        end
        if stop_requested() then break end
        local t = core.now()
        local nxt = next_after(at, t)
        local skipped = 0
        while nxt and nxt <= t do
          skipped = skipped + 1
          nxt = next_after(nxt, t)
        end
        if skipped > 0 then
          log().warn("%s: the run took %s; skipped %d overlapping run%s", name,
            require("td.progress").clock(t - at), skipped, skipped == 1 and "" or "s")
        end
        if not nxt then break end
        at = nxt
      end
    end)
    leave()
    if stop_requested() then log().info("%s: stopped on a signal after the current run", name) end
    if not ok then error(err, 0) end
  end)
  loops[task] = true
  return task
end

--- td.every(interval, fn, {on_error =, name =}) -> task: run fn() now and
-- then every interval (seconds or a duration such as "10m", "1h30m"),
-- without drift; fn returning false ends the loop. A failing fn stops the
-- loop (the task fails) unless on_error = "continue".
function M.every(interval, fn, opts)
  local secs = async.duration(interval)
  if not secs or secs <= 0 then
    errors.raise { kind = "usage", message = "td.every: interval must be seconds or a duration like \"10m\"" }
  end
  errors.check("td.every", "fn", fn, "function")
  opts = errors.opts("td.every", opts, OPTS) or {}
  return run("td.every", core.now(), function(at) return at + secs end, function() return fn() end, opts)
end

--- td.cron(expr, fn, {tz = "Asia/Tokyo", on_error =, name =}) -> task: run
-- fn() at every time the five-field cron expression matches (td.cron
-- expressions: ranges, steps, lists, names, @daily ...), read in the
-- time zone tz (an IANA name from the system's zoneinfo; the system's
-- local zone by default). fn(t) gets the scheduled time (epoch seconds).
-- Returning false ends the loop; a failing fn stops it unless on_error =
-- "continue".
function M.cron(expr, fn, opts)
  local c = require("td.cron").parse(expr)
  errors.check("td.cron", "fn", fn, "function")
  opts = errors.opts("td.cron", opts, OPTS) or {}
  local zone = require("td.zoneinfo").load(opts.tz)
  -- wall-clock times mapped onto the monotonic clock
  local sched = {}
  local function mono(wall) return core.now() + (wall - os.time()) end
  local function next_from(wall)
    local w = c:next(wall, zone)
    if not w then return nil end
    local m = mono(w)
    sched[m] = w
    return m
  end
  local first = next_from(os.time())
  if not first then
    errors.raise { kind = "usage", message = ("td.cron: %q never matches"):format(expr) }
  end
  local label = ("td.cron %q"):format(expr)
  return run(label, first, function(at)
    local w = sched[at]
    sched[at] = nil
    return next_from(w or os.time())
  end, function(at) return fn(sched[at]) end, opts)
end

--- loops.wait_all(): wait for every running loop (the host calls this after
-- the script's last line). Raises the first loop's failure.
function M.wait_all()
  while next(loops) do
    local t = next(loops)
    loops[t] = nil
    async.wait(t)
  end
end

return M
