-- smaller promises: usage errors for bad arguments, td.conf checks, project
-- archives (bounded unpacking, TD's size limit, listing without a shell),
-- schedule:skip's dryRun, truncated result tables
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local q = t.sh_quote
local core = require "td.core"

local FAST = { interval = 0.01, max_interval = 0.02, progress = false }
local DIG = "timezone: UTC\n+hello:\n  echo>: hello\n"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. q(d)))
  return d
end

local function write(path, content)
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
end

test("bad arguments are usage errors, not raw Lua errors: td.config(42), td.wait_all(nil), NaN times", function()
  like(raises_kind("usage", td.config, 42).message, "'opts' to 'td%.config' %(table expected, got number%)")
  like(raises_kind("usage", td.config, { regoin = "jp" }).message, "did you mean 'region'")
  like(raises_kind("usage", td.wait_all, nil).message, "'list' to 'td%.wait_all'")
  t.reset()
  local c = t.client { workflow_endpoint = t.fake().url }
  -- the one check of a time argument, wherever a time is taken
  for _, bad in ipairs { 0 / 0, 1 / 0, -1 / 0, 1e300, "yesterday" } do
    like(raises_kind("usage", c.run_schedule, c, "daily_kpi", bad).message, "'time' to 'run_schedule'")
    like(raises_kind("usage", c.export, c, "web", "pageviews", { bucket = "b", from = bad }).message,
      "'opts%.from' to 'export'")
  end
  local w = c.workflow
  like(raises_kind("usage", w.start, w, "etl", "daily", { session_time = 0 / 0 }).message, "'session_time' to 'start'")
  local s = w:schedule(1)
  like(raises_kind("usage", s.backfill, s, { from = 1 / 0, count = 1 }).message, "'from' to 'schedule:backfill'")
  like(raises_kind("usage", s.skip, s, { next_time = 0 / 0 }).message, "'next_time' to 'schedule:skip'")
  eq(#t.requests("POST", "^/v3/schedule/run/"), 0)
  eq(td.time.epoch_arg("f", "t", "2026-11-22 10:00:00 UTC"), 1795341600)
  eq(td.time.epoch_arg("f", "t", 1795341600.7), 1795341600)
end)

test("td.conf: a directory is a config error; a world-readable file with a key gets a warning", function()
  local dir = tmpdir()
  local e = raises_kind("config", td.config, { config_path = dir })
  like(e.message, "is a directory")
  -- world-readable, holding a key: a warning naming the fix, once
  local conf = dir .. "/td.conf"
  write(conf, "[account]\n  apikey = 7/" .. ("ab"):rep(20) .. "\n")
  os.execute("chmod 644 " .. q(conf))
  local env = { TD_API_KEY = "", TREASURE_DATA_API_KEY = "", TD_CONFIG_PATH = conf, TDLUA_HISTORY = "" }
  local code, out, err = t.run("-e " .. q("td.config() td.config() print(td.config().sources.apikey)"), env)
  eq(code, 0, err)
  like(out, "td%.conf")
  like(err, "WARN  [^\n]*td%.conf holds an API key and any user on this machine can read it %(mode 644%); run: chmod 600 ")
  local _, n = err:gsub("holds an API key", "")
  eq(n, 1, "warned once")
  ok(not err:find(("ab"):rep(20), 1, true), "the key is not shown")
  -- private: no warning
  os.execute("chmod 600 " .. q(conf))
  code, out, err = t.run("-e " .. q("td.config()"), env)
  eq(code, 0)
  eq(err, "")
  os.execute("rm -rf " .. q(dir))
end)

test("schedule:skip always sends dryRun, as the workflow API requires", function()
  t.reset()
  local w = t.client { workflow_endpoint = t.fake().url }.workflow
  local s = w:schedule(1)
  s:skip { next_time = "2026-11-25" }
  local body = t.last_request("POST", "^/api/schedules/1/skip$").json
  eq(body.dryRun, false)
  s:skip { next_time = "2026-11-27", dry_run = true }
  eq(t.last_request("POST", "^/api/schedules/1/skip$").json.dryRun, true)
end)

test("a project archive that expands beyond the bound is refused, not unpacked in memory", function()
  local archive = require "td.workflow.archive"
  local tar = require "td.workflow.tar"
  ok(archive.MAX_UNPACKED >= 10 * archive.TD_LIMIT, "a generous multiple of TD's 10 MB")
  local gz = core.gzip(tar.pack { { name = "a.dig", data = DIG }, { name = "zeros", data = ("\0"):rep(3000000) } }, 9)
  ok(#gz < 20000)
  local saved = archive.MAX_UNPACKED
  archive.MAX_UNPACKED = 1000000
  local dir = tmpdir()
  local okx, e = pcall(archive.extract, gz, dir .. "/out")
  archive.MAX_UNPACKED = saved
  ok(not okx)
  eq(e.kind, "too_large")
  like(e.message, "expands beyond 1000000 bytes")
  eq(t.exists(dir .. "/out/zeros"), false)
  -- within the bound it unpacks
  eq(archive.extract(gz, dir .. "/out"), { "a.dig", "zeros" })
  -- core.gunzip's bound: nil and a reason, memory never beyond it
  local plain, why = core.gunzip(core.gzip(("x"):rep(100000)), 1000)
  eq(plain, nil)
  like(why, "beyond 1000 bytes")
  os.execute("rm -rf " .. q(dir))
end)

test("push lists the project without a shell: any file name works, a NUL in the path is refused", function()
  t.reset()
  local w = t.client { workflow_endpoint = t.fake().url }.workflow
  local dir = tmpdir()
  write(dir .. "/hello.dig", DIG)
  local odd = { "it's $(touch pwned) \"q\".sql", "new\nline.txt", "back\\slash `x` *.txt", "-n" }
  for _, name in ipairs(odd) do write(dir .. "/" .. name, name) end
  os.execute("mkdir -p " .. q(dir .. "/sub dir/.hidden") .. " && ln -s ../hello.dig " .. q(dir .. "/sub dir/link.dig"))
  write(dir .. "/sub dir/.hidden/x", "hidden")
  write(dir .. "/run.sh", "#!/bin/sh\n")
  os.execute("chmod 755 " .. q(dir .. "/run.sh"))
  local p = w:push("odd", dir, { revision = "r1" })
  eq(p.name, "odd")
  local out = tmpdir()
  local got = w:download(p, out)
  table.sort(got)
  local want = { "hello.dig", "run.sh", "sub dir/link.dig" }
  for _, name in ipairs(odd) do want[#want + 1] = name end
  table.sort(want)
  eq(got, want)
  for _, name in ipairs(odd) do eq(t.slurp(out .. "/" .. name), name) end
  eq(t.slurp(out .. "/sub dir/link.dig"), DIG, "a link is followed")
  local _, _, mode = core.target(out .. "/run.sh")
  eq(mode & 64, 64, "executables keep their mode")
  eq(t.exists("pwned"), false)
  -- a NUL in the path would cut it short in a shell: refused
  like(raises_kind("usage", w.push, w, "odd", dir .. "\0/nonexistent").message, "NUL")
  like(raises_kind("usage", w.download, w, "odd", out .. "\0x").message, "NUL")
  os.execute("rm -rf " .. q(dir) .. " " .. q(out))
end)

test("result_table(3) of a 50-row result says it shows the first 3 of 50 rows", function()
  t.reset()
  local c = t.client()
  local job = c:query("SELECT * -- fake_rows(50)", { db = "web" }):wait(FAST)
  local rt = job:result_table(3)
  eq(#rt.rows, 3)
  eq(rt.total, 50)
  like(tostring(rt), "\n%(first 3 of 50 rows%)$")
  -- the whole result, or a limit it does not reach: the plain count
  like(tostring(job:result_table(50)), "\n%(50 rows%)$")
  like(tostring(job:result_table()), "\n%(50 rows%)$")
  eq(job:result_table(60).total, nil)
  eq(td.pretty.table({ "a" }, { { 1 } }, { total = true }):match("[^\n]+$"), "(first 1 row)")
end)
