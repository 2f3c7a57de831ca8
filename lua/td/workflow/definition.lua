--- td.workflow.definition: the Workflow object (a workflow definition in
-- one project revision). Fields are the API's (id, name, project,
-- revision, timezone, config - the .dig file as JSON) plus project_name.
-- Methods: start, session_time, schedule, sessions, attempts.
local errors = require "td.errors"
local base = require "td.workflow.base"

local M = {}

local Workflow = {}
base.class(Workflow)
Workflow.__name = "td.workflow.definition"
M.Workflow = Workflow

--- Wrap a RestWorkflowDefinition JSON object for a client.
function M.wrap(client, t)
  local w = setmetatable(base.fields(t), Workflow)
  w.project_name = type(w.project) == "table" and w.project.name or nil
  return base.bind(w, client)
end

function M.is(v) return getmetatable(v) == Workflow end

function Workflow.__tostring(w)
  return ("td.workflow.definition(%s %s/%s rev %s)"):format(w.id, w.project_name or "?", w.name or "?", w.revision or "?")
end

local function check(self, name)
  if getmetatable(self) ~= Workflow then
    errors.raise { kind = "usage", message = ("bad self to 'workflow:%s' (a workflow expected; call it with ':')"):format(name) }
  end
  return base.client_of(self, "workflow:" .. name)
end

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
