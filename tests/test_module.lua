-- the td module loaded by a stock lua5.4 (make module: build/lua/td/core.so
-- plus lua/td/*.lua), as busted or luarocks users would load it
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local q = t.sh_quote

local SO_DIR = os.getenv("TDLUA_MODULE_DIR") or "build/lua"

local function lua54(code, env)
  local f = t.fake()
  local vars = {
    LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = SO_DIR .. "/?.so;;",
    TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent",
  }
  for k, v in pairs(env or {}) do vars[k] = v end
  local parts = {}
  for k, v in pairs(vars) do parts[#parts + 1] = k .. "=" .. q(v) end
  local out, err = f.dir .. "/lua54.out", f.dir .. "/lua54.err"
  local _, _, code = os.execute(("env %s lua5.4 -e %s >%s 2>%s </dev/null")
    :format(table.concat(parts, " "), q(code), q(out), q(err)))
  local function slurp(p)
    local h = io.open(p)
    local s = h and h:read("a") or ""
    if h then h:close() end
    return s
  end
  return code, slurp(out), slurp(err)
end

test("the shared module is built", function()
  local f = io.open(SO_DIR .. "/td/core.so", "rb")
  ok(f, SO_DIR .. "/td/core.so is missing (make module)")
  f:close()
end)

test("a stock lua5.4 can require 'td', query, wait and stream rows", function()
  t.reset()
  local code, out, err = lua54([[
    local td = require "td"
    assert(td.VERSION == require("td.core").version)
    local job = td.query("SELECT 1 -- fake_rows(1000)", { db = "web" })
    job:wait { interval = 0.01, max_interval = 0.02, progress = false }
    local n, sum = 0, 0
    for row in job:rows() do n = n + 1; sum = sum + row[1] end
    print(n, sum, #td.databases(), rawget(_G, "td") == nil)
  ]])
  eq(code, 0, err)
  eq(out, "1000\t499500\t2\ttrue\n")
end)

test("errors from the module are structured objects in a stock lua5.4 too", function()
  t.reset()
  local code, out, err = lua54([[
    local td = require "td"
    local ok, e = pcall(td.database, "nope")
    print(ok, e.kind, e.status)
  ]])
  eq(code, 0, err)
  eq(out, "false\tnot_found\t404\n")
end)
