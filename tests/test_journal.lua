-- td.step and the journal: resumable runbooks. The kill tests run
-- examples/nightly_etl.lua as a child tdlua, SIGKILL it at several points
-- (a job submitted but its reply lost, a job running, between steps, a
-- workflow attempt running), re-run it with the same journal and check the
-- fake server: exactly one job per query step and one attempt, whatever
-- the point of the kill.
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local q = t.sh_quote
local cjson = require "cjson"

local DAY = "2026-11-15" -- etl/daily has no session for this day

local function env()
  local f = t.fake()
  return {
    TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_WORKFLOW_SERVER = f.url,
    TD_CONFIG_PATH = "/nonexistent", TDLUA_HISTORY = "",
  }
end

local function config(cfg)
  td.http.request(t.client(), { method = "POST", path = "/__fake/config", auth = false, idempotent = true, json = cfg })
end

local function bin() return os.getenv("TDLUA_BIN") or arg[-1] or "./tdlua" end

-- start tdlua in the background; returns its pid
local function start(args)
  local base = t.fake().dir .. "/bg"
  local envs = {}
  for k, v in pairs(env()) do envs[#envs + 1] = k .. "=" .. q(v) end
  os.execute(("env %s %s %s >%s 2>%s </dev/null & echo $! >%s"):format(table.concat(envs, " "), q(bin()), args,
    q(base .. ".out"), q(base .. ".err"), q(base .. ".pid")))
  local f = assert(io.open(base .. ".pid"))
  local pid = f:read("n")
  f:close()
  return pid
end

local function alive(pid)
  return os.execute(("kill -0 %d 2>/dev/null"):format(pid)) == true
end

-- poll for a condition (bounded, not timed: the bound only ends a hang)
local function wait_for(what, pred, pid)
  for _ = 1, 600 do
    if pred() then return end
    if pid and not alive(pid) then
      error("the runbook ended before " .. what .. ": " .. (t.slurp(t.fake().dir .. "/bg.err") or ""))
    end
    td.sleep(0.05)
  end
  error("gave up waiting for " .. what)
end

local function kill9(pid)
  os.execute(("kill -9 %d 2>/dev/null"):format(pid))
  wait_for("the runbook to die", function() return not alive(pid) end)
end

local function issued()
  local n = 0
  for _, r in ipairs(t.log()) do
    if r.method == "POST" and r.path:find("^/v3/job/issue/") and r.status == 200 then n = n + 1 end
  end
  return n
end

local function journal(path)
  local s = t.slurp(path)
  return s and cjson.decode(s)
end

local function new_jobs() return tonumber(t.state().v3.last_job_id) - 1025 end

local function session_attempts()
  local n = 0
  for _, r in ipairs(t.log()) do
    if r.method == "PUT" and r.path == "/api/attempts" and r.status == 200 then n = n + 1 end
  end
  return n
end

-- the whole runbook, killed where `point` says, then re-run to the end
local function kill_and_rerun(running_secs, point, after_kill)
  t.reset { mode = "time", queued_secs = 0, running_secs = running_secs }
  config { wf_mode = "time", wf_task_secs = 100000 }
  local jpath = t.fake().dir .. "/etl.journal"
  os.remove(jpath)
  local args = "--journal " .. q(jpath) .. " examples/nightly_etl.lua " .. DAY
  local pid = start(args)
  point(pid, jpath)
  kill9(pid)
  if after_kill then after_kill() end
  -- what the killed run left behind: TD finishes what it was given
  config { running_secs = 0, wf_task_secs = 0 }
  local code, out, err = t.run(args, env())
  eq(code, 0, err)
  eq(out, "")
  like(err, "nightly ETL for " .. DAY:gsub("%-", "%%-") .. " done")
  eq(new_jobs(), 2, "jobs created (one per query step)")
  local j = journal(jpath)
  for _, name in ipairs { "stage", "aggregate", "publish" } do eq(j.steps[name].status, "done", name) end
  ok(not (t.slurp(jpath) or ""):find(t.KEY:sub(3), 1, true), "the API key is in the journal")
  return err, j
end

test("a runbook killed right after a job submission (reply lost) re-attaches on the re-run", function()
  local err = kill_and_rerun(100000, function(pid)
    -- hold the first submission's reply back, then kill while it is in flight
    t.fault { method = "POST", path = "^/v3/job/issue/", delay = 0.5, times = 1 }
    wait_for("the submission to reach the server", function()
      local faults = td.http.request(t.client(), { path = "/__fake/faults", auth = false })
      return faults.faults[1] and faults.faults[1].hits == 1
    end, pid)
  end, function()
    -- the server goes on and creates the job: its reply has nobody to reach
    wait_for("the job of the lost reply", function() return new_jobs() == 1 end)
  end)
  like(err, "step stage: resuming")
  eq(session_attempts(), 1)
end)

test("a runbook killed while a step's job runs re-attaches to that job", function()
  local err = kill_and_rerun(100000, function(pid, jpath)
    wait_for("the first job to run", function()
      local j = journal(jpath)
      return issued() == 1 and j and j.steps.stage and j.steps.stage.status == "running"
    end, pid)
  end)
  like(err, "step stage: resuming")
  eq(#t.requests("POST", "^/v3/job/issue/"), 2 + 1, "the re-run's stage submission was a re-attach (409)")
end)

test("a runbook killed between steps skips the finished step and re-attaches to the next", function()
  local err, j = kill_and_rerun(0, function(pid, jpath)
    -- the second job's first status poll hangs: the kill comes while it runs
    t.fault { path = "^/v3/job/(status|show)/1027", delay = 30, times = 1 }
    wait_for("the second step's job", function()
      local jj = journal(jpath)
      return jj and jj.steps.stage and jj.steps.stage.status == "done" and issued() == 2
    end, pid)
  end)
  like(err, "step stage: done in an earlier run, skipped")
  like(err, "step aggregate: resuming")
  eq(j.steps.stage.results[1], "1026")
end)

test("a runbook killed while its workflow attempt runs finds that attempt again", function()
  local err = kill_and_rerun(0, function(pid)
    wait_for("the attempt to start", function() return session_attempts() == 1 end, pid)
  end)
  like(err, "step aggregate: done in an earlier run, skipped")
  eq(session_attempts(), 1, "attempts started")
  eq(#t.requests("PUT", "^/api/attempts$"), 2, "the re-run asked for the same session")
  eq(t.state().workflow.last_attempt_id, "13")
end)

-- a small script run twice with one journal
local function twice(script, extra_env)
  local jpath = t.fake().dir .. "/unit.journal"
  os.remove(jpath)
  local e = env()
  for k, v in pairs(extra_env or {}) do e[k] = v end
  local file = t.write_tmp(script, ".lua")
  local r1 = table.pack(t.run("--journal " .. q(jpath) .. " " .. q(file) .. " 1", e))
  local r2 = table.pack(t.run("--journal " .. q(jpath) .. " " .. q(file) .. " 2", e))
  local j = journal(jpath)
  local mode = io.popen("stat -c %a " .. q(jpath)):read("l")
  os.remove(file)
  return r1, r2, j, mode, t.slurp(jpath)
end

test("td.step records results once; a re-run returns them without running the step", function()
  t.reset()
  local r1, r2, j, mode, text = twice([[
    local n = td.step("count", function() io.write("ran ") return 42, "x", { a = { 1, 2 } } end)
    local a, b, c = td.step("count2", function() return nil, true end)
    print(n, a, b, c)
  ]])
  eq(r1[1], 0, r1[3])
  eq(r1[2], "ran 42\tnil\ttrue\tnil\n")
  eq(r2[1], 0, r2[3])
  eq(r2[2], "42\tnil\ttrue\tnil\n")
  like(r2[3], "step count: done in an earlier run, skipped")
  eq(j.steps.count.results[3].a, { 1, 2 })
  eq(mode, "600")
  ok(not text:find("\n.", 1), "the journal is one line of JSON")
end)

test("a journal holds no secret: results and errors are redacted, objects recorded as plain fields", function()
  t.reset { mode = "time", queued_secs = 0, running_secs = 0 }
  local _, _, j, _, text = twice([[
    local job = td.step("job", function() return td.query("SELECT 1", { db = "web" }):wait() end)
    td.step("leak", function() return "key " .. os.getenv("TD_API_KEY") end)
    if arg[1] == "1" then td.step("boom", function() error("failed with " .. os.getenv("TD_API_KEY")) end) end
  ]])
  ok(not text:find(t.KEY:sub(3), 1, true), "the API key is in the journal")
  eq(j.steps.job.results[1].job_id, "1026")
  eq(j.steps.job.results[1].client, nil)
  like(j.steps.leak.results[1], "^key 1/d4%*%*%*%*$")
  eq(j.steps.boom.status, "failed")
  like(j.steps.boom.error, "1/d4%*%*%*%*")
end)

test("journal identities are stable across re-runs and fresh after a failed job", function()
  t.reset { mode = "time", queued_secs = 0, running_secs = 0 }
  local r1, r2, j = twice([[
    local journal = require "td.journal"
    print(journal.identity("query"))           -- outside a step: nil
    td.step("a", function() print(journal.identity("query"), journal.identity("start")) end)
    td.step("b", function()
      print(journal.identity("query"))
      if arg[1] == "1" then
        require("td.errors").raise { kind = arg[1] == "1" and "job_failed" or "x", message = "the job failed" }
      end
    end)
  ]])
  eq(r1[1], 3, "job_failed exits 3") -- job failed
  eq(r2[1], 0, r2[3])
  local l1, l2 = {}, {}
  for line in r1[2]:gmatch("[^\n]+") do l1[#l1 + 1] = line end
  for line in r2[2]:gmatch("[^\n]+") do l2[#l2 + 1] = line end
  eq(l1[1], "nil")
  local id = j.run_id
  like(l1[2], "^tdlua%-" .. id .. "%-a%-%x+%-0%-1\ttdlua%-" .. id .. "%-a%-%x+%-0%-2$")
  like(l1[3], "^tdlua%-" .. id .. "%-b%-%x+%-0%-1$")
  -- the re-run: step a was done (skipped, so no identities), b runs as generation 1
  eq(#l2, 2)
  like(l2[2], "^tdlua%-" .. id .. "%-b%-%x+%-1%-1$")
  eq(j.steps.b.generation, 1)
end)

test("td.step: names are unique per run, results must be plain data, and without a journal steps just run", function()
  local code, _, err = t.run("-e " .. q([[td.step("x", function() end) td.step("x", function() end)]]), env())
  eq(code, 2)
  like(err, "ran already")
  code, _, err = t.run("--journal " .. q(t.fake().dir .. "/f.journal") .. " -e " .. q([[td.step("f", function() return print end)]]), env())
  eq(code, 2)
  like(err, "plain data")
  local out
  code, out, err = t.run("-e " .. q([[print(td.step("s", function(a) return a * 2 end, 21))]]), env())
  eq(code, 0, err)
  eq(out, "42\n")
  like(err, "step s: done in")
  -- JSON logs carry the step's name as a field
  code, _, err = t.run("--log-format json -e " .. q([[td.step("load day", function() end)]]), env())
  eq(code, 0, err)
  local last
  for l in err:gmatch("[^\n]+") do last = cjson.decode(l) end
  eq(last.step, "load day")
  like(last.msg, "^step load day: done in")
end)
