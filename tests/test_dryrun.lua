-- --dry-run rehearses a runbook: every example runs to its end, nothing that
-- changes anything is sent, placeholders finish at once with empty results,
-- and each line says what would happen in TD's words
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local q = t.sh_quote

-- the fake server's clock starts at this instant on every reset
local FAKE_NOW = 1795341600 -- 2026-11-22 10:00:00 UTC
local PRETEND_NOW = q(([[local real, t0, c0 = os.time, %d, os.time()
os.time = function(tt) if tt then return real(tt) end return t0 + (real() - c0) end]]):format(FAKE_NOW))

local function env()
  local f = t.fake()
  return {
    TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_WORKFLOW_SERVER = f.url,
    TD_CONFIG_PATH = "/nonexistent", TDLUA_HISTORY = "",
  }
end

local READS = { GET = true, HEAD = true, OPTIONS = true }

-- the requests that reached the server and could have changed something
-- (a workflow request carrying the API's own dryRun = true changes nothing)
local function mutating()
  local out = {}
  for _, r in ipairs(t.log()) do
    if not READS[r.method] and not (type(r.json) == "table" and r.json.dryRun == true) then
      out[#out + 1] = r.method .. " " .. r.path
    end
  end
  return out
end

-- the arguments (and what must exist in TD) for examples that need them
local ARGS = {
  daily_report = function(dir) return "2026-11-21 " .. q(dir) end,
  bounded_queries = function() return "2026-11-20 2026-11-21" end,
  schedule_range = function()
    t.client():create_schedule("dry_kpi", { cron = "0 0 * * *", query = "SELECT 1", database = "web" })
    return "dry_kpi 2026-11-18 2026-11-21"
  end,
  import_csv = function(dir)
    local f = assert(io.open(dir .. ".users.csv", "w")) -- beside the directory that must stay empty
    f:write("id,name,time\n1,ann,1795341600\n2,bob,1795341601\n")
    f:close()
    return q(dir .. ".users.csv") .. " web.dry_users"
  end,
}

local function examples()
  local list = {}
  local p = io.popen("ls examples/*.lua")
  for line in p:lines() do list[#list + 1] = line end
  p:close()
  table.sort(list)
  return list
end

test("every example runs to its end under --dry-run, exit 0, sending nothing that changes anything", function()
  local list = examples()
  ok(#list >= 5, "examples found")
  local outputs = {}
  for _, ex in ipairs(list) do
    t.reset()
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. q(dir))
    -- the scripts look at "the last day" of the fake server's clock; the
    -- report is asked to go to a fresh directory
    local setup = ARGS[ex:match("([^/]+)%.lua$")]
    local args = setup and setup(dir) or ""
    local before = #mutating() -- what the set-up itself created
    local code, out, err = t.run("--dry-run -e " .. PRETEND_NOW .. " " .. q(ex) .. " " .. args, env())
    eq(code, 0, ex .. " exited " .. tostring(code) .. ":\n" .. err)
    eq({ table.unpack(mutating(), before + 1) }, {}, ex .. " sent requests that change things")
    ok(not (out .. err):find(t.KEY:sub(3), 1, true), ex .. ": the API key leaked")
    ok(not err:find("%%[0-9A-F][0-9A-F]"), ex .. ": a URL-encoded line: " .. err)
    -- nothing was written by a rehearsal
    local p = io.popen("ls -A " .. q(dir))
    eq(p:read("a"), "", ex .. " wrote files")
    p:close()
    os.execute("rm -rf " .. q(dir) .. " " .. q(dir .. ".users.csv"))
    outputs[ex:match("([^/]+)%.lua$")] = { out = out, err = err }
  end
  -- what would happen, in TD's words
  local daily = outputs.daily_report
  like(daily.err, "%[dry%-run%] would submit a presto query on database web:\n    SELECT country, COUNT%(1%) AS pv FROM web%.pageviews\n    WHERE TD_TIME_RANGE%(time, '2026%-11%-21', TD_TIME_ADD%('2026%-11%-21', '1d'%)%)\n")
  like(daily.err, "would download the result of the presto job %(SELECT country.-%) to [^\n]*/report%-2026%-11%-21%.csv as csv")
  like(daily.err, "wrote 0 rows %(job %(dry%-run%)%)")
  local retry = outputs.retry_failed
  like(retry.err, "%[dry%-run%] would retry attempt 9 of etl/hourly %(resume failed%)\n  %(PUT /api/attempts%)")
  like(retry.err, "%[dry%-run%] would retry attempt 7 of etl/daily %(resume failed%)")
  eq(retry.out, "9\tdry-run\n7\tdry-run\n")
  like(outputs.backfill.err, "%[dry%-run%] would backfill etl/daily: start up to 7 sessions from 2026%-11%-01T00:00:00Z")
  like(outputs.quickstart.out, "Job %(dry%-run%) finished: 0 rows")
  like(outputs.kill_long_jobs.err, "would kill job 1023")
end)

test("waiting on dry-run objects finishes at once and their results are empty", function()
  t.reset()
  -- the dry-run lines go to a file to be read back
  local real_stderr, capture = io.stderr, io.tmpfile()
  io.stderr = capture
  local okc, errc = pcall(function()
  local c = t.client { workflow_endpoint = t.fake().url, dry_run = true }
  local before = #t.log()
  local job = c:query("SELECT 1", { db = "web" })
  eq(job.job_id, "(dry-run)")
  eq(job:wait { timeout = 5 }, job)
  eq(job:refresh(), job)
  eq(job:fetch(10), {})
  eq(job:columns(), {})
  local n = 0
  for _ in job:rows() do n = n + 1 end
  for _ in job:records() do n = n + 1 end
  eq(n, 0)
  eq(tostring(job:result_table(3)), "(dry run: no result)")
  local dest = os.tmpname()
  os.remove(dest)
  eq(job:download(dest, { format = "csv" }).rows, 0)
  eq(t.exists(dest), false, "a rehearsal writes no file")
  eq(job:kill(), nil)
  eq(job:result_export { result = "mysql://x/y" }.job_id, "(dry-run)")
  -- every kind of wait on many dry-run objects
  local jobs = { job, c:query("SELECT 2", { db = "web" }) }
  local res = td.wait_all(jobs, { timeout = 5 })
  eq(res[2].value.status, "dry-run")
  eq(#t.log(), before, "no request reached the server")
  -- workflow: a retry placeholder
  local real = t.client { workflow_endpoint = t.fake().url }
  local a = real.workflow:attempt("7")
  local wf = c.workflow
  local dry = wf:attempt("7"):retry { resume = "failed" }
  eq(dry.id, "(dry-run)")
  eq(dry:wait(), dry)
  eq(dry:tasks(), {})
  eq(dry:timeline(), "")
  eq(a.status, "error")
  for _, r in ipairs(t.log()) do ok(READS[r.method], "sent " .. r.method .. " " .. r.path) end
  end)
  io.stderr = real_stderr
  capture:seek("set")
  local lines = capture:read("a")
  capture:close()
  if not okc then error(errc, 0) end
  like(lines, "would download the result of the presto job %(SELECT 1%) to [^\n]+ as csv\n")
  like(lines, "would kill the presto job %(SELECT 1%)\n")
  like(lines, "would export the result of the presto job %(SELECT 1%) to mysql://x/y\n")
  like(lines, "would retry attempt 7 of etl/daily %(resume failed%)\n")
end)

test("a declared operation says what it would do in words, from its declaration", function()
  t.reset()
  local c = t.client { dry_run = true }
  local real_stderr, capture = io.stderr, io.tmpfile()
  io.stderr = capture
  local okc, errc = pcall(function()
    c:create_database("newdb")
    c:swap_table("web", "pageviews", "pageviews_tmp")
  end)
  io.stderr = real_stderr
  capture:seek("set")
  local lines = capture:read("a")
  capture:close()
  if not okc then error(errc, 0) end
  like(lines, "^%[dry%-run%] would create database newdb\n  %(POST /v3/database/create/newdb%)\n")
  like(lines, "would swap tables web%.pageviews and web%.pageviews_tmp\n")
  eq(mutating(), {})
end)

test("every placeholder job finishes its wait at once: bulk import perform too", function()
  t.reset()
  local c = t.client { dry_run = true }
  local real_stderr, capture = io.stderr, io.tmpfile()
  io.stderr = capture
  local okc, errc = pcall(function()
    local job = c:perform_bulk_import("sess_one")
    eq(job.job_id, "(dry-run)")
    eq(job:wait { timeout = 1 }, job)
    eq(job:fetch(5), {})
  end)
  io.stderr = real_stderr
  capture:seek("set")
  local lines = capture:read("a")
  capture:close()
  if not okc then error(errc, 0) end
  like(lines, "would perform bulk import sess_one")
  for _, r in ipairs(t.log()) do ok(READS[r.method], "sent " .. r.method .. " " .. r.path) end
end)

test("a v3 request without words of its own is told from its path; an import says how many records", function()
  t.reset()
  local c = t.client { dry_run = true }
  local real_stderr, capture = io.stderr, io.tmpfile()
  io.stderr = capture
  local okc, errc = pcall(function()
    c:request("POST", "/v3/table/update/web/pageviews", { form = { expire_days = 30 } })
    c:import("web", "pageviews", { { time = 1795341600, path = "/a" }, { time = 1795341601, path = "/b" } })
  end)
  io.stderr = real_stderr
  capture:seek("set")
  local lines = capture:read("a")
  capture:close()
  if not okc then error(errc, 0) end
  like(lines, "would update table web pageviews with expire_days=30\n  %(POST /v3/table/update/web/pageviews%)\n")
  like(lines, "would import 2 records into web%.pageviews %(%d+ bytes of msgpack%.gz, unique id [^)]+%)\n")
  eq(mutating(), {})
end)
