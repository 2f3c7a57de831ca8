-- docs/coverage-workflow.md against the Workflow OpenAPI operations and the code
local t = require "testlib"
local test, eq, ok = t.test, t.eq, t.ok

-- every operation of TD's Workflow OpenAPI description (Treasure Workflow 1.0)
local SPEC = {
  { "getAttempts", "GET", "/api/attempts" },
  { "startAttempt", "PUT", "/api/attempts" },
  { "getAttempt", "GET", "/api/attempts/{id}" },
  { "killAttempt", "POST", "/api/attempts/{id}/kill" },
  { "getAttemptRetries", "GET", "/api/attempts/{id}/retries" },
  { "getTasks", "GET", "/api/attempts/{id}/tasks" },
  { "getFileHandles", "GET", "/api/logs/{attempt_id}/files" },
  { "getFile", "GET", "/api/logs/{attempt_id}/files/{file_name}" },
  { "getPoolRules", "GET", "/api/pool_rules" },
  { "createPoolRule", "POST", "/api/pool_rules" },
  { "deletePoolRule", "DELETE", "/api/pool_rules/{poolRuleId}" },
  { "getPoolRule", "GET", "/api/pool_rules/{poolRuleId}" },
  { "updatePoolRule", "PATCH", "/api/pool_rules/{poolRuleId}" },
  { "getPools", "GET", "/api/pools" },
  { "createPool", "POST", "/api/pools" },
  { "deletePool", "DELETE", "/api/pools/{poolId}" },
  { "getPool", "GET", "/api/pools/{poolId}" },
  { "updatePool", "PATCH", "/api/pools/{poolId}" },
  { "getProjects", "GET", "/api/projects" },
  { "putProject", "PUT", "/api/projects" },
  { "deleteProject", "DELETE", "/api/projects/{id}" },
  { "getProject", "GET", "/api/projects/{id}" },
  { "getArchive", "GET", "/api/projects/{id}/archive" },
  { "getRevisions", "GET", "/api/projects/{id}/revisions" },
  { "getProjectSchedules", "GET", "/api/projects/{id}/schedules" },
  { "getProjectSecrets", "GET", "/api/projects/{id}/secrets" },
  { "deleteProjectSecret", "DELETE", "/api/projects/{id}/secrets/{key}" },
  { "putProjectSecret", "PUT", "/api/projects/{id}/secrets/{key}" },
  { "getProjectSessions", "GET", "/api/projects/{id}/sessions" },
  { "getWorkflows", "GET", "/api/projects/{id}/workflows" },
  { "getWorkflowByName", "GET", "/api/projects/{id}/workflows/{name}" },
  { "getSchedules", "GET", "/api/schedules" },
  { "getSchedule", "GET", "/api/schedules/{id}" },
  { "backfillSchedule", "POST", "/api/schedules/{id}/backfill" },
  { "disableSchedule", "POST", "/api/schedules/{id}/disable" },
  { "enableSchedule", "POST", "/api/schedules/{id}/enable" },
  { "skipSchedule", "POST", "/api/schedules/{id}/skip" },
  { "getSessions", "GET", "/api/sessions" },
  { "getSession", "GET", "/api/sessions/{id}" },
  { "getSessionAttempts", "GET", "/api/sessions/{id}/attempts" },
  { "getWorkflowDefinitions", "GET", "/api/workflows" },
  { "getWorkflowDefinition", "GET", "/api/workflows/{id}" },
  { "getWorkflowTruncatedSessionTime", "GET", "/api/workflows/{id}/truncated_session_time" },
}

local DIG = "timezone: UTC\n+a:\n  echo>: a\n"

