--- td.workflow.session: the Session object (a workflow at one session time).
-- Fields are the API's (id, project, workflow, sessionUuid, sessionTime,
-- lastAttempt) and their snake_case names, plus project_name,
-- workflow_name, session_epoch and `status` (the last attempt's status, or
-- "pending" when there is none). Methods: refresh, attempts, latest_attempt.
local errors = require "td.errors"
local base = require "td.workflow.base"
local attempt = require "td.workflow.attempt"

local M = {}

local Session = {}
base.class(Session)
Session.__name = "td.workflow.session"
M.Session = Session

local function fill(s, t)
  base.fields(t, s)
  s.project_name = type(s.project) == "table" and s.project.name or nil
  s.workflow_name = type(s.workflow) == "table" and s.workflow.name or nil
  local last = s.lastAttempt
  if type(last) == "table" then
    last.status = attempt.status_of(last)
    s.status = last.status
  else
    s.status = "pending"
  end
  return s
end

--- Wrap a RestSession JSON object for a client.
function M.wrap(client, t)
  return base.bind(fill(setmetatable({}, Session), t), client)
end

function Session.__tostring(s)
  return ("td.workflow.session(%s %s/%s %s %s)"):format(s.id, s.project_name or "?", s.workflow_name or "?",
    s.sessionTime or "?", s.status or "?")
end

local function check(self, name)
  if getmetatable(self) ~= Session then
    errors.raise { kind = "usage", message = ("bad self to 'session:%s' (a session expected; call it with ':')"):format(name) }
  end
  return base.client_of(self, "session:" .. name)
end

--- GET /api/sessions/{id} -> Session
function M.get(client, id)
  return M.wrap(client, (base.request(client, { path = base.path("/api/sessions/%s", id) })))
end

--- session:refresh() - reload the session.
function Session:refresh()
  local c = check(self, "refresh")
  local d = base.request(c, { path = base.path("/api/sessions/%s", self.id) })
  for k in pairs(self) do self[k] = nil end
  fill(self, d)
  return self
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
  return attempt.wrap(c, (base.request(c, { path = base.path("/api/attempts/%s", last.id) })))
end

return M
