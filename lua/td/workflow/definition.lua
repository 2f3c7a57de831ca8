--- td.workflow.definition: the Workflow object (a workflow definition in
-- one project revision). Fields are the API's (id, name, project,
-- revision, timezone, config - the .dig file as JSON) plus project_name.
-- Set up by the object model (td/object.lua): wrap, summary.
-- Methods: start, session_time, schedule, sessions, attempts.
local base = require "td.workflow.base"

local M = {}

local Workflow = base.class {
  name = "td.workflow.definition", kind = "workflow",
  fill = function(w) w.project_name = type(w.project) == "table" and w.project.name or nil end,
  summary = function(w)
    return ("%s %s/%s rev %s"):format(w.id, w.project_name or "?", w.name or "?", w.revision or "?")
  end,
}
M.Workflow = Workflow

--- Wrap a RestWorkflowDefinition JSON object for a client.
M.wrap = Workflow.wrap
M.is = Workflow.is

local function check(self, name) return Workflow.check(self, name) end

--- workflow:start{session_time =, params =, retry_name =, if_exists =} ->
-- Attempt (see client.workflow:start).
function Workflow:start(opts)
  local c = check(self, "start")
  return c.workflow:start(self.project, self, opts)
end

--- workflow:session_time(time, mode) -> the session time the server makes
-- of `time` ("now", epoch seconds, a zoned or local time) with mode nil,
-- "hour", "day", "schedule" or "next_schedule".
function Workflow:session_time(time, mode)
  local c = check(self, "session_time")
  return c.workflow:truncated_session_time(self, time, mode).session_time
end

--- workflow:schedule() -> this workflow's Schedule (not_found when none).
function Workflow:schedule()
  local c = check(self, "schedule")
  return require("td.workflow.schedule").find(c, self.project.id, self.project_name, self.name)
end

--- workflow:sessions{...} - iterate over this workflow's sessions, newest first.
function Workflow:sessions(opts)
  local c = check(self, "sessions")
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.project, o.workflow = self.project.id, self.name
  return c.workflow:sessions(o)
end

--- workflow:attempts{include_retried =, ...} - iterate over this workflow's
-- attempts, newest first.
function Workflow:attempts(opts)
  local c = check(self, "attempts")
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.project, o.workflow = self.project_name or self.project.id, self.name
  return c.workflow:attempts(o)
end

return M
