-- nightly_etl.lua: a multi-step ETL that survives being killed.
--
--   tdlua --journal /var/lib/etl/2026-11-21.journal --lock /var/lib/etl/nightly.lock \
--         examples/nightly_etl.lua 2026-11-21
--
-- Each td.step runs once per journal. Kill it (kill -9, a reboot, a failed
-- step) and run the same command again: finished steps are skipped and
-- return what they returned the first time; a step that was cut short
-- re-attaches to the job or workflow attempt it had already started in TD
-- instead of starting another. Nothing is done twice.
-- With ALERT_URL set, a failure posts an alert there (td.on_error).
local day = arg[1] or os.date("!%Y-%m-%d", os.time() - 86400)
local alert = os.getenv("ALERT_URL")

if alert and alert ~= "" then
  td.on_error(function(err, status)
    td.notify(alert, ("nightly ETL for %s failed (exit status %d): %s"):format(day, status, tostring(err)))
  end)
end

local range = ("TD_TIME_RANGE(time, '%s', TD_TIME_ADD('%s', '1d'))"):format(day, day)

-- 1. stage the day's raw rows
local staged = td.step("stage", function()
  local job = td.query("INSERT INTO pageviews_stage SELECT * FROM pageviews WHERE " .. range, { db = "web" })
  job:wait { timeout = 3600 }
  return job.job_id                           -- recorded in the journal
end)

-- 2. aggregate them
local report = td.step("aggregate", function()
  local job = td.query("SELECT country, COUNT(1) AS pv FROM pageviews WHERE " .. range
    .. " GROUP BY 1 ORDER BY 2 DESC", { db = "web" }):wait { timeout = 3600 }
  return { job_id = job.job_id, rows = job.num_records }
end)

-- 3. publish through the workflow (one attempt per day's session)
local attempt_id = td.step("publish", function()
  local a = td.client().workflow:start("etl", "daily", { session_time = day, if_exists = "return" })
  return a:wait { timeout = 7200 }.id
end)

td.log.info("nightly ETL for %s done: staged by job %s, %d countries (job %s), published by attempt %s",
  day, staged, report.rows, report.job_id, attempt_id)
