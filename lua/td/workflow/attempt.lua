--- td.workflow.attempt: the Attempt object (one run of a workflow session).
-- Fields are the API's own (id, index, project, workflow, sessionId,
-- sessionTime, retryAttemptName, done, success, cancelRequested, params,
-- createdAt, finishedAt, status, poolId), each also under its snake_case
-- name (session_time, created_at, ...), plus project_name, workflow_name and
-- the epoch seconds created_epoch, finished_epoch, session_epoch. `status`
-- is TD's (success, error, killed, running, blocked, queued, canceling), or
-- derived as TD does when the server leaves it out.
-- Methods: refresh, wait, kill, retry, tasks, retries, session, log_files,
-- log_file, logs, follow_logs, timeline.
local core = require "td.core"
local async = require "td.async"
local errors = require "td.errors"
local progress = require "td.progress"
local base = require "td.workflow.base"

local M = {}

-- the object model (td/object.lua) gives summary(); wrap, check and
-- refresh below are this class's own
local Attempt = base.class {
  name = "td.workflow.attempt", kind = "attempt", article = "an attempt",
  summary = function(a)
    return ("%s %s/%s %s %s"):format(a.id, a.project_name or "?", a.workflow_name or "?", a.sessionTime or "?", a.status or "?")
  end,
}
M.Attempt = Attempt

local null = core.null
local FINISHED = { success = true, error = true, killed = true }
M.FINISHED = FINISHED

--- The status as TD computes it from the flags (used when `status` is absent).
function M.status_of(t)
  if type(t.status) == "string" then return t.status end
  if t.success == true then return "success" end
  if t.done == true then return t.cancelRequested == true and "killed" or "error" end
  if t.cancelRequested == true then return "canceling" end
  return "running"
end

-- an answer holding an array of objects under `field`
local function list_of(field)
  return function(d)
    local v = d[field]
    if type(v) ~= "table" then return ("no %s list in the answer"):format(field) end
    for _, x in ipairs(v) do
      if type(x) ~= "table" then return ("an item of %s that is not an object"):format(field) end
    end
    return nil
  end
end

--- What an attempt answer must hold: its id and the done flag (an answer
-- without them would otherwise read as a running attempt).
function M.shape(d)
  if d.id == nil or d.id == null then return "no attempt id in the answer" end
  if type(d.done) ~= "boolean" and type(d.status) ~= "string" then return "no done flag or status in the attempt" end
  return nil
end

local function fill(a, t)
  base.fields(t, a)
  a.status = M.status_of(t)
  a.project_name = type(a.project) == "table" and a.project.name or nil
  a.workflow_name = type(a.workflow) == "table" and a.workflow.name or nil
  return a
end

--- Wrap a RestSessionAttempt JSON object for a client.
function M.wrap(client, t)
  return base.bind(fill(setmetatable({}, Attempt), t), client)
end

function M.is(v) return getmetatable(v) == Attempt end

function Attempt.__tostring(a)
  return ("td.workflow.attempt(%s %s/%s %s %s)"):format(a.id, a.project_name or "?", a.workflow_name or "?",
    a.sessionTime or "?", a.status or "?")
end

local function check(self, name)
  if getmetatable(self) ~= Attempt then
    errors.raise { kind = "usage", message = ("bad self to 'attempt:%s' (an attempt expected; call it with ':')"):format(name) }
  end
  return base.client_of(self, "attempt:" .. name)
end

local function replace(self, t)
  for k in pairs(self) do self[k] = nil end
  fill(self, t)
end

--- attempt:refresh() - reload the attempt (GET /api/attempts/{id}).
function Attempt:refresh()
  local c = check(self, "refresh")
  replace(self, (base.request(c, { path = base.path("/api/attempts/%s", self.id), expect = M.shape })))
  return self
end

