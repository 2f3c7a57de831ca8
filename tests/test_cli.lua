-- the tdlua program: arguments, exit codes, REPL basics, signals
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local q = t.sh_quote

local NOKEY = { TD_API_KEY = "", TREASURE_DATA_API_KEY = "", TD_CONFIG_PATH = "/nonexistent", TDLUA_HISTORY = "" }

local function script(src) return t.write_tmp(src, ".lua") end

test("a script gets arg and ... like lua", function()
  local p = script("print(arg[0] ~= nil, arg[1], arg[2], select('#', ...), ...)")
  local code, out = t.run(q(p) .. " a b", NOKEY)
  os.remove(p)
  eq(code, 0)
  eq(out, "true\ta\tb\t2\ta\tb\n")
end)

test("-e runs code; td is a preloaded global and require 'td' returns it", function()
  local code, out = t.run("-e " .. q("print(td == require 'td', type(td.query))"), NOKEY)
  eq(code, 0)
  eq(out, "true\tfunction\n")
end)

test("-l requires a module into a global", function()
  local code, out = t.run("-l td.time -e " .. q("print(type(td.time.parse))"), NOKEY)
  eq(code, 0)
  eq(out, "function\n")
end)

test("- runs stdin", function()
  local code, out = t.run("- x", NOKEY, "print('from stdin', arg[1])")
  eq(code, 0)
  eq(out, "from stdin\tx\n")
end)

test("-v and --help", function()
  local code, out = t.run("-v", NOKEY)
  eq(code, 0)
  like(out, "^tdlua %d+%.%d+%.%d+ %(Lua 5%.4")
  code, out = t.run("--help", NOKEY)
  eq(code, 0)
  like(out, "usage: tdlua")
end)

test("bad usage exits 2 with a message", function()
  local code, out, err = t.run("--no-such-flag", NOKEY)
  eq(code, 2)
  eq(out, "")
  like(err, "unrecognized option '%-%-no%-such%-flag'")
  code, out, err = t.run("-e", NOKEY)
  eq(code, 2)
  like(err, "needs argument")
end)

test("an error exits 1 with one line; --verbose adds a traceback", function()
  local code, out, err = t.run("-e " .. q("error('boom')"), NOKEY)
  eq(code, 1)
  eq(out, "")
  eq(err, "tdlua: (command line):1: boom\n")
  code, out, err = t.run("--verbose -e " .. q("error('boom')"), NOKEY)
  eq(code, 1)
  like(err, "stack traceback")
end)

test("error objects print as one readable line", function()
  local code, _, err = t.run("-e " .. q("td.client{ region = 'mars' }"), NOKEY)
  eq(code, 1)
  like(err, "^tdlua: config: unknown region \"mars\"")
end)

test("a missing script file exits 1", function()
  local code, _, err = t.run("/nonexistent/x.lua", NOKEY)
  eq(code, 1)
  like(err, "cannot open")
end)

test("Ctrl-C interrupts a blocking wait and exits 130", function()
  local code = select(3, os.execute(("%s -e 'td.sleep(30)' </dev/null 2>/dev/null & pid=$!; sleep 0.3; kill -INT $pid; wait $pid")
    :format(q(os.getenv("TDLUA_BIN") or arg[-1] or "./tdlua"))))
  eq(code, 130)
end)

test("Ctrl-C interrupts a pure Lua loop too", function()
  local code = select(3, os.execute(("%s -e 'while true do end' </dev/null 2>/dev/null & pid=$!; sleep 0.3; kill -INT $pid; wait $pid")
    :format(q(os.getenv("TDLUA_BIN") or arg[-1] or "./tdlua"))))
  eq(code, 130)
end)

test("the REPL prints expressions, continues statements and aligns tables", function()
  local code, out = t.run("-i", NOKEY, "1+1\nfor i = 1, 2 do\nprint('i', i)\nend\n{ {name='a', n=1}, {name='bb', n=22} }\n")
  eq(code, 0)
  like(out, "\n2\n")
  like(out, "i\t1\ni\t2\n")
  like(out, "| name | n  |\n")
  like(out, "| bb   | 22 |\n")
end)

test("REPL history never keeps an API key", function()
  local hist = os.tmpname()
  local env = {}
  for k, v in pairs(NOKEY) do env[k] = v end
  env.TDLUA_HISTORY = hist
  local code = t.run("-i", env, "c = td.client{ apikey = '" .. t.KEY .. "' }\nx = 1\n")
  eq(code, 0)
  local f = assert(io.open(hist))
  local s = f:read("a"):gsub("\\040", " ") -- libedit stores spaces as \040
  f:close()
  os.remove(hist)
  like(s, "x = 1")
  eq(s:find(t.KEY:sub(3), 1, true), nil)
end)

test("the td modules define no globals", function()
  local code, out = t.run("-e " .. q([[
    local before = {}
    for k in pairs(_G) do before[k] = true end
    for _, m in ipairs { "td.async", "td.client", "td.config", "td.errors", "td.http", "td.v3.job",
      "td.log", "td.paging", "td.pretty", "td.progress", "td.redact", "td.v3.result", "td.time",
      "td.v3.databases", "td.v3.jobs", "td.v3.shape", "td.v3.system" } do require(m) end
    td.client{ apikey = "1/x" }
    local new = {}
    for k in pairs(_G) do if not before[k] then new[#new + 1] = k end end
    print(#new, table.concat(new, ","))]]), NOKEY)
  eq(code, 0)
  eq(out, "0\t\n")
end)

test("TDLUA_LUA_DIR loads the modules from disk", function()
  local env = {}
  for k, v in pairs(NOKEY) do env[k] = v end
  env.TDLUA_LUA_DIR = "./lua"
  local code, out = t.run("-e " .. q("print(debug.getinfo(td.client).source)"), env)
  eq(code, 0)
  eq(out, "@./lua/td/init.lua\n")
  code, out = t.run("-e " .. q("print(debug.getinfo(td.client).source)"), NOKEY)
  eq(out, "@td/init.lua\n")
end)

test("start-up stays lean: td.core does not load libcurl until a request", function()
  local code, out = t.run("-e " .. q([[
    local f = io.open("/proc/self/maps"); local m = f:read("a"); f:close()
    print(m:find("libcurl", 1, true) ~= nil)]]), NOKEY)
  eq(code, 0)
  eq(out, "false\n")
end)
