--- td.workflow.client: the Treasure Workflow API client, `client.workflow`.
-- It talks to the client's workflow endpoint (the region's
-- api-workflow host, TD_WORKFLOW_SERVER or td.client{workflow_endpoint=}).
--   local wf = td.client().workflow
--   for a in wf:attempts{ project = "etl" } do ... end      -- newest first
--   local a = wf:start("etl", "daily", { session_time = "daily" }):wait()
--   a:retry{ resume = "failed" }   a:kill()   a:logs{ task = "+daily+load" }
-- Lists are `for` iterators that page as the endpoint does (projects,
-- workflows and schedules ascending; sessions and attempts newest first;
-- pages of at most 100). Objects: td/workflow/project.lua, definition.lua
-- (Workflow), schedule.lua, session.lua, attempt.lua. docs/workflow.md is
-- the reference; docs/coverage-workflow.md maps every API operation to
-- its method. The thin operations (version, secrets) are declared as data
-- (td/ops.lua); the pools in td/workflow/pools.lua.
local errors = require "td.errors"
local submit = require "td.submit"
local base = require "td.workflow.base"
local ops = require "td.ops"
local attempt = require "td.workflow.attempt"
local definition = require "td.workflow.definition"
local project = require "td.workflow.project"
local schedule = require "td.workflow.schedule"
local session = require "td.workflow.session"

local M = {}

local WF = {}
WF.__index = WF
WF.__name = "td.workflow"
M.WF = WF

for k, v in pairs(require "td.workflow.pools") do WF[k] = v end

--- The workflow API client for a td client (what client.workflow is).
function M.new(client)
  return base.bind(setmetatable({}, WF), client)
end

function WF.__tostring(wf)
  local c = base.client_of(wf, "client.workflow")
  return ("td.workflow(%s)"):format(tostring(c.workflow_endpoint))
end

local function cl(self, name)
  if getmetatable(self) ~= WF then
    errors.raise { kind = "usage", message = ("bad self to 'client.workflow:%s' (call it with ':' on client.workflow)"):format(name) }
  end
  return base.client_of(self, "client.workflow:" .. name)
end

local function copy(t)
  local o = {}
  for k, v in pairs(t or {}) do o[k] = v end
  return o
end

-- a project argument: a Project, an id (integer or digits) or a name
local function project_ref(fname, p)
  if project.is(p) then return p.id, p.name end
  if math.type(p) == "integer" or (type(p) == "string" and p:match("^%d+$")) then return tostring(p), nil end
  if type(p) == "string" and p ~= "" then return nil, p end
  if type(p) == "table" and type(p.id) == "string" then return p.id, p.name end
  errors.raise {
    kind = "usage",
    message = ("bad argument 'project' to '%s' (a project name, id or object expected, got %s)"):format(fname, type(p)),
  }
end

local function no_project(name)
  errors.raise { kind = "not_found", message = ("project %q does not exist"):format(name) }
end

--- The project's id (looking it up by name when needed) and name (if known).
local function project_id(c, fname, p)
  local id, name = project_ref(fname, p)
  if id then return id, name end
  local d = base.request(c, { path = "/api/projects", query = { name = name } })
  local t = d.projects and d.projects[1]
  if not t then no_project(name) end
  return t.id, t.name
end

--- The project's name (looking it up by id when needed).
local function project_name(c, fname, p)
  local id, name = project_ref(fname, p)
  if name then return name end
  local d = base.request(c, { path = base.path("/api/projects/%s", id) })
  return d.name
end

-- ---------------------------------------------------------------------------
-- server

local WF_COMMON = { prefix = "wf", base = "workflow", receiver = function(self, decl) return cl(self, decl.name) end }

ops.define(WF, "workflow.server", {
  { name = "version", path = "/api/version", auth = false, answer = { version = "string" }, unwrap = "version",
    returns = "the server's version string", doc = "The workflow server's version (needs no key).",
    example = "wf:version()" },
}, WF_COMMON)

