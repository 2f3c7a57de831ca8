--- testlib: the tiny test framework the suite runs on (inside tdlua).
-- test(name, fn) registers a test; eq/ok/raises assert; fake() starts the
-- fake TD server once per run; client() makes a client pointed at it.
local M = {}

local tests = {}
M.tests = tests

function M.test(name, fn) tests[#tests + 1] = { name = name, fn = fn } end

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) == "table" then return require("td.pretty").format(v, 3) end
  return tostring(v)
end
M.show = show

local function deep_eq(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
M.deep_eq = deep_eq

function M.eq(got, want, what)
  if not deep_eq(got, want) then
    error(("%sexpected %s, got %s"):format(what and (what .. ": ") or "", show(want), show(got)), 2)
  end
end

function M.ok(v, what)
  if not v then error(what or "expected a true value", 2) end
  return v
end

--- like(s, pattern): s matches the Lua pattern
function M.like(s, pat, what)
  if type(s) ~= "string" or not s:find(pat) then
    error(("%sexpected %s to match %q"):format(what and (what .. ": ") or "", show(s), pat), 2)
  end
end

--- raises(fn, ...) -> the error value (fails when fn does not raise)
function M.raises(fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then error("expected an error, but the call succeeded", 2) end
  return err
end

--- raises_kind(kind, fn, ...) -> the error object of that kind
function M.raises_kind(kind, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then error("expected a " .. kind .. " error, but the call succeeded", 2) end
  if type(err) ~= "table" or err.kind ~= kind then
    error(("expected a %s error, got %s"):format(kind, show(type(err) == "table" and tostring(err) or err)), 2)
  end
  return err
end

--- The element of list whose .name is name.
function M.find_named(list, name)
  for _, x in ipairs(list) do if x.name == name then return x end end
end

--- Logged requests with this method whose raw path matches the pattern.
function M.requests(method, pat)
  local out = {}
  for _, r in ipairs(M.log()) do
    if r.method == method and r.path:find(pat) then out[#out + 1] = r end
  end
  return out
end

--- The last logged request with this method whose path matches.
function M.last_request(method, pat)
  local rs = M.requests(method, pat)
  return rs[#rs]
end

--- A file's whole content, or nil when it cannot be read.
function M.slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Whether a file exists (can be opened).
function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- Write content to a new temporary file (optionally with a suffix); returns its path.
function M.write_tmp(content, suffix)
  local p = os.tmpname() -- creates the file
  if suffix then
    os.remove(p)
    p = p .. suffix
  end
  local f = assert(io.open(p, "w"))
  f:write(content)
  f:close()
  return p
end

-- ---------------------------------------------------------------------------
-- the fake TD server

-- the suite's key: distinctive in every 8-character piece, so that the last
-- test (tests/test_zz_secrets.lua) finds any piece of it in what was written
M.KEY = "1/d41f3b9e07c2a85f6e1b94c3a7d20f58e69b1c47"
M.RO_KEY = "2/fedcba9876543210fedcba9876543210fedcba98"

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
M.sh_quote = sh_quote

local function mypid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("n")
  f:close()
  return pid
end

local fake, fake_failed
function M.fake()
  if fake then return fake end
  if fake_failed then error(fake_failed, 0) end -- do not wait again for each test
  local dir = os.getenv("TMPDIR") or "/tmp"
  local base = ("%s/tdlua-test-%d"):format(dir, mypid())
  os.execute("mkdir -p " .. sh_quote(base))
  local portfile = base .. "/port"
  os.remove(portfile)
  local cmd = ("scripts/fake-td --quiet --port-file %s --parent-pid %d >%s 2>&1 & echo $! >%s")
    :format(sh_quote(portfile), mypid(), sh_quote(base .. "/server.log"), sh_quote(base .. "/pid"))
  assert(os.execute(cmd), "cannot start scripts/fake-td")
  local port
  for _ = 1, 400 do
    local f = io.open(portfile)
    if f then
      port = f:read("n")
      f:close()
      if port then break end
    end
    td.sleep(0.025)
  end
  if not port then
    local f = io.open(base .. "/server.log")
    local log = f and f:read("a") or ""
    if f then f:close() end
    fake_failed = "the fake TD server did not start:\n" .. log
    error(fake_failed, 0)
  end
  local pf = io.open(base .. "/pid")
  local pid = pf and pf:read("n")
  if pf then pf:close() end
  fake = { url = "http://127.0.0.1:" .. port, port = port, pid = pid, dir = base }
  return fake
end

function M.stop_fake()
  if not fake then return end
  if fake.pid then os.execute("kill " .. fake.pid .. " 2>/dev/null") end
  os.execute("rm -rf " .. sh_quote(fake.dir))
  fake = nil
end

--- A client pointed at the fake server with fast retries.
function M.client(opts)
  local f = M.fake()
  local o = {
    apikey = M.KEY, endpoint = f.url, retry_base_delay = 0.01, retry_max_delay = 0.05,
    retry_max_time = 10, connect_timeout = 5, timeout = 30, config_path = "/nonexistent",
  }
  for k, v in pairs(opts or {}) do o[k] = v end
  return td.client(o)
end

local control -- a client for the control API
local function ctl(method, path, body)
  control = control or M.client()
  local r = { method = method, path = path, auth = false, idempotent = true }
  if body ~= nil then r.json = body end
  return td.http.request(control, r)
end

--- Reset the fake server's state, faults, log and job flow.
function M.reset(cfg)
  ctl("POST", "/__fake/reset", {})
  if cfg then ctl("POST", "/__fake/config", cfg) end
end

--- Inject fault rules (see tests/fake_td/README.md).
function M.fault(rules) ctl("POST", "/__fake/faults", rules) end

--- The fault rules with the `times` left and the `hits` so far.
function M.faults() return (ctl("GET", "/__fake/faults")).faults end

--- Remove every fault rule.
function M.clear_faults() ctl("DELETE", "/__fake/faults") end

--- Named fault kinds (rule fragments for M.fault; see tests/fake_td/README.md).
-- "after act" kinds let the server carry the request out, then fail the reply.
M.FAULT_KINDS = {
  after_act_503 = { act = true, status = 503 },
  after_act_reset = { act = true, action = "reset" },
  after_act_reset_reused = { act = true, action = "reset", conn = "reused" },
  after_act_badjson = { act = true, action = "badjson" },
  after_act_stall = { act = true, action = "stall", seconds = 30 },
  storm_5xx = { status = 503, times = 3 },
  retry_after_429 = { status = 429, headers = { ["Retry-After"] = "1" } },
  reset = { action = "reset" },
  truncate = { action = "truncate" },
  stall = { action = "stall", seconds = 30 },
  stall_mid_body = { action = "stall", bytes = 8, seconds = 30 },
  html_200 = { action = "html", status = 200 },
  shape_null = { action = "shape", shape = "null" },
  shape_number = { action = "shape", shape = "number" },
  shape_string = { action = "shape", shape = "string" },
  shape_array = { action = "shape", shape = "array" },
  shape_object = { action = "shape", shape = "object" },
  shape_missing = { action = "shape", shape = "missing" },
  shape_wrongtype = { action = "shape", shape = "wrongtype" },
  no_etag = { action = "pass", drop_headers = { "ETag" } },
  chunked = { action = "pass", chunked = 1000 },
  connection_close = { action = "pass", close = true },
  corrupt = { action = "pass", corrupt = "middle" },
}

--- Inject the named fault kind on requests matching method and path pattern;
-- extra fields override the kind's (times defaults to 1).
function M.inject(kind, method, path, extra)
  local base = assert(M.FAULT_KINDS[kind], "unknown fault kind " .. tostring(kind))
  local rule = { method = method, path = path }
  for k, v in pairs(base) do rule[k] = v end
  for k, v in pairs(extra or {}) do rule[k] = v end
  M.fault(rule)
end

--- The request log (array of {method, path, query, headers, form|json}).
function M.log() return (ctl("GET", "/__fake/log")) end

function M.state() return (ctl("GET", "/__fake/state")) end

--- The requests that broke TD's API description since the last call (and
-- forget them): array of { method, path, violations = {msg...} }. Empty when
-- the fake server has not been started. tests/run.lua fails a test that
-- leaves any; a test that breaks the contract on purpose calls this to
-- take them.
function M.contract_violations()
  if not fake then return {} end
  return (ctl("GET", "/__fake/contract?clear=1")).violations
end

--- off_contract(fn, ...) -> fn's results: fn sends a request that breaks
-- TD's API description on purpose (to see the server's answer); fails when
-- it sends none, and takes the violations so the test is not failed for them.
function M.off_contract(fn, ...)
  local res = table.pack(pcall(fn, ...))
  if #M.contract_violations() == 0 then
    error("expected a request that breaks TD's API description, none was sent", 2)
  end
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- every captured output of a child process is kept (under the fake's
-- directory, captured/) for the secrets sweep of tests/test_zz_secrets.lua
local kept = 0
function M.keep_output(...)
  if not fake then return end
  os.execute("mkdir -p " .. sh_quote(fake.dir .. "/captured"))
  for _, p in ipairs { ... } do
    kept = kept + 1
    os.execute(("cp %s %s 2>/dev/null"):format(sh_quote(p), sh_quote(("%s/captured/%05d-%s"):format(
      fake.dir, kept, p:match("[^/]+$")))))
  end
end

--- Run a program (not tdlua) as a child process with args (a shell string)
-- and env: returns exit code, stdout, stderr.
function M.run_bin(bin, args, env)
  local base = (fake and fake.dir or "/tmp") .. "/bin"
  local envs = {}
  for k, v in pairs(env or {}) do envs[#envs + 1] = k .. "=" .. sh_quote(v) end
  local cmd = ("env %s %s %s >%s 2>%s </dev/null"):format(table.concat(envs, " "), sh_quote(bin), args,
    sh_quote(base .. ".out"), sh_quote(base .. ".err"))
  local _, _, code = os.execute(cmd)
  M.keep_output(base .. ".out", base .. ".err")
  return code, M.slurp(base .. ".out") or "", M.slurp(base .. ".err") or ""
end

--- Run tdlua as a child process: returns exit code, stdout, stderr.
function M.run(args, env, stdin)
  local bin = os.getenv("TDLUA_BIN") or arg[-1] or "./tdlua"
  local base = (fake and fake.dir or "/tmp") .. "/run"
  local envs = {}
  for k, v in pairs(env or {}) do envs[#envs + 1] = k .. "=" .. sh_quote(v) end
  local input = ""
  if stdin then
    local f = assert(io.open(base .. ".in", "w"))
    f:write(stdin)
    f:close()
    input = " <" .. sh_quote(base .. ".in")
  else
    input = " </dev/null"
  end
  local cmd = ("env %s %s %s >%s 2>%s%s"):format(table.concat(envs, " "), sh_quote(bin), args,
    sh_quote(base .. ".out"), sh_quote(base .. ".err"), input)
  local _, _, code = os.execute(cmd)
  M.keep_output(base .. ".out", base .. ".err")
  local function slurp(p)
    local f = io.open(p)
    local s = f and f:read("a") or ""
    if f then f:close() end
    return s
  end
  return code, slurp(base .. ".out"), slurp(base .. ".err")
end

return M
