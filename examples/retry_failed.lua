-- examples/retry_failed.lua: retry the last day's failed workflow attempts
-- of a project, all at once, and report how each retry ended.
--
--   tdlua examples/retry_failed.lua [project]          (asks first)
--   tdlua --yes examples/retry_failed.lua [project]    (from cron)
--
-- Each retry resumes from the failed tasks only (tasks that succeeded are
-- not run again) with the original session time and parameters.
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
local results = td.map(failed, function(a)
  return a:retry { resume = "failed" }:wait { timeout = 7200 }
end, { concurrency = 8 })
for i, r in ipairs(results) do
  print(failed[i].id, r.ok and r.value.status or tostring(r.err))
end