-- ---------------------------------------------------------------------------
-- projects

--- wf:projects{name =, name_pattern =, limit =, page_size =, last_id =} -
-- iterate over the projects, by id. name is exact, name_pattern a substring.
function WF:projects(opts)
  local c = cl(self, "projects")
  opts = base.opts("projects", opts, { name = true, name_pattern = true, limit = true, page_size = true, last_id = true })
  if opts.name ~= nil then errors.check("projects", "name", opts.name, "string") end
  if opts.name_pattern ~= nil then errors.check("projects", "name_pattern", opts.name_pattern, "string") end
  return base.pages("projects", function(last, size)
    local d = base.request(c, {
      path = "/api/projects",
      query = { name = opts.name, name_pattern = opts.name_pattern, last_id = last, count = size },
    })
    local out = {}
    for i, t in ipairs(d.projects or {}) do out[i] = project.wrap(c, t) end
    return out
  end, opts)
end

--- wf:project(id_or_name) -> Project (raises not_found).
function WF:project(p)
  local c = cl(self, "project")
  local id, name = project_ref("project", p)
  if id then
    return project.wrap(c, (base.request(c, { path = base.path("/api/projects/%s", id) })))
  end
  local d = base.request(c, { path = "/api/projects", query = { name = name } })
  local t = d.projects and d.projects[1]
  if not t then no_project(name) end
  return project.wrap(c, t)
end

--- wf:revisions(project, {name =, limit =, page_size =}) - iterate over a
-- project's revisions, newest first (fields revision, createdAt,
-- archiveType, archiveMd5, userInfo, and snake_case names).
function WF:revisions(p, opts)
  local c = cl(self, "revisions")
  opts = base.opts("revisions", opts, { name = true, limit = true, page_size = true })
  local pid = project_id(c, "revisions", p)
  local size = math.min(opts.page_size or base.MAX_PAGE, base.MAX_PAGE)
  errors.check("revisions", "page_size", size, "integer")
  local r = { path = base.path("/api/projects/%s/revisions", pid), query = { name = opts.name, ["page[size]"] = size } }
  local buf, i, count = nil, 1, 0
  return function()
    if opts.limit and count >= opts.limit then return nil end
    while not buf or i > #buf do
      if not r then return nil end
      local d = base.request(c, r)
      buf, i = d.revisions or {}, 1
      local nxt = type(d.pagination) == "table" and d.pagination.nextPage
      if type(nxt) == "string" and nxt ~= "" and #buf > 0 then
        -- always our own endpoint: a full URL keeps only its path and query,
        -- so the key never goes to a host the answer names
        r = { path = nxt:match("^%a[%w+.-]*://[^/]+(/.*)$") or nxt }
      else
        r = nil
      end
      if #buf == 0 then return nil end
    end
    local t = buf[i]
    i = i + 1
    count = count + 1
    return base.fields(t)
  end
end

--- wf:delete_project(project) -> the Project, with deletedAt set.
function WF:delete_project(p)
  local c = cl(self, "delete_project")
  local pid = project_id(c, "delete_project", p)
  local d, resp = base.request(c, { method = "DELETE", path = base.path("/api/projects/%s", pid),
    describe = ("delete project %s"):format(type(p) == "table" and (p.name or pid) or tostring(p)) })
  if resp.dry_run then return nil end
  return project.wrap(c, d)
end