-- one call of the documented method per operation
local CALLS = {
  getAttempts = function(w) for _ in w:attempts { project = "etl" } do end end,
  startAttempt = function(w) w:start("etl", "daily", { session_time = "2026-11-01" }) end,
  getAttempt = function(w) w:attempt(7) end,
  killAttempt = function(w) w:attempt(12):kill() end,
  getAttemptRetries = function(w) w:attempt(5):retries() end,
  getTasks = function(w) w:attempt(7):tasks() end,
  getFileHandles = function(w) w:attempt(7):log_files() end,
  getFile = function(w) local a = w:attempt(7) a:log_file(a:log_files { direct = false }[1]) end,
  getPoolRules = function(w) w:pool_rules() end,
  createPoolRule = function(w)
    local p = w:create_pool { name = "p", concurrency_limit = 2 }
    w:create_pool_rule { pool_id = p.id, priority = 1, conditions = { { type = "invocation_type", values = { "scheduled" } } } }
  end,
  deletePoolRule = function(w)
    local p = w:create_pool { name = "p", concurrency_limit = 2 }
    local r = w:create_pool_rule { pool_id = p.id, priority = 1, conditions = { { type = "project_name", values = { "e" } } } }
    w:delete_pool_rule(r.id)
  end,
  getPoolRule = function(w)
    local p = w:create_pool { name = "p", concurrency_limit = 2 }
    w:pool_rule(w:create_pool_rule { pool_id = p.id, priority = 1, conditions = { { type = "workflow_name", values = { "d" } } } }.id)
  end,
  updatePoolRule = function(w)
    local p = w:create_pool { name = "p", concurrency_limit = 2 }
    local r = w:create_pool_rule { pool_id = p.id, priority = 1, conditions = { { type = "project_name", values = { "e" } } } }
    w:update_pool_rule(r.id, { priority = 2 })
  end,
  getPools = function(w) w:pools() end,
  createPool = function(w) w:create_pool { name = "p", concurrency_limit = 2 } end,
  deletePool = function(w) w:delete_pool(w:create_pool { name = "p", concurrency_limit = 2 }.id) end,
  getPool = function(w) w:pool(w:create_pool { name = "p", concurrency_limit = 2 }.id) end,
  updatePool = function(w) w:update_pool(w:create_pool { name = "p", concurrency_limit = 2 }.id, { name = "q" }) end,
  getProjects = function(w) for _ in w:projects() do end end,
  putProject = function(w) w:push("cov", { ["a.dig"] = DIG }) end,
  deleteProject = function(w) w:delete_project("marketing") end,
  getProject = function(w) w:project(1) end,
  getArchive = function(w)
    local out = os.tmpname()
    os.remove(out)
    w:download("etl", out .. ".tar.gz")
    os.remove(out .. ".tar.gz")
  end,
  getRevisions = function(w) for _ in w:revisions("etl") do end end,
  getProjectSchedules = function(w) for _ in w:schedules { project = "etl" } do end end,
  getProjectSecrets = function(w) w:secrets("etl") end,
  deleteProjectSecret = function(w) w:delete_secret("etl", "td.apikey") end,
  putProjectSecret = function(w) w:set_secret("etl", "k", "v") end,
  getProjectSessions = function(w) for _ in w:sessions { project = "etl" } do end end,
  getWorkflows = function(w) for _ in w:workflows { project = "etl" } do end end,
  getWorkflowByName = function(w) w:workflow("etl", "daily") end,
  getSchedules = function(w) for _ in w:schedules() do end end,
  getSchedule = function(w) w:schedule(1) end,
  backfillSchedule = function(w) w:schedule(1):backfill { from = "2026-11-20T00:00:00Z", count = 1 } end,
  disableSchedule = function(w) w:schedule(1):disable() end,
  enableSchedule = function(w) w:schedule(1):enable() end,
  skipSchedule = function(w) w:schedule(1):skip { next_time = "2026-11-30" } end,
  getSessions = function(w) for _ in w:sessions() do end end,
  getSession = function(w) w:session(1) end,
  getSessionAttempts = function(w) for _ in w:session(4):attempts() do end end,
  getWorkflowDefinitions = function(w) for _ in w:workflows() do end end,
  getWorkflowDefinition = function(w) w:workflow(4) end,
  getWorkflowTruncatedSessionTime = function(w) w:truncated_session_time(4, "now", "day") end,
}

local function read_table()
  local f = assert(io.open("docs/coverage-workflow.md"))
  local rows = {}
  for line in f:lines() do
    local op, method, path, rest = line:match("^| (%w+) | `(%u+) ([^`]+)` | (.*) |$")
    if op then rows[#rows + 1] = { op = op, method = method, path = path, text = rest } end
  end
  f:close()
  return rows
end

local RECEIVERS = {
  wf = function() return require("td.workflow.client").WF end,
  project = function() return require("td.workflow.project").Project end,
  workflow = function() return require("td.workflow.definition").Workflow end,
  schedule = function() return require("td.workflow.schedule").Schedule end,
  session = function() return require("td.workflow.session").Session end,
  attempt = function() return require("td.workflow.attempt").Attempt end,
}

test("the coverage table lists exactly the spec's operations, each with a method that exists", function()
  local rows = read_table()
  local by = {}
  for _, r in ipairs(rows) do
    ok(not by[r.op], "listed twice: " .. r.op)
    by[r.op] = r
  end
  eq(#SPEC, 43)
  for _, s in ipairs(SPEC) do
    local r = by[s[1]]
    ok(r, "operation missing from docs/coverage-workflow.md: " .. s[1])
    eq(r.method .. " " .. r.path, s[2] .. " " .. s[3], s[1])
    if not r.text:find("left out:", 1, true) then
      local n = 0
      for recv, name in r.text:gmatch("`(%a+):([%w_]+)") do
        local mt = RECEIVERS[recv]
        ok(mt, ("%s: unknown receiver %q"):format(s[1], recv))
        ok(type(mt()[name]) == "function", ("%s: %s:%s does not exist"):format(s[1], recv, name))
        n = n + 1
      end
      ok(n > 0, s[1] .. ": no method named")
    end
  end
  eq(#rows, #SPEC)
end)

test("the spec file has the same operations as this list", function()
  local path = os.getenv("TD_WORKFLOW_OPENAPI") or "tests/spec/treasure-data-workflow-api-openapi.yml"
  local f = io.open(path)
  ok(f, "cannot read " .. path .. " (set TD_WORKFLOW_OPENAPI)")
  local text = f:read("a")
  f:close()
  local found = {}
  for id in text:gmatch("\n%s+operationId: (%w+)") do found[#found + 1] = id end
  table.sort(found)
  local want = {}
  for i, s in ipairs(SPEC) do want[i] = s[1] end
  table.sort(want)
  eq(found, want)
end)

test("each documented method makes the documented request", function()
  for _, s in ipairs(SPEC) do
    local op, method, path = s[1], s[2], s[3]
    local call = CALLS[op]
    ok(call, "no call for " .. op)
    t.reset()
    call(t.client().workflow)
    local pat = "^" .. path:gsub("[%-%.]", "%%%0"):gsub("{[%w_]+}", "[^/]+") .. "$"
    local hit = false
    for _, r in ipairs(t.log()) do
      if r.method == method and r.path:find(pat) and r.status and r.status < 400 then hit = true end
    end
    ok(hit, ("%s: the documented method made no successful %s %s"):format(op, method, path))
  end
end)
