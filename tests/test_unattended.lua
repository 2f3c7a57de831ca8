-- unattended runs: exit statuses, --lock, --max-runtime, loops that stop
-- cleanly on signals, logs, progress, alerts, strict globals and profiles
-- (child tdlua processes against the fake TD server)
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local q = t.sh_quote
local cjson = require "cjson"

local function env(extra)
  local f = t.fake()
  local e = {
    TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_WORKFLOW_SERVER = f.url,
    TD_CONFIG_PATH = "/nonexistent", TDLUA_HISTORY = "",
  }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function run_e(code, extra_args, extra_env)
  return t.run((extra_args or "") .. " -e " .. q(code), env(extra_env))
end

local function bin() return os.getenv("TDLUA_BIN") or arg[-1] or "./tdlua" end

-- start tdlua in the background; returns its pid and a function that waits
-- for its exit status
local function start(args, extra_env)
  local base = t.fake().dir .. "/bg"
  -- nothing from an earlier start may be mistaken for this one's
  for _, ext in ipairs { ".rc", ".out", ".err" } do os.remove(base .. ext) end
  local envs = {}
  for k, v in pairs(env(extra_env)) do envs[#envs + 1] = k .. "=" .. q(v) end
  local inner = ("env %s %s %s >%s 2>%s </dev/null & echo $! >%s; wait $!; echo $? >%s"):format(
    table.concat(envs, " "), q(bin()), args, q(base .. ".out"), q(base .. ".err"), q(base .. ".pid"), q(base .. ".rc"))
  os.remove(base .. ".pid")
  os.execute("sh -c " .. q(inner) .. " >/dev/null 2>&1 &")
  local pid
  for _ = 1, 400 do
    pid = tonumber(t.slurp(base .. ".pid") or "")
    if pid then break end
    td.sleep(0.025)
  end
  assert(pid, "the background tdlua did not start")
  local function finish()
    for _ = 1, 600 do
      local rc = tonumber(t.slurp(base .. ".rc") or "")
      if rc then return rc, t.slurp(base .. ".out"), t.slurp(base .. ".err") end
      td.sleep(0.05)
    end
    error("the background tdlua did not end")
  end
  return pid, finish, base
end

local function wait_for(what, pred)
  for _ = 1, 600 do
    if pred() then return end
    td.sleep(0.05)
  end
  error("gave up waiting for " .. what)
end

local function hooks()
  local out = {}
  for _, r in ipairs(t.log()) do
    if r.method == "POST" and r.path:find("^/hooks/") then out[#out + 1] = r end
  end
  return out
end

-- ---------------------------------------------------------------------------
-- exit statuses

test("exit statuses tell failures apart (job failed, killed, timeout, auth, rate limited, usage, declined)", function()
  t.reset { mode = "time", queued_secs = 0, running_secs = 0 }
  local code, _, err = run_e([[td.query("SELECT fake_error", { db = "web" }):wait()]])
  eq(code, 3, err)
  like(err, "^tdlua: job_failed")
  code = run_e([[td.query("SELECT fake_killed", { db = "web" }):wait()]])
  eq(code, 4)
  -- several waits: the status their failures share
  code = run_e([[td.wait_all { td.query("SELECT fake_error", { db = "web" }), td.query("SELECT fake_error 2", { db = "web" }) }]])
  eq(code, 3)
  code = run_e([[td.wait_all { td.query("SELECT fake_error", { db = "web" }), td.query("SELECT fake_killed", { db = "web" }) }]])
  eq(code, 1)
  code = run_e([[td.query("SELECT fake_stuck", { db = "web" }):wait { timeout = 0.1 }]])
  eq(code, 5)
  code, _, err = t.run("-e " .. q("td.databases()"), env { TD_API_KEY = "1/" .. ("9"):rep(40) })
  eq(code, 6, err)
  t.fault { path = "^/v3/database/list", status = 429, times = -1 }
  code = run_e([[td.client { max_retries = 0 }:databases()]])
  eq(code, 7)
  t.reset()
  code = run_e([[td.sleep("soon")]])
  eq(code, 2)
  code, _, err = run_e([[td.confirm("Drop everything?")]])
  eq(code, 8)
  eq(select(2, err:gsub("\n", "")), 1, "one line")
  like(err, "declined: confirmation needed but stdin is not a terminal: Drop everything%?")
  code = run_e([[error("plain")]])
  eq(code, 1)
end)

test("strict globals: a typo'd global exits 2 naming the nearest one; --no-strict and td.strict(false) opt out", function()
  local code, _, err = run_e([[local count = 1 print(cuont)]])
  eq(code, 2)
  like(err, "undefined global 'cuont'")
  code, _, err = run_e([[prnt("x")]])
  eq(code, 2)
  like(err, "did you mean 'print'%?")
  code, _, err = run_e([[local function f() total = 1 end f()]])
  eq(code, 2)
  like(err, "assignment to undeclared global 'total' inside a function")
  local out
  code, out = run_e([[total = nil local function f() total = 1 end f() print(total, rawget(_G, "nope"))]])
  eq(code, 0)
  eq(out, "1\tnil\n")
  code, out = run_e([[print(cuont)]], "--no-strict")
  eq(code, 0)
  eq(out, "nil\n")
  code, out = run_e([[td.strict(false) print(cuont)]])
  eq(code, 0)
  eq(out, "nil\n")
end)

-- ---------------------------------------------------------------------------
-- --lock, --max-runtime, loops and signals

test("--lock: a second run exits 9 at once while the first holds the lock", function()
  local lock = t.fake().dir .. "/run.lock"
  local pid, finish = start("--lock " .. q(lock) .. " -e " .. q("td.sleep(30)"))
  wait_for("the lock to be taken", function() return (t.slurp(lock) or ""):match("^%d+") ~= nil end)
  local code, out, err = run_e([[print("ran")]], "--lock " .. q(lock))
  eq(code, 9)
  eq(out, "")
  like(err, "^tdlua: locked: another run holds the lock [^\n]* %(pid " .. pid .. "%)")
  code = run_e([[td.lock(...)]], nil) -- td.lock with no path
  eq(code, 2)
  os.execute("kill -INT " .. pid)
  eq(finish(), 130)
  code, out = run_e([[print("ran")]], "--lock " .. q(lock))
  eq(code, 0)
  eq(out, "ran\n")
end)

test("--max-runtime stops a script with the timeout status and runs td.on_error once", function()
  t.reset()
  local code, out, err = run_e([[
    td.on_error(function(e, status) print("on_error", e.kind, status) end)
    td.on_error(function() error("a broken handler") end)
    td.on_error(function() print("next handler") end)
    td.sleep(30)]], "--max-runtime 0.3")
  eq(code, 5)
  eq(out, "on_error\ttimeout\t5\nnext handler\n")
  like(err, "tdlua: timeout: the script ran longer than %-%-max%-runtime 0%.3")
  like(err, "td.on_error handler failed: [^\n]*a broken handler")
  code, out, err = run_e([[print(1)]], "--max-runtime soon")
  eq(code, 2)
  like(err, "max%-runtime")
end)

test("watch_schedule.lua alerts the webhook once per failed run and stops cleanly on SIGTERM", function()
  t.reset { mode = "time", queued_secs = 0, running_secs = 0 }
  local c = t.client()
  c:create_schedule("kpi", { cron = "@daily", query = "SELECT fake_error", database = "web" })
  for _, j in ipairs(c:run_schedule("kpi", "2026-11-20", { num = 2 })) do pcall(j.wait, j) end
  local hook = t.fake().url .. "/hooks/T000-B000-secretpart"
  local pid, finish = start("--verbose examples/watch_schedule.lua kpi " .. q(hook) .. " 0.2")
  wait_for("two checks", function()
    local _, n = (t.slurp(t.fake().dir .. "/bg.err") or ""):gsub("checked kpi", "")
    return n >= 2
  end)
  os.execute("kill -TERM " .. pid)
  local code, out, err = finish()
  eq(code, 0, err)
  eq(out, "")
  like(err, "checked kpi: 2 new failures")
  like(err, "checked kpi: 0 new failures")
  like(err, "stopped on a signal after the current run")
  ok(not err:find("secretpart", 1, true), "the hook URL leaked into the log")
  local posts = hooks()
  eq(#posts, 2)
  like(posts[1].json.text, "^schedule kpi: job 102[67] %(scheduled at 2026%-11%-2[01]")
  ok(not err:find(t.KEY:sub(3), 1, true), "the key leaked")
end)

test("a loop stops after its current run on the first signal; a second signal interrupts at once", function()
  local script = t.write_tmp([[
    td.every(0.05, function()
      io.write("run\n") io.flush()
      td.sleep(tonumber(arg[1]))
      io.write("run done\n") io.flush()
    end)
  ]], ".lua")
  -- first signal during a run: the run finishes, no new one starts, status 0
  local pid, finish, base = start(q(script) .. " 0.5")
  wait_for("the first run", function() return (t.slurp(base .. ".out") or ""):find("run\n") end)
  os.execute("kill -INT " .. pid)
  local code, out = finish()
  eq(code, 0)
  eq(out, "run\nrun done\n")
  -- two signals: interrupted at once
  pid, finish, base = start(q(script) .. " 30")
  wait_for("the first run", function() return (t.slurp(base .. ".out") or ""):find("run\n") end)
  os.execute("kill -TERM " .. pid)
  td.sleep(0.1)
  os.execute("kill -TERM " .. pid)
  code, out = finish()
  eq(code, 130)
  eq(out, "run\n")
  os.remove(script)
end)

test("td.every skips and logs runs that would overlap; runs never overlap", function()
  local code, out, err = run_e([[
    local n, busy = 0, false
    td.every(0.05, function()
      assert(not busy, "overlap")
      busy = true
      n = n + 1
      td.sleep(0.18)
      busy = false
      if n == 2 then return false end
    end)]])
  eq(code, 0, err)
  like(err, "skipped %d+ overlapping runs?")
  eq(out, "")
end)

-- ---------------------------------------------------------------------------
-- logs and progress

test("td.log: levels, --log-level, --quiet, --log-format json; every line redacted", function()
  local script = [[td.log.debug("d") td.log.info("i %d", 1) td.log.warn("w") td.log.error("e " .. os.getenv("TD_API_KEY"))]]
  local code, _, err = run_e(script)
  eq(code, 0)
  ok(not err:find(" DEBUG "), err)
  like(err, "INFO  i 1\n")
  like(err, "ERROR e 1/d4%*%*%*%*\n")
  err = select(3, run_e(script, "--log-level warn"))
  ok(not err:find("INFO"), err)
  like(err, "WARN  w")
  err = select(3, run_e(script, "--quiet"))
  ok(not err:find("INFO"), err)
  err = select(3, run_e(script, "--log-level debug"))
  like(err, "DEBUG d")
  _, _, err = run_e(script .. [[ error("boom")]], "--log-format json")
  local lines = {}
  for l in err:gmatch("[^\n]+") do lines[#lines + 1] = cjson.decode(l) end
  eq(#lines, 4)
  eq(lines[1].level, "info")
  eq(lines[1].msg, "i 1")
  like(lines[1].time, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$")
  eq(lines[3].msg, "e " .. require("td.redact").key(t.KEY))
  eq(lines[4].level, "error")
  eq(lines[4].exit, "error")
  eq(lines[4].status, 1)
  code, err = select(1, run_e("print(1)", "--log-level loud")), select(3, run_e("print(1)", "--log-level loud"))
  eq(code, 2)
  like(err, "log%-level")
end)

test("progress without a terminal: plain timestamped lines, no control codes; nothing with --quiet", function()
  t.reset { mode = "time", queued_secs = 0, running_secs = 1.5 }
  local script = [[td.query("SELECT 1", { db = "web" }):wait { interval = 0.05, max_interval = 0.05 }]]
  local code, _, err = run_e(script, nil, { TDLUA_PROGRESS_INTERVAL = "0.1" })
  eq(code, 0, err)
  like(err, "%d%d:%d%d:%d%dZ INFO  job 1026: running 0:00\n")
  ok(not err:find("\27", 1, true), "terminal control codes in a log")
  code, _, err = run_e(script, "--quiet", { TDLUA_PROGRESS_INTERVAL = "0.1" })
  eq(code, 0)
  eq(err, "")
  -- the default interval keeps short waits silent
  code, _, err = run_e(script)
  eq(err, "")
end)

test("td.wait_all shows one summary for all the objects, not a line per object", function()
  t.reset { mode = "time", queued_secs = 0, running_secs = 1.5 }
  local code, _, err = run_e([[
    local jobs = {}
    for i = 1, 3 do jobs[i] = td.query(i == 2 and "SELECT fake_error" or "SELECT 1", { db = "web" }) end
    local r = td.wait_all(jobs, { interval = 0.05, max_interval = 0.05, collect = true })
    print(r[1].ok, r[2].ok, r[3].ok)]], nil, { TDLUA_PROGRESS_INTERVAL = "0.1" })
  eq(code, 0, err)
  like(err, "INFO  wait_all for 3: %d running")
  like(err, "INFO  wait_all for 3: 2 done, 1 failed")
  ok(not err:find("INFO  job 10", 1, true), "a per-job line inside wait_all: " .. err)
end)

-- ---------------------------------------------------------------------------
-- alerts

test("td.notify posts a Slack-style payload through the request kernel (retries, redaction, dry-run)", function()
  t.reset()
  local hook = t.fake().url .. "/hooks/T1-B2-s3cr3tpath"
  t.fault { path = "^/hooks/", status = 503, times = 1 }
  local code, out, err = run_e([[td.notify(nil, "x")]])
  eq(code, 2)
  like(err, "td.notify")
  -- the same through a script file, so the hook can be an argument
  local file = t.write_tmp([[
    local hook = arg[1]
    print(td.notify(hook, "nightly failed"))
    print(td.notify(hook, { text = "x", blocks = { { type = "section" } } }))]], ".lua")
  code, out, err = t.run("--verbose " .. q(file) .. " " .. q(hook), env())
  eq(code, 0, err)
  eq(out, "ok\nok\n")
  ok(not err:find("s3cr3tpath", 1, true), "the hook's secret path is in the trace: " .. err)
  like(err, "POST http://127%.0%.0%.1:%d+/h%*%*%*%* %-> 503")
  local posts = hooks()
  eq(#posts, 3) -- one 503, retried, then the second message
  eq(posts[2].json, { text = "nightly failed" })
  eq(posts[3].json.blocks[1].type, "section")
  t.reset()
  code, out, err = t.run("--dry-run " .. q(file) .. " " .. q(hook), env())
  eq(code, 0, err)
  eq(#hooks(), 0)
  os.remove(file)
end)

-- ---------------------------------------------------------------------------
-- profiles

test("profiles: td.client{profile=}, --profile and TD_PROFILE read profiles.conf next to td.conf", function()
  local dir = t.fake().dir .. "/profiles"
  os.execute("mkdir -p " .. q(dir))
  local f = assert(io.open(dir .. "/td.conf", "w"))
  f:write("[account]\n  user = owner@example.com\n  apikey = 2/" .. ("ab"):rep(20) .. "\n")
  f:close()
  f = assert(io.open(dir .. "/profiles.conf", "w"))
  f:write("# two accounts\n[fake]\napikey = " .. t.KEY .. "\nendpoint = " .. t.fake().url .. "\n\n[jp-prod]\napikey = 3/" .. ("cd"):rep(20) .. "\nregion = jp\n")
  f:close()
  local e = { TD_API_KEY = "", TD_API_SERVER = "", TD_WORKFLOW_SERVER = "", TD_CONFIG_PATH = dir .. "/td.conf" }
  local show = [[local c = td.config(...) print(c.profile, c.region, c.endpoint, c.apikey, c.sources.apikey)]]
  local code, out, err = t.run("-e " .. q([[local c = td.config{ profile = "jp-prod" }
    print(c.profile, c.region, c.endpoint, c.apikey, c.sources.apikey)]]), e)
  eq(code, 0, err)
  eq(out, "jp-prod\tjp\thttps://api.treasuredata.co.jp\t3/cd****\tprofile jp-prod\n")
  code, out = t.run("--profile fake -e " .. q([[print(#td.databases() > 0)]]), e)
  eq(code, 0)
  eq(out, "true\n")
  e.TD_PROFILE = "fake"
  code, out = t.run("-e " .. q([[print(td.client().endpoint == ]] .. ("%q"):format(t.fake().url) .. [[)]]), e)
  eq(out, "true\n")
  -- without a profile, td.conf is read as the td CLI writes it
  e.TD_PROFILE = nil
  code, out = t.run("-e " .. q(show:gsub("%.%.%.", "")), e)
  eq(code, 0)
  like(out, "^nil\tus\thttps://api%.treasuredata%.com\t2/ab%*%*%*%*\t~?[^\t]*td%.conf\n$")
  code, out, err = t.run("--profile jp-prd -e " .. q("td.config()"), e)
  eq(code, 1)
  like(err, "unknown profile \"jp%-prd\" [^\n]*did you mean 'jp%-prod'")
  os.execute("rm -rf " .. q(dir))
end)
