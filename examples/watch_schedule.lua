-- watch_schedule.lua: watch a scheduled query and alert a webhook when one
-- of its runs fails.
--
--   tdlua --lock /tmp/watch-daily_kpi.lock examples/watch_schedule.lua daily_kpi \
--         https://hooks.slack.com/services/T000/B000/XXXX 5m
--
-- Every interval (default 5m) it reads the schedule's newest runs and posts
-- one alert per failed run it has not reported yet (td.notify: a Slack-style
-- {"text": ...} payload, retried like any request; the hook URL never shows
-- in logs). Ctrl-C or SIGTERM stops it after the current check (status 0);
-- --lock keeps a second copy from starting. If the watcher itself fails
-- (the API key revoked, TD unreachable for long), td.on_error says so on
-- the same hook before the script exits.
local name = assert(arg[1], "usage: watch_schedule.lua SCHEDULE [HOOK_URL] [INTERVAL]")
local hook = arg[2] or os.getenv("ALERT_URL")
local interval = arg[3] or "5m"
local reported = {}                              -- job ids already alerted

td.on_error(function(err)
  td.notify(hook, ("watching schedule %s stopped: %s"):format(name, tostring(err)))
end)

td.every(interval, function()
  local failed = 0
  for job in td.schedule_history(name, { limit = 20 }) do    -- newest first
    if job.status == "error" and not reported[job.job_id] then
      reported[job.job_id] = true
      failed = failed + 1
      td.notify(hook, {
        text = ("schedule %s: job %s (scheduled at %s) failed"):format(name, job.job_id, tostring(job.scheduled_at)),
      })
    end
  end
  td.log.info("checked %s: %d new failure%s", name, failed, failed == 1 and "" or "s")
end)
-- tdlua keeps running while the loop runs: it ends on a signal (or an error)
