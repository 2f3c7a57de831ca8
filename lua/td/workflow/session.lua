--- td.workflow.session: the Session object (a workflow at one session time).
-- Fields are the API's (id, project, workflow, sessionUuid, sessionTime,
-- lastAttempt) and their snake_case names, plus project_name,
-- workflow_name, session_epoch and `status` (the last attempt's status, or
-- "pending" when there is none). Set up by the object model (td/object.lua):
-- wrap, refresh, summary. Methods: refresh, attempts, latest_attempt.
local base = require "td.workflow.base"
local attempt = require "td.workflow.attempt"

local M = {}

local Session = base.class {
  name = "td.workflow.session", kind = "session",
  fill = function(s)
    s.project_name = type(s.project) == "table" and s.project.name or nil
    s.workflow_name = type(s.workflow) == "table" and s.workflow.name or nil
    local last = s.lastAttempt
    if type(last) == "table" then
      last.status = attempt.status_of(last)
      s.status = last.status
    else
      s.status = "pending"
    end
  end,
  fetch = function(c, s) return (base.request(c, { path = base.path("/api/sessions/%s", s.id) })) end,
  summary = function(s)
    return ("%s %s/%s %s %s"):format(s.id, s.project_name or "?", s.workflow_name or "?", s.sessionTime or "?", s.status or "?")
  end,
}
M.Session = Session

--- Wrap a RestSession JSON object for a client.
M.wrap = Session.wrap

local function check(self, name) return Session.check(self, name) end

--- GET /api/sessions/{id} -> Session
function M.get(client, id)
  return M.wrap(client, (base.request(client, { path = base.path("/api/sessions/%s", id) })))
end

--- session:attempts{limit =, page_size =, last_id =} - iterate over the
-- session's attempts (retries included), newest first.
function Session:attempts(opts)
  local c = check(self, "attempts")
  opts = base.opts("session:attempts", opts, { limit = true, page_size = true, last_id = true })
  return base.pages("session:attempts", function(last, size)
    local d = base.request(c, {
      path = base.path("/api/sessions/%s/attempts", self.id), query = { last_id = last, page_size = size },
    })
    local out = {}
    for i, t in ipairs(d.attempts or {}) do out[i] = attempt.wrap(c, t) end
    return out
  end, opts)
end

--- session:latest_attempt() -> the session's latest Attempt (nil when none;
-- the field `last_attempt` holds the summary the list gave).
function Session:latest_attempt()
  local c = check(self, "latest_attempt")
  local last = self.lastAttempt
  if type(last) ~= "table" or not last.id then return nil end
  return attempt.wrap(c, (base.request(c, { path = base.path("/api/attempts/%s", last.id), expect = attempt.shape })))
end

return M
