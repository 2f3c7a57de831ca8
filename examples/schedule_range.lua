-- examples/schedule_range.lua: run a scheduled query for every scheduled
-- time in a date range, a few at a time, and wait for all of them.
--
--   tdlua examples/schedule_range.lua daily_kpi 2026-11-01 2026-11-08 [concurrency]
--
-- The times are the schedule's own (its cron in its time zone), from the
-- first date included to the second excluded. Each time runs once: run the
-- script again (after a crash, a kill, or by mistake) and it finds the jobs
-- the first run started instead of starting them twice; a time whose job
-- failed is run again. One log line per finished run on stderr; the
-- summary on stdout; exit status 1 when a run failed.
local name, from, to = arg[1], arg[2], arg[3]
if not (name and from and to) then
  io.stderr:write("usage: tdlua schedule_range.lua SCHEDULE FROM TO [CONCURRENCY]\n")
  os.exit(2)
end
local summary = td.run_schedule_range(name, from, to, {
  concurrency = tonumber(arg[4]) or 4,   -- TD runs 30 tasks per account at most: keep it small
  wait = { timeout = 6 * 3600 },         -- per job
  on_failure = "return",                 -- report, then decide
})
print(summary)                           -- "schedule daily_kpi: 7 runs from ... : 7 success"
if not summary.ok then os.exit(1) end