--- wf:push(name, dir, {revision =, schedule_from =, clear_schedule =,
-- skip_schedule =}) -> Project. Packs the directory (or a table of
-- path = content) into a tar.gz in-process, without dotfiles (max_size =
-- a limit checked before uploading; otherwise the server judges, TD's
-- being 10 MB) and uploads it as a new revision (a fresh unique name
-- unless `revision` is given). clear_schedule = true | name | {names}
-- restarts those schedules from schedule_from (or now).
function WF:push(name, dir, opts)
  local c = cl(self, "push")
  errors.check("push", "name", name, "string")
  if name == "" then errors.raise { kind = "usage", message = "bad argument 'name' to 'push' (empty)" } end
  errors.check("push", "dir", dir, "string", "table")
  opts = base.opts("push", opts, { revision = true, schedule_from = true, clear_schedule = true, skip_schedule = true, max_size = true })
  if opts.revision ~= nil then errors.check("push", "revision", opts.revision, "string") end
  if opts.skip_schedule ~= nil then errors.check("push", "skip_schedule", opts.skip_schedule, "boolean") end
  return require("td.workflow.archive").push(c, name, dir, opts)
end

--- wf:download(project, dir_or_file, {revision =}) -> list of written
-- files. A target ending in .tar.gz or .tgz gets the archive as it is;
-- otherwise it is extracted into that directory. Redirects to the storage
-- host are followed without the API key; entries that would land outside
-- the directory (absolute, "..", links pointing out) raise unsafe_archive
-- before anything is written.
function WF:download(p, target, opts)
  local c = cl(self, "download")
  local pid = project_id(c, "download", p)
  errors.check("download", "target", target, "string")
  opts = base.opts("download", opts, { revision = true })
  if opts.revision ~= nil then errors.check("download", "revision", opts.revision, "string") end
  return require("td.workflow.archive").download(c, pid, target, opts)
end

-- ---------------------------------------------------------------------------
-- secrets

local function check_key(fname, key)
  errors.check(fname, "key", key, "string")
  local ok = #key <= 255
  for seg in (key .. "."):gmatch("([^.]*)%.") do
    if not (seg:match("^%a$") or seg:match("^%a[%w_%-]*[%w]$")) then ok = false end
  end
  if not ok then
    errors.raise { kind = "usage", message = ("bad argument 'key' to '%s' (letters, digits, '_' and '-' in dot-separated parts, got %q)"):format(fname, key) }
  end
end

local PROJECT = { "project", "any", "a project name, id or Project" }
local KEY = { "key", "any", "a secret key (letters, digits, '_' and '-' in dot-separated parts)" }

-- the key is checked first, then the project is resolved to its id
local function secret_args(call)
  if call.decl.args[2] then check_key(call.decl.name, call.args.key) end
  if call.decl.args[3] then errors.check(call.decl.name, "value", call.args.value, "string") end
  call.args.project = (project_id(call.client, call.decl.name, call.args.project))
end

ops.define(WF, "workflow.secrets", {
  { name = "secrets", path = "/api/projects/{project}/secrets", args = { PROJECT }, before = secret_args,
    answer = { secrets = { { key = "string" } } },
    unwrap = function(d)
      local out = {}
      for i, x in ipairs(d.secrets) do out[i] = x.key end
      table.sort(out)
      return out
    end,
    returns = "array of secret keys, sorted (the API never returns values)",
    doc = "A project's secret keys.", example = 'wf:secrets("etl")' },

  { name = "set_secret", describe = "set secret {key} of project {project}", method = "PUT", path = "/api/projects/{project}/secrets/{key}", idempotent = true,
    args = { PROJECT, KEY, { "value", "string", "the secret (never logged or shown)" } }, before = secret_args,
    request = function(r, call)
      require("td.redact").add(call.args.value) -- masked from now on, in every encoding
      r.form, r.json = nil, { value = call.args.value }
    end,
    unwrap = function() return true end, returns = "true",
    doc = "Store a project secret.", example = 'wf:set_secret("etl", "pg.password", pw)' },

  { name = "delete_secret", describe = "delete secret {key} of project {project}", method = "DELETE", path = "/api/projects/{project}/secrets/{key}",
    args = { PROJECT, KEY }, before = secret_args, unwrap = function() return true end, returns = "true",
    doc = "Remove a project secret (no error when absent).", example = 'wf:delete_secret("etl", "pg.password")' },
}, WF_COMMON)

