--- td.workflow.project: the Project object.
-- Fields are the API's (id, name, revision, createdAt, updatedAt,
-- deletedAt, archiveType, archiveMd5, metadata) and their snake_case names.
-- Set up by the object model (td/object.lua): wrap, refresh, summary.
-- Methods: refresh, revisions, workflows, workflow, schedules, schedule,
-- sessions, attempts, start, enable, disable (every schedule of the
-- project), secrets, set_secret, delete_secret, download, delete.
local base = require "td.workflow.base"

local M = {}

local Project = base.class {
  name = "td.workflow.project", kind = "project",
  fetch = function(c, p) return (base.request(c, { path = base.path("/api/projects/%s", p.id) })) end,
  summary = function(p)
    return ("%s %s rev %s%s"):format(p.id, p.name or "?", p.revision or "?", p.deletedAt and ", deleted" or "")
  end,
}
M.Project = Project

--- Wrap a RestProject JSON object for a client.
M.wrap = Project.wrap
M.is = Project.is

local function check(self, name)
  return Project.check(self, name).workflow
end

local function with(opts, extra)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  for k, v in pairs(extra) do o[k] = v end
  return o
end

--- project:revisions{name =, limit =, page_size =} - iterate over the
-- project's revisions, newest first.
function Project:revisions(opts) return check(self, "revisions"):revisions(self, opts) end

--- project:workflows{revision =, name =, name_pattern =} - iterate over the
-- workflows of the latest (or the given) revision.
function Project:workflows(opts)
  return check(self, "workflows"):workflows(with(opts, { project = self }))
end

--- project:workflow(name, {revision =}) -> Workflow
function Project:workflow(name, opts) return check(self, "workflow"):workflow(self, name, opts) end

--- project:schedules{workflow =} - iterate over the project's schedules.
function Project:schedules(opts)
  return check(self, "schedules"):schedules(with(opts, { project = self }))
end

--- project:schedule(workflow_name) -> Schedule
function Project:schedule(name)
  return check(self, "schedule"):schedule { project = self, workflow = name }
end

--- project:sessions{workflow =, limit =} - iterate over sessions, newest first.
function Project:sessions(opts)
  return check(self, "sessions"):sessions(with(opts, { project = self }))
end

--- project:attempts{workflow =, include_retried =, limit =} - iterate over
-- attempts, newest first.
function Project:attempts(opts)
  return check(self, "attempts"):attempts(with(opts, { project = self }))
end

--- project:start(workflow, {session_time =, params =, ...}) -> Attempt
function Project:start(workflow, opts) return check(self, "start"):start(self, workflow, opts) end

--- project:enable{skip_schedule = true, next_time =} -> the project's
-- schedules, each enabled (see schedule:enable).
function Project:enable(opts)
  local wf = check(self, "enable")
  local out = {}
  for s in wf:schedules { project = self } do out[#out + 1] = s:enable(opts) end
  return out
end

--- project:disable() -> the project's schedules, each disabled.
function Project:disable()
  local wf = check(self, "disable")
  local out = {}
  for s in wf:schedules { project = self } do out[#out + 1] = s:disable() end
  return out
end

--- project:secrets() -> array of the secret keys (values are never returned).
function Project:secrets() return check(self, "secrets"):secrets(self) end

--- project:set_secret(key, value)
function Project:set_secret(key, value) return check(self, "set_secret"):set_secret(self, key, value) end

--- project:delete_secret(key)
function Project:delete_secret(key) return check(self, "delete_secret"):delete_secret(self, key) end

--- project:download(dir_or_file, {revision =}) (see client.workflow:download)
function Project:download(target, opts) return check(self, "download"):download(self, target, opts) end

--- project:delete() - delete the project (its schedules stop); returns it
-- with deletedAt set.
function Project:delete() return check(self, "delete"):delete_project(self) end

return M
