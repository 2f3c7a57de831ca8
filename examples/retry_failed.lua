-- examples/retry_failed.lua: retry the last day's failed workflow attempts
-- of a project, all at once, and report how each retry ended.
--
--   tdlua examples/retry_failed.lua [project]          (asks first)
--   tdlua --yes examples/retry_failed.lua [project]    (from cron)
--
-- Each retry resumes from the failed tasks only (tasks that succeeded are
-- not run again) with the original session time and parameters. The exit
-- status is non-zero when any retry failed.
local project = arg[1] or "etl"
local wf = td.client().workflow
local since = os.time() - 86400
local failed = {}
for a in wf:attempts { project = project } do
  if td.time.parse(a.createdAt) < since then break end   -- newest first
  if a.status == "error" then failed[#failed + 1] = a end
end
if #failed == 0 then return print("nothing to retry") end
td.confirm(("Retry %d failed attempts?"):format(#failed))
-- collect = true: every outcome comes back (td.map would otherwise raise one
-- error listing the failures)
local results = td.map(failed, function(a)
  return a:retry { resume = "failed" }:wait { timeout = 7200 }
end, { concurrency = 8, collect = true })
local bad = 0
for i, r in ipairs(results) do
  print(failed[i].id, r.ok and r.value.status or tostring(r.err))
  if not r.ok then bad = bad + 1 end
end
if bad > 0 then error(("%d of %d retries failed"):format(bad, #results), 0) end
