-- the workflow API client: browsing, start, wait, kill, retry, logs, schedules
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local requests = t.requests

local FAST = { interval = 0.01, max_interval = 0.02, progress = false }

local function wf(opts) return t.client(opts).workflow end

local function ids(iter)
  local out = {}
  for x in iter do out[#out + 1] = x.id end
  return out
end

-- ---------------------------------------------------------------------------
-- the client

test("client.workflow is built once and uses the workflow endpoint", function()
  t.reset()
  local c = t.client { workflow_endpoint = t.fake().url }
  eq(rawequal(c.workflow, c.workflow), true)
  eq(c.workflow:version(), "0.10.5")
  like(tostring(c.workflow), "^td%.workflow%(http://127%.0%.0%.1:")
  eq(tostring(c.workflow):find(t.KEY, 1, true), nil)
end)

test("the workflow modules define no globals", function()
  local code, out = t.run("-e " .. t.sh_quote([[
    local before = {}
    for k in pairs(_G) do before[k] = true end
    for _, m in ipairs { "td.workflow.client", "td.workflow.base", "td.workflow.attempt",
      "td.workflow.session", "td.workflow.schedule", "td.workflow.project", "td.workflow.definition",
      "td.workflow.logs", "td.workflow.timeline", "td.workflow.tar", "td.workflow.archive",
      "td.workflow.pools" } do require(m) end
    local _ = td.client{ apikey = "1/x", endpoint = "http://127.0.0.1:9" }.workflow
    local new = {}
    for k in pairs(_G) do if not before[k] then new[#new + 1] = k end end
    print(#new, table.concat(new, ","))]]), { TDLUA_LUA_DIR = os.getenv("TDLUA_LUA_DIR") or "", TD_API_KEY = "" })
  eq(code, 0)
  eq(out, "0\t\n")
end)

test("a client without a workflow endpoint raises a config error", function()
  local c = td.client { apikey = t.KEY, endpoint = "https://td.example.invalid", config_path = "/nonexistent" }
  local e = raises_kind("config", function() return c.workflow:version() end)
  like(e.message, "no workflow endpoint")
end)

test("methods called with '.' or bad arguments raise usage errors naming the argument", function()
  local w = wf()
  like(raises_kind("usage", w.projects).message, "client.workflow:projects")
  like(raises_kind("usage", w.attempt, w, "abc").message, "'id'")
  like(raises_kind("usage", w.projects, w, { nmae = "x" }).message, "unknown option 'nmae'")
  like(raises_kind("usage", w.projects, w, { name = 5 }).message, "'name'")
  like(raises_kind("usage", w.projects, w, { page_size = 0 }).message, "page_size")
  like(raises_kind("usage", w.sessions, w, { workflow = "daily" }).message, "needs project")
  like(raises_kind("usage", w.attempts, w, { workflow = "daily" }).message, "needs project")
  like(raises_kind("usage", w.workflows, w, { order = "up" }).message, "'order'")
  like(raises_kind("usage", w.start, w, "etl", "daily", { session_time = "yesterday" }).message, "'session_time'")
  like(raises_kind("usage", w.start, w, "etl", "daily", { params = "x=1" }).message, "'params'")
  like(raises_kind("usage", w.start, w, "etl", "daily", { if_exists = "skip" }).message, "'if_exists'")
  like(raises_kind("usage", w.start, w, "etl", 42).message, "'workflow'")
  like(raises_kind("usage", w.truncated_session_time, w, 4, "now", "minute").message, "'mode'")
  like(raises_kind("usage", w.project, w, {}).message, "'project'")
end)

-- ---------------------------------------------------------------------------
-- browsing

test("projects ascend by id, page by last_id and filter by name", function()
  t.reset()
  local w = wf()
  local names = {}
  for p in w:projects { page_size = 1 } do names[#names + 1] = p.name end
  eq(names, { "etl", "marketing" })
  local q = {}
  for _, r in ipairs(requests("GET", "^/api/projects$")) do q[#q + 1] = r.query.last_id or "-" end
  eq(q, { "-", "1", "2" }) -- the cursor is the last id of each page
  eq(ids(w:projects { name = "marketing" }), { "2" })
  eq(ids(w:projects { name_pattern = "ark" }), { "2" })
  eq(ids(w:projects { limit = 1 }), { "1" })
  local p = w:project("etl")
  eq(p.id, "1")
  eq(p.revision, "r2")
  eq(p.created_at, p.createdAt)
  eq(p.deleted_at, nil) -- JSON null is absent
  eq(w:project(2).name, "marketing")
  eq(w:project("2").name, "marketing")
end)

test("a missing project is not_found, by name or id", function()
  t.reset()
  local w = wf()
  like(raises_kind("not_found", w.project, w, "nope").message, "nope")
  local e = raises_kind("not_found", w.project, w, 99)
  eq(e.status, 404)
  like(raises_kind("not_found", function() for _ in w:attempts { project = "nope" } do end end).message, "\"nope\" does not exist")
end)

test("revisions: newest first, following the server's next page", function()
  t.reset()
  local w = wf()
  local revs = {}
  for r in w:revisions("etl", { page_size = 1 }) do revs[#revs + 1] = r.revision end
  eq(revs, { "r2", "r1" })
  eq(#requests("GET", "^/api/projects/1/revisions$"), 2)
  local one = {}
  for r in w:project("etl"):revisions { name = "r1" } do one[#one + 1] = r.revision end
  eq(one, { "r1" })
end)

test("workflows: all active ones by id (asc or desc), a project's, by name", function()
  t.reset()
  local w = wf()
  eq(ids(w:workflows()), { "3", "4", "5" })
  eq(ids(w:workflows { order = "desc", page_size = 2 }), { "5", "4", "3" })
  local lids = {}
  for _, r in ipairs(requests("GET", "^/api/workflows$")) do lids[#lids + 1] = r.query.last_id or "-" end
  eq(lids, { "-", "-", "4" }) -- descending: the next page has ids below 4
  local names = {}
  for d in w:workflows { project = "etl" } do names[#names + 1] = d.name end
  eq(names, { "daily", "hourly" })
  eq(ids(w:workflows { project = "etl", revision = "r1" }) [1] ~= nil, true)
  eq(ids(w:workflows { name_pattern = "hour" }), { "5" })
  eq(ids(w:workflows { name = "daily" }), { "4" })
  local d = w:workflow("etl", "daily")
  eq(d.id, "4")
  eq(d.project_name, "etl")
  eq(d.timezone, "UTC")
  eq(w:workflow(4).name, "daily")
  like(raises_kind("not_found", w.workflow, w, "etl", "nope").message, "workflow \"nope\" not found in project")
  like(raises_kind("not_found", w.workflow, w, 999).message, "workflow id=999")
end)

test("truncated_session_time resolves local times in the workflow's zone", function()
  t.reset()
  local w = wf()
  local d = w:workflow("marketing", "campaign_report")
  eq(d:session_time("2026-11-20 15:30:00", "day"), "2026-11-20T00:00:00+09:00")
  eq(d:session_time("2026-11-20T15:30:00Z", "hour"), "2026-11-21T00:00:00+09:00")
  local r = w:truncated_session_time(4, 1700000000)
  eq(r.timezone, "UTC")
  like(raises_kind("bad_request", w.truncated_session_time, w, d, "now", "schedule").message, "schedule is not set")
end)

test("schedules: all, a project's, one by workflow", function()
  t.reset()
  local w = wf()
  eq(ids(w:schedules()), { "1", "2" })
  eq(ids(w:schedules { project = "etl", workflow = "hourly" }), { "2" })
  local s = w:schedule { project = "etl", workflow = "daily" }
  eq(s.id, "1")
  eq(s.next_schedule_time, "2026-11-23T00:00:00+00:00")
  eq(s.enabled, true)
  eq(w:schedule(2).workflow_name, "hourly")
  like(raises_kind("not_found", w.schedule, w, { project = "marketing", workflow = "campaign_report" }).message, "no schedule")
  raises_kind("not_found", w.schedule, w, 99)
end)

test("sessions: newest first, pages capped at 100, cursor below the last id", function()
  t.reset()
  local w = wf()
  local got = ids(w:sessions { page_size = 4 })
  eq(got, { "11", "10", "9", "8", "7", "6", "5", "4", "3", "2", "1" })
  local lids = {}
  for _, r in ipairs(requests("GET", "^/api/sessions$")) do lids[#lids + 1] = r.query.last_id or "-" end
  eq(lids, { "-", "8", "4" })
  for _ in w:sessions { page_size = 500, limit = 1 } do end
  local last = requests("GET", "^/api/sessions$")
  eq(last[#last].query.page_size, "100")
  local s = w:session(8)
  eq(s.status, "error")
  eq(s.last_attempt.status, "error")
  eq(s:latest_attempt().id, "9")
  eq(ids(w:sessions { project = "etl", workflow = "hourly" }), { "10", "9", "8", "7" })
  eq(ids(w:project("marketing"):sessions()), { "11", "5", "3" })
end)

test("attempts: newest first, last attempt per session unless include_retried", function()
  t.reset()
  local w = wf()
  eq(ids(w:attempts { project = "etl", workflow = "daily" }), { "7", "5", "2", "1" })
  eq(ids(w:attempts { project = "etl", workflow = "daily", include_retried = true }), { "7", "5", "4", "2", "1" })
  eq(ids(w:attempts { page_size = 5 }), { "12", "11", "10", "9", "8", "7", "6", "5", "3", "2", "1" })
  eq(ids(w:attempts { session = 4 }), { "5", "4" })
  eq(ids(w:session(4):attempts()), { "5", "4" })
  eq(ids(w:workflow("etl", "hourly"):attempts { limit = 2 }), { "11", "10" })
  local a = w:attempt(7)
  eq(a.status, "error")
  eq(a.project_name, "etl")
  eq(a.workflow_name, "daily")
  eq(a.session_time, "2026-11-22T00:00:00+00:00")
  eq(a.sessionTime, a.session_time)
  eq(a.created_epoch, td.time.parse("2026-11-22T02:00:03Z"))
  eq(a.retry_attempt_name, nil)
  eq(ids(require("td.workflow.base").each(w:attempt(4):retries())), { "4", "5" })
end)

test("attempt tasks, session and the status TD derives", function()
  t.reset()
  local w = wf()
  local tasks = w:attempt(3):tasks()
  local by = {}
  for _, task in ipairs(tasks) do by[task.full_name] = task end
  eq(by["+campaign_report+report"].is_group, true)
  eq(by["+campaign_report+fetch"].is_group, false)
  eq(by["+campaign_report+fetch"].state, "success")
  eq(by["+campaign_report+report+notify"].state, "canceled")
  eq(w:attempt(3).status, "killed")
  eq(w:attempt(12):session().id, "11")
  local status_of = require("td.workflow.attempt").status_of
  eq(status_of { done = true, success = true }, "success")
  eq(status_of { done = true, cancelRequested = true }, "killed")
  eq(status_of { done = true }, "error")
  eq(status_of { cancelRequested = true }, "canceling")
  eq(status_of {}, "running")
  eq(status_of { status = "queued" }, "queued")
end)

test("a dropped connection on an idempotent GET is retried", function()
  t.reset()
  local w = wf()
  t.fault { method = "GET", path = "^/api/attempts/7$", action = "reset", times = 1 }
  eq(w:attempt(7).id, "7")
  local got = requests("GET", "^/api/attempts/7$")
  eq(#got, 2)
  eq(got[1].fault, "reset")
  eq(got[2].status, 200)
  t.fault { method = "GET", path = "^/api/projects$", status = 503, times = 2 }
  eq(ids(w:projects()), { "1", "2" })
end)

-- ---------------------------------------------------------------------------
-- start, wait, kill

test("start resolves the session time and returns an Attempt that waits to success", function()
  t.reset()
  local w = wf()
  local a = w:start("etl", "daily", { session_time = "2026-11-10 13:00:00", params = { x = 1 } })
  eq(a.session_time, "2026-11-10T13:00:00+00:00")
  eq(a.status, "running")
  eq(a.params, { x = 1 })
  local put = requests("PUT", "^/api/attempts$")[1]
  eq(put.json.workflowId, "4")
  eq(put.json.sessionTime, "2026-11-10T13:00:00+00:00")
  eq(a:wait(FAST), a)
  eq(a.status, "success")
  eq(a.done, true)
  ok(a.finished_epoch)
  local d = w:start("etl", "daily", { session_time = "daily", if_exists = "return" })
  like(d.session_time, "T00:00:00%+00:00$")
  local h = w:project("etl"):start("hourly", { session_time = "hourly" })
  like(h.session_time, "T%d%d:00:00%+00:00$")
  local trunc = requests("GET", "/truncated_session_time$")
  eq(trunc[#trunc].query.mode, "hour")
end)

test("start on an existing session returns that attempt, or retries, or raises", function()
  t.reset()
  local w = wf()
  local first = w:start("etl", "daily", { session_time = "2026-11-22", if_exists = "return" })
  eq(first.id, "7") -- the seeded failed attempt of that session
  eq(first.existing, true)
  like(first.conflict, "already exists %(session 6, attempt 7")
  local e = raises_kind("conflict", w.start, w, "etl", "daily", { session_time = "2026-11-22", if_exists = "error" })
  eq(e.existing.id, "7")
  like(e.message, "already exists")
  local again = w:start("etl", "daily", { session_time = "2026-11-22", if_exists = "retry" })
  ok(tonumber(again.id) > 12)
  eq(again.sessionId, "6")
  like(again.retry_attempt_name, "^retry%-")
  local named = w:start("etl", "daily", { session_time = "2026-11-22", retry_name = "manual-1" })
  eq(named.retry_attempt_name, "manual-1")
end)

test("wait raises attempt_failed naming the failed task, or returns with raise = false", function()
  t.reset()
  local w = wf()
  local a = w:start("etl", "daily", { session_time = "2026-11-01", params = { fake_fail = "+transform" } })
  local e = raises_kind("attempt_failed", a.wait, a, FAST)
  eq(e.attempt_id, a.id)
  like(e.message, "failed at %+daily%+transform")
  like(e.message, "fake_fail")
  eq(e.failed_tasks[1].name, "+daily+transform")
  eq(a.status, "error")
  local b = w:start("etl", "daily", { session_time = "2026-11-02", params = { fake_fail = true } })
  local o = { raise = false }
  for k, v in pairs(FAST) do o[k] = v end
  eq(b:wait(o).status, "error")
  like(raises_kind("usage", a.wait, a, { timeout = "1h" }).message, "'timeout'")
end)

test("wait times out while the attempt keeps running, and rides out 503s", function()
  t.reset()
  local w = wf { max_retries = 1 }
  local a = w:start("etl", "daily", { session_time = "2026-11-03", params = { fake_stuck = true } })
  local e = raises_kind("timeout", a.wait, a, { timeout = 0.2, interval = 0.02, progress = false })
  like(e.message, "keeps running")
  a:kill()
  local b = w:start("etl", "hourly", { session_time = "2026-11-03 05:00:00" })
  t.fault { method = "GET", path = "^/api/attempts/" .. b.id .. "$", status = 503, times = 3 }
  eq(b:wait(FAST).status, "success")
end)

test("kill: canceling then killed; a finished attempt is already_finished", function()
  t.reset()
  local w = wf()
  local a = w:attempt(12)
  eq(a.status, "running")
  eq(a:kill(), a)
  eq(a.status, "canceling")
  local post = requests("POST", "^/api/attempts/12/kill$")[1]
  eq(post.json, {})
  local e = raises_kind("already_finished", a.kill, a)
  like(e.message, "already finished or already being killed")
  eq(e.status, 409)
  local o = { raise = false }
  for k, v in pairs(FAST) do o[k] = v end
  eq(a:wait(o).status, "killed")
  raises_kind("attempt_killed", a.wait, a, FAST)
  raises_kind("already_finished", w.kill, w, 1)
  raises_kind("not_found", w.kill, w, 999)
end)

-- ---------------------------------------------------------------------------
-- retry

test("retry resume = failed: one PUT with the original session time and merged params", function()
  t.reset()
  local w = wf()
  local a = w:attempt(7)
  local r = a:retry { resume = "failed", params = { day = "2026-11-22" } }
  ok(r.id ~= a.id)
  eq(r.session_id, a.session_id)
  eq(r.index, 2)
  like(r.retry_attempt_name, "^retry%-%x+%-")
  local puts = requests("PUT", "^/api/attempts$")
  eq(#puts, 1)
  local body = puts[1].json
  eq(body.sessionTime, "2026-11-22T00:00:00+00:00")
  eq(body.resume, { mode = "failed", attemptId = "7" })
  eq(body.params, { day = "2026-11-22" })
  eq(body.workflowId, "4") -- the latest revision's daily
  r:wait(FAST)
  eq(r.status, "success")
  -- the succeeded task was carried over: it did not run again
  local states = {}
  for _, task in ipairs(r:tasks()) do states[task.full_name] = task.started_epoch end
  eq(states["+daily+extract"], td.time.parse("2026-11-22T02:00:05Z"))
  -- two retries get two different names
  local r2 = w:attempt(9):retry { resume = "failed" }
  ok(r2.retry_attempt_name ~= r.retry_attempt_name)
end)

test("retry resume = {from =}, revision keep or a name, all", function()
  t.reset()
  local w = wf()
  local r = w:attempt(4):retry { resume = { from = "+load" }, revision = "keep", name = "from-load" }
  local body = requests("PUT", "^/api/attempts$")[1].json
  eq(body.resume, { mode = "from", attemptId = "4", from = "+load" })
  eq(body.workflowId, w:attempt(4).workflow.id)
  eq(body.retryAttemptName, "from-load")
  eq(r.retry_attempt_name, "from-load")
  local all = w:attempt(1):retry { revision = "r1" }
  eq(requests("PUT", "^/api/attempts$")[2].json.resume, nil)
  eq(all.status, "running")
  like(raises_kind("not_found", w:attempt(1).retry, w:attempt(1), { revision = "r9" }).message, "revision r9")
end)

test("retry errors: a successful attempt, an ambiguous from, a taken name, bad arguments", function()
  t.reset()
  local w = wf()
  local ok1 = w:attempt(1)
  local e = raises_kind("bad_request", ok1.retry, ok1, { resume = "failed" })
  like(e.message, "succeeded: there are no failed tasks to resume")
  like(e.hint, "resume = \"all\"")
  local k = w:attempt(3)
  e = raises_kind("bad_request", k.retry, k, { resume = { from = "report" } })
  like(e.message, "ambiguous")
  like(e.hint, "longer suffix")
  e = raises_kind("bad_request", k.retry, k, { resume = { from = "+nope" } })
  like(e.message, "resume from \"%+nope\"")
  local four = w:attempt(4)
  e = raises_kind("conflict", four.retry, four, { resume = "failed", name = "retry-20261121" })
  eq(e.existing.id, "5")
  like(e.message, "already exists")
  like(raises_kind("usage", four.retry, four, { resume = "some" }).message, "'resume'")
  like(raises_kind("usage", four.retry, four, { resume = { from = 3 } }).message, "resume.from")
  like(raises_kind("usage", four.retry, four, { params = 1 }).message, "'params'")
  like(raises_kind("usage", four.retry, four, { nmae = "x" }).message, "unknown option")
  like(raises_kind("usage", four.retry, four, { name = "" }).message, "'name'")
end)

test("runbook: retry yesterday's failed attempts of a project concurrently", function()
  t.reset()
  local w = wf()
  local since = td.time.parse("2026-11-22T10:00:00Z") - 86400
  local failed = {}
  for a in w:attempts { project = "etl" } do
    if td.time.parse(a.createdAt) < since then break end
    if a.status == "error" then failed[#failed + 1] = a end
  end
  eq(ids(require("td.workflow.base").each(failed)), { "9", "7" })
  local retries = {}
  for i, a in ipairs(failed) do retries[i] = a:retry { resume = "failed" } end
  local results = td.wait_all(retries, FAST)
  local report = {}
  for i, r in ipairs(results) do
    report[#report + 1] = failed[i].id .. " " .. (r.ok and r.value.status or tostring(r.err))
  end
  eq(report, { "9 success", "7 success" })
  -- both waits polled in between each other: they ran concurrently
  local order = {}
  for _, r in ipairs(t.log()) do
    local id = r.method == "GET" and r.path:match("^/api/attempts/(%d+)$")
    if id and order[#order] ~= id then order[#order + 1] = id end
  end
  ok(#order > 2, "polls of the two attempts interleave")
  for a in w:attempts { project = "etl", limit = 4 } do eq(a.status, "success") end
end)

-- ---------------------------------------------------------------------------
-- logs

test("logs: lines of every task in order, level filter, task prefix", function()
  t.reset()
  local w = wf()
  local a = w:attempt(7)
  local lines = a:logs()
  like(lines[1], "%+daily%+extract.*td>: queries/extract%.sql")
  local text = table.concat(lines, "\n")
  eq(text:find("[DEBUG]", 1, true), nil)
  like(text, "%[ERROR%].*Column 'nope' cannot be resolved")
  like(lines[#lines], "^%s+at io%.digdag") -- a stack line keeps its ERROR level
  ok(text:find("+daily+extract", 1, true) < text:find("+daily+transform", 1, true))
  local debug = a:logs { level = "debug" }
  ok(#debug > #lines)
  like(table.concat(debug, "\n"), "%[DEBUG%]")
  local errs = a:logs { level = "error" }
  eq(#errs, 3)
  local one = a:logs { task = "+daily+extract" }
  for _, l in ipairs(one) do eq(l:find("+daily+transform", 1, true), nil) end
  ok(#one > 0)
  local files = a:log_files()
  eq(#files, 2)
  eq(files[1].task_name, "+daily+extract")
  like(a:log_file(files[1]), "finished successfully")
  like(a:log_file(files[2].file_name), "Task failed") -- by name: through the API
  like(raises_kind("usage", a.logs, a, { level = "loud" }).message, "'level'")
  like(raises_kind("usage", a.logs, a, { task = "daily" }).message, "'task'")
end)

test("log files come from the direct URL without the API key, or from the API", function()
  t.reset()
  local w = wf()
  local a = w:attempt(9)
  a:logs()
  local direct = requests("GET", "^/fake%-s3/")
  eq(#direct, 2)
  for _, r in ipairs(direct) do
    eq(r.headers.authorization, nil)
    eq(r.status, 200)
  end
  eq(#requests("GET", "^/api/logs/9/files/"), 0)
  -- a refused link falls back to the API
  t.reset()
  t.fault { path = "^/fake-s3/", status = 403, times = -1 }
  local lines = a:logs { direct = true }
  ok(#lines > 3)
  eq(#requests("GET", "^/api/logs/9/files/"), 2)
  t.reset()
  a:logs { direct = false }
  eq(#requests("GET", "^/fake%-s3/"), 0)
end)

test("follow_logs prints each new line once until the attempt is done", function()
  t.reset()
  local w = wf()
  local a = w:start("etl", "daily", { session_time = "2026-11-05" })
  local got = {}
  local r = a:follow_logs { interval = 0.01, max_interval = 0.02, on_line = function(line) got[#got + 1] = line end }
  eq(r, a)
  eq(a.status, "success")
  local seen, finished = {}, 0
  for _, l in ipairs(got) do
    ok(not seen[l], "line repeated: " .. l)
    seen[l] = true
    if l:find("finished successfully", 1, true) then finished = finished + 1 end
  end
  eq(finished, 3)
  eq(#got, #a:logs()) -- the same lines as a one-off read
  -- a task prefix stops once that task is done
  local b = w:start("etl", "daily", { session_time = "2026-11-06" })
  local part = {}
  b:follow_logs { task = "+daily+extract", interval = 0.01, max_interval = 0.02, on_line = function(l) part[#part + 1] = l end }
  for _, l in ipairs(part) do like(l, "%+daily%+extract") end
  like(part[#part], "finished successfully")
end)

test("timeline draws every task on one time axis", function()
  t.reset()
  local w = wf()
  local text = w:attempt(7):timeline { print = false, width = 20 }
  like(text, "^attempt 7  etl/daily  session 2026%-11%-22T00:00:00%+00:00  error")
  like(text, "\n  %+daily%+extract +success +02:00:05 +1m00s  |##########          |")
  like(text, "\n  %+daily%+transform +error +02:01:05 +1m00s  |          XXXXXXXXXX|")
  like(text, "\n  %+daily%+load +blocked +%- +|")
end)

-- ---------------------------------------------------------------------------
-- schedules

test("disable, enable (skipping what was missed), project-wide", function()
  t.reset()
  local w = wf()
  local s = w:schedule(2)
  eq(s:disable(), s)
  eq(s.enabled, false)
  ok(s.disabled_at)
  s:enable()
  eq(s.enabled, true)
  eq(requests("POST", "^/api/schedules/2/enable$")[1].json, { skipSchedule = true })
  s:enable { skip_schedule = false }
  s:enable { next_time = "2026-11-30 00:00:00" }
  eq(requests("POST", "^/api/schedules/2/enable$")[3].json.nextTime, "2026-11-30T00:00:00")
  eq(s.next_schedule_time, "2026-11-30T00:00:00+00:00")
  local all = w:project("etl"):disable()
  eq(#all, 2)
  for _, x in ipairs(all) do eq(x.enabled, false) end
  for x in w:schedules() do eq(x.enabled, false) end
  for _, x in ipairs(w:project("etl"):enable()) do eq(x.enabled, true) end
  like(raises_kind("usage", s.enable, s, { skip_schedule = "yes" }).message, "skip_schedule")
end)

test("skip to a time or by count; skipping into the past is a clear conflict", function()
  t.reset()
  local w = wf()
  local s = w:schedule(1)
  local preview = s:skip { next_time = "2026-11-25", dry_run = true }
  eq(preview.next_schedule_time, "2026-11-25T00:00:00+00:00")
  eq(s.next_schedule_time, "2026-11-23T00:00:00+00:00") -- dry run: unchanged
  s:skip { next_time = "2026-11-25" }
  eq(s.next_schedule_time, "2026-11-25T00:00:00+00:00")
  eq(w:schedule(1).next_schedule_time, "2026-11-25T00:00:00+00:00")
  local e = raises_kind("conflict", s.skip, s, { next_time = "2026-11-24" })
  like(e.message, "already past")
  like(e.hint, "2026%-11%-25")
  s:skip { count = 2, from = "2026-11-26T00:00:00Z" }
  eq(s.next_schedule_time, "2026-11-28T00:00:00+00:00")
  like(raises_kind("usage", s.skip, s, {}).message, "next_time or count")
  like(raises_kind("usage", s.skip, s, { count = 0 }).message, "'count'")
  like(raises_kind("usage", s.skip, s, { next_time = "soon" }).message, "'next_time'")
end)

test("backfill starts the missed sessions and explains 400 and 409", function()
  t.reset()
  local w = wf()
  local sched = w:schedule { project = "etl", workflow = "daily" }
  local dry = sched:backfill { from = "2026-11-01", count = 3, dry_run = true }
  eq(#dry, 3)
  eq(dry[1].id, "0")
  local attempts = sched:backfill { from = "2026-11-10", count = 2, name = "bf-1" }
  eq(#attempts, 2)
  eq(attempts[1].session_time, "2026-11-10T00:00:00+00:00")
  eq(attempts[2].session_time, "2026-11-11T00:00:00+00:00")
  eq(attempts[1].retry_attempt_name, "bf-1")
  local body = requests("POST", "/backfill$")[2].json
  eq(body.fromTime, "2026-11-10T00:00:00Z")
  eq(body.attemptName, "bf-1")
  local results = td.wait_all(attempts, FAST)
  for _, r in ipairs(results) do eq(r.ok and r.value.status, "success") end
  local e = raises_kind("conflict", sched.backfill, sched, { from = "2026-11-10", count = 1, name = "bf-1" })
  like(e.message, "already exists")
  like(e.hint, "skip_existing")
  e = raises_kind("bad_request", sched.backfill, sched, { from = "2026-11-20", count = 10 })
  like(e.message, "count is set to 10")
  like(e.hint, "next scheduled one %(2026%-11%-23")
  local skipped = sched:backfill { from = "2026-11-10", count = 3, skip_existing = true }
  eq(#skipped, 1) -- the 10th and 11th ran already
  eq(skipped[1].session_time, "2026-11-12T00:00:00+00:00")
  like(raises_kind("usage", sched.backfill, sched, { count = 2 }).message, "'from'")
  like(raises_kind("usage", sched.backfill, sched, { from = "2026-11-10", count = -1 }).message, "'count'")
end)

test("the API key never shows in errors or objects", function()
  t.reset()
  local w = wf()
  local ok1, e = pcall(w.project, w, "nope")
  eq(ok1, false)
  eq(tostring(e):find(t.KEY, 1, true), nil)
  local a = w:attempt(7)
  eq(require("td.pretty").format(a, 5):find(t.KEY, 1, true), nil)
  eq(tostring(a):find(t.KEY, 1, true), nil)
end)

test("objects keep the API's field names once; snake_case and *_epoch names read through", function()
  t.reset()
  local w = wf()
  local a = w:attempt(7)
  eq(a.created_at, a.createdAt)
  eq(a.session_time, a.sessionTime)
  eq(a.created_epoch, td.time.parse(a.createdAt))
  eq(a.session_epoch, td.time.parse(a.sessionTime))
  for k in pairs(a) do
    ok(not (type(k) == "string" and k:find("_at$")), "snake_case copy in the object: " .. tostring(k))
  end
  local task = a:tasks()[2]
  eq(task.full_name, task.fullName)
  eq(task.started_epoch, td.time.parse(task.startedAt))
  eq(type(task.isGroup), "boolean")
  local header = td.pretty.render(a:tasks()):match("^[^\n]+")
  ok(not header:find("full_name", 1, true), "a rendered task list shows fields twice: " .. header)
end)
