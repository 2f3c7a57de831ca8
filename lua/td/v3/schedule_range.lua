--- td.v3.schedule_range: run a scheduled query for every scheduled time in
-- a range (a backfill of a v3 schedule), each time exactly once.
--
-- The times are the schedule's own: its cron expression (td.cron) in its
-- time zone (td.zoneinfo), from <= t < to. Each time is run with
-- POST /v3/schedule/run/<name>/<t> (num = 1) and a domain_key that is
-- derived from the schedule's name and the time, never random:
--   tdlua-range-<name>-<t>[-<key>][-r<n>]
-- TD keeps one job per domain_key, so a second run of the same range —
-- after a crash, a kill -9, a lost reply, or simply run twice — finds the
-- job each time already has (GET /v3/job/status_by_domain_key) and waits
-- for it instead of starting the time again. This is the submission path's
-- own idempotency, which a look at the schedule's history cannot give: a
-- run whose reply was lost is not known to have happened, and history
-- does not say which runs a range run started.
-- A time whose job failed or was killed is run again (rerun_failed), with
-- the next key in its chain (-r1, -r2, ...), which a later re-run finds in
-- the same way; pass `key` to start a range over on purpose.
local errors = require "td.errors"
local args = require "td.v3.args"
local tdtime = require "td.time"
local jobmod = require "td.v3.job"
local cron = require "td.cronexpr" -- the one cron parser and zoneinfo reader
local zoneinfo = { load = cron.zone }
local async = require "td.async"
local core = require "td.core"

local M = {}
local usage = args.usage

local KNOWN = { concurrency = true, wait = true, key = true, rerun_failed = true, max_runs = true,
  on_failure = true, log = true, progress = true }
local WAIT_KNOWN = { timeout = true, interval = true, max_interval = true, progress = true }
local MAX_RERUNS = 20

local function time_arg(argname, v)
  if type(v) == "number" then return math.floor(v) end
  if type(v) == "string" then
    local t = tdtime.parse(v)
    if type(t) == "number" then return math.floor(t) end
    usage(("run_schedule_range: cannot read %s %q (epoch seconds, \"2026-11-01\" or \"2026-11-01 10:00:00 UTC\")")
      :format(argname, v))
  end
  usage(("bad argument '%s' to 'run_schedule_range' (number or string expected, got %s)")
    :format(argname, v == nil and "no value" or type(v)))
end

-- FNV-1a, 32 bits: keeps keys short and free of odd characters
local function fnv(s)
  local h = 2166136261
  for i = 1, #s do h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff end
  return ("%08x"):format(h)
end

--- The domain_key of scheduled time t of schedule `name` (rerun n > 0 is
-- the n-th run after a failed one).
function M.range_key(name, t, key, n)
  local safe = name:gsub("[^%w_%-]", "_")
  if safe ~= name or #safe > 60 then safe = safe:sub(1, 60) .. "_" .. fnv(name) end
  local k = ("tdlua-range-%s-%d"):format(safe, t)
  if key then k = k .. "-" .. key end
  if n and n > 0 then k = k .. "-r" .. n end
  return k
end

local Summary = {}
Summary.__index = Summary
Summary.__name = "td.schedule_range"

--- tostring(summary): one line of counts, then one line per failed run.
function Summary.__tostring(s)
  local lines = { ("schedule %s: %d run%s from %s to %s: %s"):format(s.schedule, s.count, s.count == 1 and "" or "s",
    tdtime.format(s.from), tdtime.format(s.to), s:counts()) }
  for _, r in ipairs(s.runs) do
    if not r.ok then
      lines[#lines + 1] = ("  %s  job %s  %s"):format(tdtime.format(r.scheduled_at), tostring(r.job_id or "-"),
        r.err and tostring(r.err) or tostring(r.status))
    end
  end
  return table.concat(lines, "\n")
end