--- The failed tasks of a finished attempt: { {name =, message =}, ... }.
local function failed_tasks(self)
  local ok, tasks = pcall(self.tasks, self)
  local out = {}
  if not ok then return out end
  for _, t in ipairs(tasks) do
    if t.state == "error" then
      local msg = type(t.error) == "table" and t.error.message or nil
      out[#out + 1] = { name = t.fullName, message = msg ~= null and msg or nil }
    end
  end
  return out
end

local function describe(self)
  return ("attempt %s (%s/%s, session %s)"):format(self.id, self.project_name or "?",
    self.workflow_name or "?", self.sessionTime or "?")
end

--- Raise attempt_failed / attempt_killed for a finished, unsuccessful attempt.
local function fail(self)
  if self.status == "killed" then
    errors.raise { kind = "attempt_killed", attempt_id = self.id, attempt = self,
      message = describe(self) .. " was killed" }
  end
  local failed = failed_tasks(self)
  local first = failed[1]
  errors.raise {
    kind = "attempt_failed", attempt_id = self.id, attempt = self, failed_tasks = failed,
    message = describe(self) .. " failed" .. (first and (" at " .. first.name ..
      (first.message and (": " .. first.message) or "")) or ""),
    hint = "attempt:logs{ level = \"error\" } shows the task logs; attempt:retry{ resume = \"failed\" } reruns the failed part",
  }
end

--- attempt:wait{timeout =, interval = 1, max_interval = 30, raise = true,
-- progress =} - poll until the attempt is done (success, error or killed;
-- blocked, queued, running and canceling are not done). Sleeps with
-- td.sleep, so waits in tasks run concurrently (td.wait_all, td.map).
-- Transient errors while polling are tolerated until the timeout. Returns
-- the attempt on success; raises attempt_failed (with the failed tasks and
-- their messages), attempt_killed or timeout - unless raise = false, when
-- it returns the finished attempt whatever its status.
function Attempt:wait(opts)
  check(self, "wait")
  opts = base.opts("attempt:wait", opts, {
    timeout = true, interval = true, max_interval = true, raise = true, progress = true, concurrency = true,
  })
  local timeout = opts.timeout
  if timeout ~= nil then errors.check("attempt:wait", "timeout", timeout, "number") end
  local interval = opts.interval or 1
  errors.check("attempt:wait", "interval", interval, "number")
  local max_interval = opts.max_interval or 30
  errors.check("attempt:wait", "max_interval", max_interval, "number")
  local started = core.now()
  local deadline = timeout and started + timeout
  local bar = progress.new(opts.progress, "attempt " .. tostring(self.id))
  local ok, err = pcall(function()
    while true do
      local ok2, e = pcall(self.refresh, self)
      if not ok2 then
        if not (errors.is(e) and e.retryable) then error(e, 0) end
      elseif self.done == true or FINISHED[self.status] then
        return
      end
      bar:update("%s %s", self.status or "?", progress.clock(core.now() - started))
      local left = deadline and (deadline - core.now())
      if left and left <= 0 then
        errors.raise {
          kind = "timeout", attempt_id = self.id, retryable = false,
          message = ("%s did not finish within %gs (status %s; it keeps running)"):format(describe(self), timeout, self.status or "?"),
        }
      end
      async.sleep(left and math.min(interval, left) or interval)
      interval = math.min(interval * 1.5, max_interval)
    end
  end)
  bar:done()
  if not ok then
    if err == "interrupted" or (errors.is(err) and err.kind == "interrupted") then
      -- Ctrl-C stops the wait, not the attempt: say which one keeps running
      errors.raise { kind = "interrupted", message = "stopped by Ctrl-C", attempt_id = self.id }
    end
    error(err, 0)
  end
  if self.status ~= "success" and opts.raise ~= false then fail(self) end
  return self
end

--- attempt:kill() - ask the server to kill the attempt (POST
-- /api/attempts/{id}/kill). It finishes asynchronously: status becomes
-- canceling, then killed (attempt:wait{raise = false} waits for it).
-- Raises already_finished when the attempt is done or already being killed.
function Attempt:kill()
  local c = check(self, "kill")
  -- the identity of a kill is the attempt's cancel-requested flag: after a
  -- try that may have reached TD, the attempt itself tells whether it took
  local function took()
    local okr, fresh = pcall(base.request, c, { path = base.path("/api/attempts/%s", self.id) })
    if okr and type(fresh) == "table" and fresh.cancelRequested == true then
      replace(self, fresh)
      if self.done ~= true then self.status = "canceling" end
      return self
    end
    return nil
  end
  local ok, d, resp = pcall(base.request, c, {
    method = "POST", path = base.path("/api/attempts/%s/kill", self.id), json = {}, idempotent = true,
    identity = { attempt_id = self.id },
    resolve = took,
    describe = function()
      return ("kill attempt %s of %s/%s"):format(self.id, self.project_name or "?", self.workflow_name or "?")
    end,
  })
  if not ok then
    local e = d
    if errors.is(e, "conflict") then
      -- a 409 after a try that may have got through: our kill took when
      -- TD shows the attempt's cancel requested
      if e.maybe_sent and took() then return self end
      base.reraise(e, {
        kind = "already_finished", attempt_id = self.id,
        message = ("%s is already finished or already being killed (%s)"):format(describe(self), e.message),
        hint = "attempt:refresh().status tells which",
      })
    end
    error(e, 0)
  end
  if resp.dry_run then return self end
  if resp.resolved then return self end
  replace(self, d)
  if self.done ~= true then
    self.cancelRequested, self.cancel_requested = true, true
    self.status = "canceling"
  end
  return self
end

local RESUME = { failed = true, all = true }
local RETRY_OPTS = { resume = true, revision = true, params = true, name = true, allow_queueing = true }

--- The workflow id a retry runs: "latest" (the default: the workflow of
-- that name in the project's latest revision), "keep" (the same definition
-- as the original) or a revision name.
local function retry_workflow_id(c, self, revision)
  if revision == "keep" then
    local wid = type(self.workflow) == "table" and self.workflow.id
    if not wid then
      errors.raise { kind = "usage", message = ("attempt:retry: revision = \"keep\" needs a stored workflow, and %s has none"):format(describe(self)) }
    end
    return wid
  end
  local pid = self.project and self.project.id
  local r = { path = base.path("/api/projects/%s/workflows/%s", pid, self.workflow_name) }
  if revision ~= "latest" then r.query = { revision = revision } end
  local ok, d = pcall(base.request, c, r)
  if not ok then
    if errors.is(d, "not_found") then
      base.reraise(d, {
        message = ("workflow %s is not in %s of project %s (%s)"):format(self.workflow_name,
          revision == "latest" and "the latest revision" or ("revision " .. revision), self.project_name or pid, d.message),
      })
    end
    error(d, 0)
  end
  return d.id
end

--- attempt:retry{resume = "all"|"failed"|{from = "+task"}, revision =
-- "latest"|"keep"|name, params =, name =} -> the new Attempt.
-- One PUT /api/attempts for the original session time: resume = "failed"
-- skips the tasks that succeeded, {from = "+wf+step"} reruns from that task
-- (a suffix of one task's full name), "all" (the default) reruns
-- everything. params are merged over the original attempt's. The retry
-- gets a fresh unique name unless `name` is given. Raises bad_request
-- (resuming a successful attempt, a `from` matching no task or several)
-- and conflict (an attempt with that name exists; err.existing is it).
function Attempt:retry(opts)
  local c = check(self, "retry")
  opts = base.opts("attempt:retry", opts, RETRY_OPTS)
  local resume = opts.resume or "all"
  local from
  if type(resume) == "table" then
    from = resume.from
    if type(from) ~= "string" or from == "" then
      errors.raise { kind = "usage", message = "bad argument 'resume.from' to 'attempt:retry' (a task name such as \"+step\" expected)" }
    end
  elseif not RESUME[resume] then
    errors.raise { kind = "usage", message = ("bad argument 'resume' to 'attempt:retry' (\"failed\", \"all\" or {from = \"+task\"} expected, got %s)"):format(
      type(resume) == "string" and ("%q"):format(resume) or type(resume)) }
  end
  local revision = opts.revision or "latest"
  errors.check("attempt:retry", "revision", revision, "string")
  if opts.params ~= nil then errors.check("attempt:retry", "params", opts.params, "table") end
  if opts.name ~= nil then
    errors.check("attempt:retry", "name", opts.name, "string")
    if opts.name == "" then errors.raise { kind = "usage", message = "bad argument 'name' to 'attempt:retry' (empty)" } end
  end
  if not (self.sessionTime and self.workflow_name and self.project) then self:refresh() end

  local params = {}
  if type(self.params) == "table" then for k, v in pairs(self.params) do params[k] = v end end
  for k, v in pairs(opts.params or {}) do params[k] = v end
  local body = {
    workflowId = retry_workflow_id(c, self, revision),
    sessionTime = self.sessionTime,
    retryAttemptName = opts.name or require("td.submit").key(nil, "retry"), -- chosen before the first try
    params = params, -- an empty table is sent as {}
    allowQueueing = opts.allow_queueing ~= false, -- may queue when the pool is full (TD fails it otherwise)
  }
  if from then
    body.resume = { mode = "from", attemptId = self.id, from = from }
  elseif resume == "failed" then
    body.resume = { mode = "failed", attemptId = self.id }
  end
  local ok, d, resp = pcall(base.request, c, {
    method = "PUT", path = "/api/attempts", json = body, ok = { 409 },
    idempotent = true, -- safe: the retry name is unique, a repeat is a 409 naming our attempt
    identity = { retry_name = body.retryAttemptName },
    expect = function(x)
      if type(x) ~= "table" or x.id == nil then return "no attempt id in the answer" end
      return nil
    end,
    describe = function()
      local how = from and ("resume from " .. from) or (resume == "failed" and "resume failed" or "run all tasks again")
      return ("retry attempt %s of %s/%s (%s)"):format(self.id, self.project_name or "?", self.workflow_name or "?", how)
    end,
  })
  if not ok then
    local e = d
    if errors.is(e, "bad_request") then
      local m = e.message or ""
      if m:find("successfully completed", 1, true) then
        base.reraise(e, {
          message = ("%s succeeded: there are no failed tasks to resume (%s)"):format(describe(self), m),
          hint = "use resume = \"all\" to run it again",
        })
      elseif from and (m:find("ambiguous", 1, true) or m:find("match", 1, true) or m:find("root", 1, true)) then
        base.reraise(e, {
          message = ("resume from %q: %s"):format(from, m),
          hint = "name one task by a longer suffix of its full name, such as \"+wf+group+step\"; attempt:tasks() lists them",
        })
      end
    end
    error(e, 0)
  end
  if resp.dry_run then
    return require("td.dryrun").attempt(c, { project = self.project, workflow = self.workflow,
      sessionTime = self.sessionTime, params = params })
  end
  local a = M.wrap(c, d)
  if resp.status == 409 then
    -- our own first PUT got through and its answer was lost: the name is the identity
    if require("td.submit").attempt_is_ours(d, resp, body.retryAttemptName) then return a end
    errors.raise {
      kind = "conflict", status = 409, attempt_id = a.id, existing = a,
      message = ("an attempt named %q already exists for session %s of %s/%s: attempt %s (%s)"):format(
        body.retryAttemptName, tostring(self.sessionTime), self.project_name or "?", self.workflow_name or "?", a.id, a.status),
      hint = "give another name, or leave name out for a fresh one",
    }
  end
  return a
end

--- attempt:tasks() -> array of tasks: the API's fields (id, fullName,
-- parentId, config, upstreams, isGroup, state, cancelRequested, startedAt,
-- updatedAt, retryAt, error, ...; readable in snake_case too) plus name
-- (= fullName); isGroup is a boolean (from isGroup or group).
function Attempt:tasks()
  local c = check(self, "tasks")
  local d = base.request(c, { path = base.path("/api/attempts/%s/tasks", self.id), expect = list_of("tasks") })
  local out = {}
  for i, t in ipairs(d.tasks or {}) do
    local task = base.fields(t)
    if task.isGroup == nil then task.isGroup = task.group end
    task.isGroup = task.isGroup == true
    task.group = nil
    task.name = task.fullName
    out[i] = task
  end
  return out
end

--- attempt:retries() -> every attempt of this attempt's session, by index.
function Attempt:retries()
  local c = check(self, "retries")
  local d = base.request(c, { path = base.path("/api/attempts/%s/retries", self.id), expect = list_of("attempts") })
  local out = {}
  for i, t in ipairs(d.attempts or {}) do out[i] = M.wrap(c, t) end
  return out
end

--- attempt:session() -> the Session this attempt runs.
function Attempt:session()
  local c = check(self, "session")
  if not self.sessionId then self:refresh() end
  return require("td.workflow.session").get(c, self.sessionId)
end

--- attempt:log_files{task = "+prefix"} -> the log file handles (fileName,
-- fileSize, taskName, fileTime, direct, ... also in snake_case).
function Attempt:log_files(opts)
  local c = check(self, "log_files")
  return require("td.workflow.logs").files(c, self.id, opts)
end

--- attempt:log_file(handle_or_name) -> the text of one log file (gunzipped).
function Attempt:log_file(h)
  local c = check(self, "log_file")
  return require("td.workflow.logs").file(c, self.id, h)
end

--- attempt:logs{task = "+prefix", level = "info"} -> array of log lines,
-- task by task in the order the tasks started, lines below `level`
-- (trace, debug, info, warn, error) left out.
function Attempt:logs(opts)
  local c = check(self, "logs")
  return require("td.workflow.logs").lines(c, self.id, opts)
end

--- attempt:follow_logs{task =, level = "info", on_line = fn, interval = 0.5,
-- max_interval = 10, timeout =} - print (or pass to on_line) new log lines
-- as they arrive until the attempt (or, with a task prefix, that part of
-- it) is done; polls with a 0.5 s -> 10 s backoff reset by new output, as
-- `digdag log -f` does. Returns the refreshed attempt.
function Attempt:follow_logs(opts)
  local c = check(self, "follow_logs")
  require("td.workflow.logs").follow(c, self, opts)
  return self
end

--- attempt:timeline{print = true, width = 40} -> a text picture of the
-- attempt's tasks (state, start, duration and a bar on a shared time axis);
-- printed to stdout unless print = false, and returned.
function Attempt:timeline(opts)
  check(self, "timeline")
  opts = base.opts("attempt:timeline", opts, { print = true, width = true, now = true })
  local text = require("td.workflow.timeline").render(self, self:tasks(), opts)
  if opts.print ~= false then io.stdout:write(text, "\n") end
  return text
end

return M