-- ---------------------------------------------------------------------------
-- workflows

local function contains(s, pat) return type(s) == "string" and s:find(pat, 1, true) ~= nil end

--- wf:workflows{project =, name =, name_pattern =, revision =, order =
-- "asc"|"desc", search_project_name =, limit =, page_size =, last_id =} -
-- iterate over workflow definitions: with `project`, those of its latest
-- (or the given) revision; otherwise the latest revisions of all active
-- projects, by id.
function WF:workflows(opts)
  local c = cl(self, "workflows")
  opts = base.opts("workflows", opts, {
    project = true, name = true, name_pattern = true, revision = true, order = true,
    search_project_name = true, limit = true, page_size = true, last_id = true,
  })
  if opts.name ~= nil then errors.check("workflows", "name", opts.name, "string") end
  if opts.name_pattern ~= nil then errors.check("workflows", "name_pattern", opts.name_pattern, "string") end
  if opts.order ~= nil and opts.order ~= "asc" and opts.order ~= "desc" then
    errors.raise { kind = "usage", message = ("bad argument 'order' to 'workflows' (\"asc\" or \"desc\" expected, got %s)"):format(tostring(opts.order)) }
  end
  if opts.project ~= nil then
    local pid = project_id(c, "workflows", opts.project)
    local d = base.request(c, {
      path = base.path("/api/projects/%s/workflows", pid), query = { revision = opts.revision, name = opts.name },
    })
    local out = {}
    for _, t in ipairs(d.workflows or {}) do
      if not opts.name_pattern or contains(t.name, opts.name_pattern) then out[#out + 1] = definition.wrap(c, t) end
    end
    return base.each(out, opts.limit)
  end
  if opts.revision ~= nil then
    errors.raise { kind = "usage", message = "workflows: revision needs project" }
  end
  local it = base.pages("workflows", function(last, size)
    local d = base.request(c, {
      path = "/api/workflows",
      query = {
        last_id = last, count = size, order = opts.order, name_pattern = opts.name_pattern or opts.name,
        search_project_name = opts.search_project_name and true or nil,
      },
    })
    local out = {}
    for i, t in ipairs(d.workflows or {}) do out[i] = definition.wrap(c, t) end
    return out
  end, { limit = not opts.name and opts.limit or nil, page_size = opts.page_size, last_id = opts.last_id })
  if not opts.name then return it end
  local n = 0
  return function()
    while true do
      if opts.limit and n >= opts.limit then return nil end
      local w = it()
      if not w then return nil end
      if w.name == opts.name then n = n + 1 return w end
    end
  end
end

--- wf:workflow(id) or wf:workflow(project, name, {revision =}) -> Workflow
function WF:workflow(a, name, opts)
  local c = cl(self, "workflow")
  if name == nil then
    local id = base.id("workflow", "id", a)
    return definition.wrap(c, (base.request(c, { path = base.path("/api/workflows/%s", id) })))
  end
  errors.check("workflow", "name", name, "string")
  opts = base.opts("workflow", opts, { revision = true })
  local pid, pname = project_id(c, "workflow", a)
  local ok, d = pcall(base.request, c, {
    path = base.path("/api/projects/%s/workflows/%s", pid, name), query = { revision = opts.revision },
  })
  if not ok then
    if errors.is(d, "not_found") then
      base.reraise(d, { message = ("workflow %q not found in project %s%s (%s)"):format(name, pname or pid,
        opts.revision and (" revision " .. opts.revision) or "", d.message) })
    end
    error(d, 0)
  end
  return definition.wrap(c, d)
end

local MODES = { hour = true, day = true, schedule = true, next_schedule = true }

--- A session time argument -> what truncated_session_time takes.
local function session_time_arg(fname, t)
  if t == "now" then return base.iso(os.time()) end
  if type(t) == "number" then return base.instant(fname, "session_time", t) end
  if type(t) == "string" then
    if base.has_zone(t) then return base.instant(fname, "session_time", t) end
    local l = base.local_time(t)
    if l then return l end
  end
  errors.raise {
    kind = "usage",
    message = ("bad argument 'session_time' to '%s' (\"now\", \"hourly\", \"daily\", epoch seconds, \"2026-11-22T00:00:00Z\" or a local \"2026-11-22 00:00:00\" expected, got %s)")
      :format(fname, type(t) == "string" and ("%q"):format(t) or type(t)),
  }
end

--- wf:truncated_session_time(workflow, time, mode) -> {session_time =,
-- timezone =, revision =, project =} - the session time the server makes
-- of `time` ("now", epoch seconds, a zoned or local time - local times are
-- in the workflow's time zone), truncated by mode: nil, "hour", "day",
-- "schedule" or "next_schedule".
function WF:truncated_session_time(w, t, mode)
  local c = cl(self, "truncated_session_time")
  local wid = definition.is(w) and w.id or base.id("truncated_session_time", "workflow", w)
  if mode ~= nil and not MODES[mode] then
    errors.raise { kind = "usage", message = ("bad argument 'mode' to 'truncated_session_time' (hour, day, schedule or next_schedule expected, got %s)"):format(tostring(mode)) }
  end
  local d = base.request(c, {
    path = base.path("/api/workflows/%s/truncated_session_time", wid),
    query = { session_time = session_time_arg("truncated_session_time", t), mode = mode },
  })
  return base.fields(d)
end

-- ---------------------------------------------------------------------------
-- schedules

--- wf:schedules{project =, workflow =, limit =, last_id =} - iterate over
-- schedules by id (a project's, or all of them).
function WF:schedules(opts)
  local c = cl(self, "schedules")
  opts = base.opts("schedules", opts, { project = true, workflow = true, limit = true, last_id = true })
  if opts.workflow ~= nil then errors.check("schedules", "workflow", opts.workflow, "string") end
  local path
  if opts.project ~= nil then
    path = base.path("/api/projects/%s/schedules", (project_id(c, "schedules", opts.project)))
  elseif opts.workflow ~= nil then
    errors.raise { kind = "usage", message = "schedules: workflow needs project" }
  else
    path = "/api/schedules"
  end
  return base.pages("schedules", function(last)
    local d = base.request(c, { path = path, query = { workflow = opts.workflow, last_id = last } })
    local out = {}
    for i, t in ipairs(d.schedules or {}) do out[i] = schedule.wrap(c, t) end
    return out
  end, { limit = opts.limit, last_id = opts.last_id }) -- the server's page is always 100
end

--- wf:schedule(id) or wf:schedule{project =, workflow =} -> Schedule
function WF:schedule(x)
  local c = cl(self, "schedule")
  if type(x) == "table" and getmetatable(x) ~= schedule.Schedule then
    if x.id and not x.project then return schedule.get(c, base.id("schedule", "id", x.id)) end
    errors.check("schedule", "workflow", x.workflow, "string")
    local pid, pname = project_id(c, "schedule", x.project)
    return schedule.find(c, pid, pname, x.workflow)
  end
  return schedule.get(c, base.id("schedule", "id", x))
end

-- ---------------------------------------------------------------------------
-- sessions and attempts

--- wf:sessions{project =, workflow =, limit =, page_size =, last_id =} -
-- iterate over sessions, newest first.
function WF:sessions(opts)
  local c = cl(self, "sessions")
  opts = base.opts("sessions", opts, { project = true, workflow = true, limit = true, page_size = true, last_id = true })
  if opts.workflow ~= nil then errors.check("sessions", "workflow", opts.workflow, "string") end
  local path
  if opts.project ~= nil then
    path = base.path("/api/projects/%s/sessions", (project_id(c, "sessions", opts.project)))
  elseif opts.workflow ~= nil then
    errors.raise { kind = "usage", message = "sessions: workflow needs project" }
  else
    path = "/api/sessions"
  end
  return base.pages("sessions", function(last, size)
    local d = base.request(c, { path = path, query = { workflow = opts.workflow, last_id = last, page_size = size } })
    local out = {}
    for i, t in ipairs(d.sessions or {}) do out[i] = session.wrap(c, t) end
    return out
  end, opts)
end

--- wf:session(id) -> Session
function WF:session(id)
  local c = cl(self, "session")
  return session.get(c, base.id("session", "id", id))
end

--- wf:attempts{project =, workflow =, include_retried =, session =, limit =,
-- page_size =, last_id =} - iterate over attempts, newest first. Without
-- include_retried only each session's latest attempt is listed; with
-- `session`, all of that session's attempts.
function WF:attempts(opts)
  local c = cl(self, "attempts")
  opts = base.opts("attempts", opts, {
    project = true, workflow = true, include_retried = true, session = true, limit = true, page_size = true, last_id = true,
  })
  if opts.workflow ~= nil then errors.check("attempts", "workflow", opts.workflow, "string") end
  if opts.session ~= nil then
    local sid = base.id("attempts", "session", opts.session)
    return base.pages("attempts", function(last, size)
      local d = base.request(c, { path = base.path("/api/sessions/%s/attempts", sid), query = { last_id = last, page_size = size } })
      local out = {}
      for i, t in ipairs(d.attempts or {}) do out[i] = attempt.wrap(c, t) end
      return out
    end, opts)
  end
  local pname
  if opts.project ~= nil then
    pname = project_name(c, "attempts", opts.project)
  elseif opts.workflow ~= nil then
    errors.raise { kind = "usage", message = "attempts: workflow needs project" }
  end
  return base.pages("attempts", function(last, size)
    local ok, d = pcall(base.request, c, {
      path = "/api/attempts",
      query = {
        project = pname, workflow = opts.workflow, include_retried = opts.include_retried and true or nil,
        last_id = last, page_size = size,
      },
    })
    if not ok then
      if errors.is(d, "not_found") and pname then
        base.reraise(d, { message = ("project %q does not exist (%s)"):format(pname, d.message) })
      end
      error(d, 0)
    end
    local out = {}
    for i, t in ipairs(d.attempts or {}) do out[i] = attempt.wrap(c, t) end
    return out
  end, opts)
end

--- wf:attempt(id) -> Attempt
function WF:attempt(id)
  local c = cl(self, "attempt")
  id = base.id("attempt", "id", id)
  return attempt.wrap(c, (base.request(c, { path = base.path("/api/attempts/%s", id), expect = attempt.shape })))
end

--- wf:kill(attempt_id) -> the Attempt (see attempt:kill).
function WF:kill(id)
  local c = cl(self, "kill")
  return attempt.wrap(c, { id = base.id("kill", "id", id) }):kill()
end

local SESSION_MODES = { now = false, hourly = "hour", daily = "day" }

-- what PUT /api/attempts must answer: an attempt (200, or 409 with the existing one)
local function attempt_shape(d)
  if type(d) ~= "table" or (math.type(d.id) ~= "integer" and type(d.id) ~= "string") then
    return "no attempt id in the answer"
  end
  return nil
end
local IF_EXISTS = { ["return"] = true, retry = true, error = true }

--- wf:start(project, workflow, {session_time = "now"|"hourly"|"daily"|time,
-- params =, retry_name =, revision =, if_exists = "return"|"retry"|"error",
-- allow_queueing = true}) -> Attempt. allowQueueing is sent true unless
-- allow_queueing = false (TD fails an API-started attempt at once when the
-- pool is full otherwise).
-- Resolves the session time through the server (truncated_session_time;
-- "hourly"/"daily" truncate now to the hour/day, a local time is read in
-- the workflow's time zone) and starts it (PUT /api/attempts). When that
-- session already has the attempt, the server's existing attempt is
-- returned with `existing = true` and a message in `conflict` (printed as a
-- warning unless if_exists is given); if_exists = "retry" starts a new
-- attempt of the session under a fresh name instead, "error" raises conflict.
function WF:start(p, w, opts)
  local c = cl(self, "start")
  opts = base.opts("start", opts, {
    session_time = true, params = true, retry_name = true, revision = true, if_exists = true, allow_queueing = true,
  })
  if opts.params ~= nil then errors.check("start", "params", opts.params, "table") end
  if opts.retry_name ~= nil then errors.check("start", "retry_name", opts.retry_name, "string") end
  local if_exists = opts.if_exists or "return"
  if not IF_EXISTS[if_exists] then
    errors.raise { kind = "usage", message = ("bad argument 'if_exists' to 'start' (\"return\", \"retry\" or \"error\" expected, got %s)"):format(tostring(if_exists)) }
  end
  local st = opts.session_time or "now"
  local mode = SESSION_MODES[st]
  local time = st
  if mode ~= nil then time = "now" end
  local arg = session_time_arg("start", time) -- checks it before any request
  local def
  if definition.is(w) then
    def = w
  else
    errors.check("start", "workflow", w, "string")
    if p == nil then errors.raise { kind = "usage", message = "bad argument 'project' to 'start' (a project name, id or object expected, got no value)" } end
    def = self:workflow(p, w, { revision = opts.revision })
  end
  local ts = self:truncated_session_time(def, arg, mode or nil)
  local function put(name)
    return base.request(c, {
      method = "PUT", path = "/api/attempts", ok = { 409 },
      idempotent = true, -- a repeat finds the same session: 409 with the attempt (ours: submit.attempt_is_ours)
      identity = name and { attempt_name = name } or { session_time = ts.sessionTime },
      expect = attempt_shape,
      json = {
        workflowId = def.id, sessionTime = ts.sessionTime, params = copy(opts.params),
        -- TD fails an API-started attempt at once when the pool is full
        -- unless it may queue (and says queueing will become mandatory)
        retryAttemptName = name, allowQueueing = opts.allow_queueing ~= false,
      },
      describe = function()
        return ("start a session of %s/%s for %s%s"):format(def.project_name or "?", def.name or "?",
          tostring(ts.sessionTime), name and (" (attempt name " .. name .. ")") or "")
      end,
    })
  end
  local d, resp = put(opts.retry_name)
  if resp.dry_run then
    return require("td.dryrun").attempt(c, { project = { id = def.project_id, name = def.project_name },
      workflow = { id = def.id, name = def.name }, sessionTime = ts.sessionTime, params = opts.params })
  end
  local a = attempt.wrap(c, d)
  if resp.status ~= 409 then return a end
  -- our own first try got through and its answer was lost: not an older session
  if submit.attempt_is_ours(d, resp, opts.retry_name) then return a end
  local msg = ("a session of %s/%s for %s already exists (session %s, attempt %s, %s)"):format(
    def.project_name or "?", def.name or "?", ts.sessionTime, tostring(a.sessionId), tostring(a.id), tostring(a.status))
  if if_exists == "retry" then
    local name = submit.key(nil, "retry")
    local d2, resp2 = put(name)
    if resp2.status == 409 and not submit.attempt_is_ours(d2, resp2, name) then
      errors.raise { kind = "conflict", status = 409, existing = attempt.wrap(c, d2),
        message = ("an attempt named %q already exists for %s"):format(name, ts.sessionTime) }
    end
    return attempt.wrap(c, d2)
  elseif if_exists == "error" then
    errors.raise { kind = "conflict", status = 409, message = msg, existing = a, attempt_id = a.id,
      hint = "attempt:retry{...} reruns it; if_exists = \"retry\" starts a new attempt of the session" }
  end
  a.existing, a.conflict = true, msg
  if opts.if_exists == nil then require("td.log").warn("%s; returning it", msg) end
  return a
end

return M