--- summary:counts() -> "5 success, 1 error (2 already run)" and the like.
function Summary:counts()
  local by, order = {}, {}
  for _, r in ipairs(self.runs) do
    local st = r.status or "?"
    if not by[st] then by[st] = 0; order[#order + 1] = st end
    by[st] = by[st] + 1
  end
  local parts = {}
  for _, st in ipairs(order) do parts[#parts + 1] = by[st] .. " " .. st end
  local s = #parts > 0 and table.concat(parts, ", ") or "nothing to run"
  if self.reused > 0 then s = s .. (" (%d already run)"):format(self.reused) end
  return s
end

--- summary:check() -> summary, or raises when a run failed: the first
-- failure's kind (job_failed, job_killed, timeout, ...), a message that
-- counts the failures, err.summary = the summary. For scripts that print
-- the summary first: `print(s); s:check()`.
function Summary:check()
  if self.ok then return self end
  local first
  for _, r in ipairs(self.runs) do if not r.ok then first = r; break end end
  local e = first.err
  errors.raise {
    kind = errors.is(e) and e.kind or "job_failed",
    job_id = first.job_id, summary = self,
    message = ("%d of %d runs of schedule %s failed (first: %s: %s)"):format(self.failed, self.count, self.schedule,
      tdtime.format(first.scheduled_at), errors.is(e) and e.message or tostring(e)),
  }
end

--- client:run_schedule_range(name, from, to, {concurrency = 4, wait = true,
-- key =, rerun_failed = true, max_runs = 1000, on_failure = "raise",
-- log = true, progress =}) -> summary
-- Runs schedule `name` once for every time its cron names in
-- [from, to) (epoch seconds or strings td.time.parse reads: "2026-11-01",
-- "2026-11-01 10:00:00 UTC"; `to` is exclusive), in the schedule's time
-- zone, at most `concurrency` at a time, each as one job.
--   wait: true (default) waits for every job (a table is passed to
--     job:wait: timeout, interval, max_interval, progress); false only
--     starts them.
--   Idempotent: a time that already has a job from an earlier run of the
--     same range (same schedule, same time, same `key`) is not run again;
--     its job is waited for. rerun_failed (default true) runs a time again
--     when its job failed or was killed. key: a word that starts a fresh
--     set of runs (letters, digits, '_' and '-').
--   max_runs: a range naming more times raises a `usage` error before
--     anything runs (a guard against "* * * * *" over a year).
--   on_failure: "raise" (default) raises after all runs are done when
--     any failed (summary:check(): the first failure's kind, job_failed for
--     a failed job; err.summary holds the summary); "return" returns the
--     summary either way.
--   log: one td.log line per finished run (default true). progress: runs
--     finished so far, live on a terminal, a log line a minute otherwise
--     (td.progress); false: none.
-- Returns a summary: {schedule, cron, timezone, from, to, count, ok,
-- reused, submitted, failed, elapsed, runs = { {scheduled_at, job_id,
-- job, status, ok, err, reused, reruns, domain_key}, ... }} in time
-- order; tostring(summary) is a short report (failed runs listed).
-- Schedules without a cron (cron "") have no scheduled times: `usage`.
--   local s = c:run_schedule_range("daily_kpi", "2026-11-01", "2026-11-08", { concurrency = 3 })
--   print(s)
function M:run_schedule_range(name, from, to, opts)
  args.name("run_schedule_range", "name", name)
  local t0, t1 = time_arg("from", from), time_arg("to", to)
  local o = args.opts("run_schedule_range", opts, KNOWN)
  args.fields("run_schedule_range", o, { concurrency = "integer", key = "string", rerun_failed = "boolean",
    max_runs = "integer", on_failure = "string", log = "boolean", progress = "boolean" })
  if t1 <= t0 then usage("run_schedule_range: `to` must be after `from` (the range is from <= t < to)") end
  local conc = o.concurrency or 4
  if conc < 1 then usage("run_schedule_range: concurrency must be at least 1") end
  if o.key ~= nil and not o.key:match("^[%w_%-]+$") then
    usage(("run_schedule_range: key must be letters, digits, '_' or '-' (got %q)"):format(o.key))
  end
  if o.on_failure ~= nil and o.on_failure ~= "raise" and o.on_failure ~= "return" then
    usage(("run_schedule_range: on_failure must be \"raise\" or \"return\" (got %q)"):format(o.on_failure))
  end
  local wait, wait_opts = o.wait, nil
  if wait == nil then wait = true end
  if type(wait) == "table" then
    wait_opts = args.opts("run_schedule_range", wait, WAIT_KNOWN, "wait")
    wait = true
  elseif type(wait) ~= "boolean" then
    usage("run_schedule_range: wait must be true, false or a table of job:wait options")
  end
  local rerun_failed = o.rerun_failed ~= false
  local max_runs = o.max_runs or 1000

  local sched = self:schedule(name)
  if not sched.cron or sched.cron == "" then
    usage(("run_schedule_range: schedule %s has no cron, so no scheduled times (run it with run_schedule)"):format(name))
  end
  local tz = sched.timezone
  if tz == nil or tz == "" then tz = "UTC" end
  local expr, zone = cron.parse(sched.cron), zoneinfo.load(tz)
  local times = {}
  local x = expr:next(t0 - 1, zone)
  while x and x < t1 do
    if #times == max_runs then
      usage(("run_schedule_range: schedule %s (cron %q) has more than max_runs = %d runs in the range")
        :format(name, sched.cron, max_runs))
    end
    times[#times + 1] = x
    x = expr:next(x, zone)
  end

  local log = o.log ~= false and require("td.log") or nil
  local started = core.now()
  local summary = setmetatable({
    schedule = name, cron = sched.cron, timezone = tz, from = t0, to = t1, count = #times,
    runs = {}, reused = 0, submitted = 0, failed = 0, ok = true,
  }, Summary)

  local function status_of(key)
    local okk, st = pcall(self.job_status_by_domain_key, self, key)
    if okk then return st end
    if errors.is(st, "not_found") then return nil end
    error(st, 0)
  end

  local function run_one(t, run)
    local n = 0
    while true do
      local key = M.range_key(name, t, o.key, n)
      run.domain_key = key
      local st = status_of(key)
      if st and rerun_failed and (st.status == "error" or st.status == "killed") then
        n = n + 1
        if n > MAX_RERUNS then
          errors.raise { kind = "job_failed", job_id = st.job_id and tostring(st.job_id),
            message = ("run_schedule_range: %s at %s failed %d times; not running it again")
              :format(name, tdtime.format(t), MAX_RERUNS) }
        end
      else
        local job
        if st then
          job = jobmod.wrap(self, { job_id = tostring(st.job_id), status = st.status, domain_key = key, scheduled_at = tdtime.format(t) })
          run.reused = true
        else
          job = self:run_schedule(name, t, { num = 1, domain_key = key })[1]
          if not job then -- --dry-run: nothing was sent
            run.status = "dry_run"
            run.reruns = n
            return run
          end
        end
        run.reruns = n
        run.job, run.job_id = job, job.job_id
        if wait then
          local w = { progress = false }
          for k, v in pairs(wait_opts or {}) do w[k] = v end
          job:wait(w)
        end
        run.status = job.status
        return run
      end
    end
  end

  -- progress: runs finished so far, live on a terminal, a log line a
  -- minute otherwise
  local progress = require "td.progress"
  local bar = progress.new(o.progress, "schedule " .. name)
  local finished, failed = 0, 0
  local results = async.map(times, function(t)
    local run = { scheduled_at = t, reused = false, reruns = 0 }
    local okr, err = pcall(run_one, t, run)
    run.ok = okr
    if not okr then
      run.err = err
      run.status = errors.is(err, "job_failed") and "error" or errors.is(err, "job_killed") and "killed"
        or (errors.is(err) and err.kind) or "error"
      run.job_id = run.job_id or (errors.is(err) and err.job_id) or nil
    end
    finished = finished + 1
    if not run.ok then failed = failed + 1 end
    bar:update("%d of %d runs finished%s, %s", finished, #times, failed > 0 and (", %d failed"):format(failed) or "",
      progress.clock(core.now() - started))
    if log then
      if run.ok then
        log.info("%s %s: job %s %s%s", name, tdtime.format(t), tostring(run.job_id or "-"), tostring(run.status),
          run.reused and " (already run)" or (run.reruns > 0 and (" (run again after %d failure%s)"):format(run.reruns, run.reruns == 1 and "" or "s") or ""))
      else
        log.warn("%s %s: %s", name, tdtime.format(t), tostring(run.err))
      end
    end
    return run
  end, { concurrency = conc })

  bar:done()
  for i, r in ipairs(results) do
    local run = r.ok and r.value or { scheduled_at = times[i], ok = false, err = r.err, status = "error" }
    summary.runs[i] = run
    if run.reused then summary.reused = summary.reused + 1
    elseif run.job_id then summary.submitted = summary.submitted + 1 end
    if not run.ok then
      summary.failed = summary.failed + 1
      summary.ok = false
    end
  end
  summary.elapsed = core.now() - started
  if o.on_failure ~= "return" then summary:check() end
  return summary
end

return M
