-- a lost reply never makes work run twice or report failure after it
-- succeeded: every call that changes something, with the server carrying
-- the request out and then failing its answer (503, a reset, invalid JSON,
-- a stall), leaves exactly one effect and returns it (td.submit, td.http)
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind

local AFTER_ACT = { "after_act_503", "after_act_reset", "after_act_badjson", "after_act_stall" }

local function client()
  return t.client { workflow_endpoint = t.fake().url, stall_timeout = 1, retry_base_delay = 0.01 }
end

-- how many jobs / attempts the fake server has created so far
local function last_job() return t.state().v3.last_job_id end
local function last_attempt() return t.state().workflow.last_attempt_id end

local function with_faults(fn)
  for _, kind in ipairs(AFTER_ACT) do
    t.reset()
    fn(kind, client())
  end
end

test("query: one job per call whatever happens to the reply", function()
  with_faults(function(kind, c)
    t.inject(kind, "POST", "^/v3/job/issue/")
    local sql = "SELECT 1 -- " .. kind
    local before = last_job()
    local job = c:query(sql, { db = "web" })
    ok(job.job_id and job.job_id:match("^%d+$"), kind .. ": a real job id")
    eq(last_job() - before, 1, kind .. ": exactly one job")
    eq(job.job_id, tostring(last_job()), kind .. ": the job created")
    eq(job.domain_key ~= nil, true)
  end)
end)

