-- examples/kill_long_jobs.lua: kill running jobs older than a limit.
--
--   tdlua --dry-run examples/kill_long_jobs.lua 3600   (rehearse: prints the kills)
--   tdlua examples/kill_long_jobs.lua 3600             (kills)
local limit = tonumber(arg[1]) or 3600
for job in td.jobs { status = "running" } do
  if job.duration and job.duration > limit then
    td.log.warn("killing %s after %ds: %s", job.job_id, job.duration, job.query:sub(1, 60))
    job:kill()                                -- printed, not sent, under --dry-run
  end
end
