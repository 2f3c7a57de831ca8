-- examples/backfill.lua: backfill a workflow schedule, then watch the attempts.
--
--   tdlua examples/backfill.lua [project] [workflow] [from] [count]
--
-- Starts one attempt per missed schedule time from `from`, waits for all of
-- them concurrently, then draws each attempt's task timeline.
local project, workflow = arg[1] or "etl", arg[2] or "daily"
local from, count = arg[3] or "2026-11-01", tonumber(arg[4]) or 7
local sched = td.client().workflow:schedule { project = project, workflow = workflow }
local attempts = sched:backfill { from = from, count = count }
td.wait_all(attempts, { timeout = 6 * 3600 })
for _, a in ipairs(attempts) do a:timeline() end   -- a picture of each attempt's tasks