test("result_export and run_schedule: one effect per call after a lost reply", function()
  with_faults(function(kind, c)
    local job = c:query("SELECT 1", { db = "web" }):wait { interval = 0.01, progress = false }
    t.inject(kind, "POST", "^/v3/job/result_export/")
    local before = last_job()
    local ex = job:result_export { result = "mysql://u:p@h/db/t" }
    eq(last_job() - before, 1, kind .. ": one result_export job")
    eq(ex.job_id, tostring(last_job()), kind)
    c:create_schedule("s_" .. kind, { cron = "0 0 * * *", query = "SELECT 2", database = "web" })
    t.inject(kind, "POST", "^/v3/schedule/run/")
    local runs = c:run_schedule("s_" .. kind, 1795305600)
    eq(#runs, 1, kind)
    local n = 0
    for _ in c:schedule_history("s_" .. kind) do n = n + 1 end
    eq(n, 1, kind .. ": the schedule ran once")
  end)
end)

test("a 200 with invalid JSON after the job was created: the job is found by its domain_key", function()
  t.reset()
  local c = client()
  t.fault { method = "POST", path = "^/v3/job/issue/", act = true, action = "badjson", times = -1 }
  local before = last_job()
  local job = c:query("SELECT 'bad json'", { db = "web" })
  eq(job.job_id, tostring(last_job()))
  eq(last_job() - before, 1)
  -- when TD cannot be asked either, the error carries the key and says how to find the job
  t.reset()
  local c2 = t.client { max_retries = 1 }
  t.fault { method = "POST", path = "^/v3/job/issue/", act = true, status = 503, times = -1 }
  t.fault { method = "GET", path = "^/v3/job/status_by_domain_key/", status = 503, times = -1 }
  local e = raises_kind("server", c2.query, c2, "SELECT 'unknown'", { db = "web", domain_key = "my-key-1" })
  like(tostring(e), "my%-key%-1")
  eq(e.domain_key, "my-key-1")
  eq(e.maybe_done, true)
  like(e.hint, "domain_key my%-key%-1")
end)

-- ---------------------------------------------------------------------------
-- workflow

test("start: a lost reply is our own attempt, never an older session nor a second start", function()
  for _, if_exists in ipairs { "return", "retry", "error" } do
    with_faults(function(kind, c)
      local w = c.workflow
      t.inject(kind, "PUT", "^/api/attempts$")
      local before = last_attempt()
      local a = w:start("etl", "daily", { session_time = "2026-11-15", if_exists = if_exists })
      eq(a.existing, nil, kind .. "/" .. if_exists .. ": not taken for an older session")
      eq(last_attempt() - before, 1, kind .. "/" .. if_exists .. ": exactly one attempt started")
      eq(a.id, tostring(last_attempt()))
    end)
  end
  -- a session that really exists still answers as before
  t.reset()
  local w = client().workflow
  t.inject("after_act_503", "PUT", "^/api/attempts$")
  local again = w:start("etl", "daily", { session_time = "2026-11-22", if_exists = "return" })
  eq(again.id, "7")
  eq(again.existing, true)
end)

test("attempt:retry after a lost reply returns the attempt it created, once", function()
  with_faults(function(kind, c)
    local w = c.workflow
    local a = w:attempt(7)
    t.inject(kind, "PUT", "^/api/attempts$")
    local before = last_attempt()
    local r = a:retry { resume = "failed" }
    eq(r.id, tostring(last_attempt()), kind)
    eq(last_attempt() - before, 1, kind .. ": one retry")
  end)
  -- a name that is really taken is still a conflict
  t.reset()
  local w = client().workflow
  local a = w:attempt(7)
  a:retry { name = "taken" }
  raises_kind("conflict", a.retry, a, { name = "taken" })
end)

test("attempt:kill after a lost reply reports the kill that worked", function()
  with_faults(function(kind, c)
    local w = c.workflow
    local a = w:start("etl", "daily", { session_time = "2026-11-03", params = { fake_stuck = true } })
    t.inject(kind, "POST", "^/api/attempts/%d+/kill$")
    local k = a:kill()
    eq(k.cancel_requested, true, kind)
    eq(w:attempt(a.id).cancel_requested, true, kind .. ": TD has the kill")
  end)
  -- killing a finished attempt still says so
  t.reset()
  local w = client().workflow
  raises_kind("already_finished", w.kill, w, 7)
end)

test("wrong-shaped answers are bad_response errors, never raw Lua errors or made-up values", function()
  local c = client()
  for _, kind in ipairs { "shape_null", "shape_number", "shape_string", "shape_array", "shape_object" } do
    t.reset()
    local job = c:query("SELECT 1", { db = "web" })
    t.inject(kind, "GET", "^/v3/job/status/", { times = -1 })
    local e = raises_kind("bad_response", job.refresh, job)
    like(e.url, "/v3/job/status/")
    t.reset()
    t.inject(kind, "GET", "^/api/attempts/7$", { times = -1 })
    local w = c.workflow
    local e2 = raises_kind("bad_response", w.attempt, w, 7)
    like(e2.url, "/api/attempts/7")
  end
end)

test("schedule:backfill and schedule:skip after a lost reply: started once, moved once, reported done", function()
  with_faults(function(kind, c)
    local w = c.workflow
    local sched = w:schedule { project = "etl", workflow = "daily" }
    t.inject(kind, "POST", "^/api/schedules/%d+/backfill$")
    local before = last_attempt()
    local got = sched:backfill { from = "2026-11-10", count = 2 }
    eq(last_attempt() - before, 2, kind .. ": two sessions started, once each")
    eq(#got, 2, kind)
    eq(got[1].session_time, "2026-11-10T00:00:00+00:00", kind)
    local s = w:schedule(1)
    t.inject(kind, "POST", "^/api/schedules/1/skip$")
    s:skip { next_time = "2026-11-25" }
    eq(s.next_schedule_time, "2026-11-25T00:00:00+00:00", kind)
    eq(w:schedule(1).next_schedule_time, "2026-11-25T00:00:00+00:00", kind)
  end)
end)

test("bulk import create, perform and commit after a lost reply: one session, one perform job, one commit", function()
  with_faults(function(kind, c)
    local name = "lost_" .. kind
    t.inject(kind, "POST", "^/v3/bulk_import/create/")
    c:create_bulk_import(name, "web", "pageviews")
    eq(c:bulk_import(name).status, "uploading", kind)
    c:upload_bulk_import_part(name, "p1", { { time = 1700000000, n = 1 }, { time = 1700000001, n = 2 } })
    c:freeze_bulk_import(name)
    t.inject(kind, "POST", "^/v3/bulk_import/perform/")
    local before = last_job()
    local job = c:perform_bulk_import(name)
    eq(last_job() - before, 1, kind .. ": one perform job")
    eq(job.job_id, tostring(last_job()), kind)
    job:wait { interval = 0.01, progress = false }
    t.inject(kind, "POST", "^/v3/bulk_import/commit/")
    c:commit_bulk_import(name)
    local s = c:bulk_import(name)
    ok(s.status == "committing" or s.status == "committed", kind .. ": committed once (" .. tostring(s.status) .. ")")
  end)
end)

test("push after a lost reply: the revision is stored once and returned", function()
  with_faults(function(kind, c)
    local w = c.workflow
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. t.sh_quote(dir))
    local f = assert(io.open(dir .. "/hello.dig", "w"))
    f:write("timezone: UTC\n\n+hello:\n  echo>: hello\n")
    f:close()
    t.inject(kind, "PUT", "^/api/projects$")
    local p = w:push("lost_" .. kind, dir)
    eq(p.name, "lost_" .. kind, kind)
    local revs = {}
    for r in w:revisions("lost_" .. kind) do revs[#revs + 1] = r end
    eq(#revs, 1, kind .. ": one revision")
    eq(revs[1].revision, p.revision, kind)
    -- a given revision name that really exists is still a conflict
    raises_kind("conflict", w.push, w, "lost_" .. kind, dir, { revision = p.revision })
    os.execute("rm -rf " .. t.sh_quote(dir))
  end)
end)
