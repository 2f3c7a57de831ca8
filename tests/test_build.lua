-- the build: dependency order on a fresh machine
local t = require "testlib"
local test, eq, ok = t.test, t.eq, t.ok
local q = t.sh_quote

test("make -j4 runs scripts/deps.sh before anything is compiled or pkg-config is asked", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. q(dir .. "/build"))
  local log = dir .. "/order.log"
  -- a deps.sh that takes its time (as apt-get would) and a pkg-config that
  -- notes when it is asked
  local deps = t.write_tmp("#!/bin/sh\nsleep 0.3\necho deps >>" .. q(log) .. "\n")
  local pkg = t.write_tmp("#!/bin/sh\necho pkg-config >>" .. q(log) .. "\nexec pkg-config \"$@\"\n")
  os.execute("chmod +x " .. q(deps) .. " " .. q(pkg))
  local build = dir .. "/build"
  -- a make of its own (not the jobserver of a make running the suite)
  local cmd = ("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j4 BUILD=%s PKG_CONFIG=%s DEPS_SH=%s %s/buf.o %s/loop.o >%s/make.out 2>&1"):format(
    q(build), q(pkg), q(deps), q(build), q(build), q(dir))
  local okm = os.execute(cmd)
  local out = t.slurp(dir .. "/make.out") or ""
  local order = t.slurp(log) or ""
  os.execute("rm -rf " .. q(dir) .. " " .. q(deps) .. " " .. q(pkg))
  ok(okm, "make failed:\n" .. out)
  eq(order:match("^[^\n]*"), "deps", "the first step")
  ok(order:find("pkg%-config"), "the compiles asked pkg-config")
end)
