-- packaging for the Lua ecosystem: `luarocks make` with Debian's luarocks
-- builds and installs the td module into a temporary tree, offline, and a
-- stock lua5.4 loads it from there
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local q = t.sh_quote

local function rockspec()
  local p = io.popen("ls tdlua-*.rockspec 2>/dev/null")
  local names = p:read("a")
  p:close()
  return names:match("^(%S+)\n$"), names
end

test("one rockspec, versioned as the module", function()
  local name, all = rockspec()
  ok(name, "exactly one tdlua-*.rockspec, found: " .. all)
  local text = t.slurp(name)
  local v = require "td.version"
  like(name, "^tdlua%-" .. v:gsub("%p", "%%%0") .. "%-%d+%.rockspec$")
  like(text, 'version = "' .. v:gsub("%p", "%%%0") .. '%-%d+"')
end)

test("luarocks make installs the module into a tree; a stock lua5.4 requires it", function()
  local f = t.fake()
  local name = rockspec()
  local tree = f.dir .. "/rocks"
  local home = f.dir .. "/home"
  local log = f.dir .. "/luarocks.log"
  os.execute("mkdir -p " .. q(home))
  local _, _, code = os.execute(("env HOME=%s luarocks --lua-version=5.4 --tree=%s make --deps-mode=none %s >%s 2>&1 </dev/null")
    :format(q(home), q(tree), q(name), q(log)))
  eq(code, 0, "luarocks make: " .. t.slurp(log))
  ok(t.exists(tree .. "/lib/lua/5.4/td/core.so"), "core.so installed")
  ok(t.exists(tree .. "/share/lua/5.4/td/init.lua"), "the Lua modules installed")
  local out = f.dir .. "/rock.out"
  local env = ("LUA_PATH=%s LUA_CPATH=%s TD_API_KEY=%s TD_API_SERVER=%s TD_CONFIG_PATH=/nonexistent")
    :format(q(tree .. "/share/lua/5.4/?.lua;" .. tree .. "/share/lua/5.4/?/init.lua;;"),
      q(tree .. "/lib/lua/5.4/?.so;;"), q(t.KEY), q(f.url))
  _, _, code = os.execute(("cd / && env %s lua5.4 -e %s >%s 2>&1 </dev/null"):format(env,
    q([[local td = require "td"
        print(package.searchpath("td.core", package.cpath):match("rocks") ~= nil, td.server_status(), #td.databases() > 0)]]),
    q(out)))
  eq(code, 0, t.slurp(out))
  eq(t.slurp(out), "true\tok\ttrue\n")
end)
