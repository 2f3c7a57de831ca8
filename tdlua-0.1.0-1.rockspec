-- The td module for a stock Lua 5.4, built and installed by luarocks:
--   luarocks --lua-version=5.4 make            (from a checkout)
-- It runs `make module` (td/core.so from src/, minus the tdlua host) and
-- `make install-module` (core.so and lua/td/*.lua into the rocks tree).
-- The C core needs Debian's libcurl, zlib and Lua 5.4 headers
-- (scripts/deps.sh); lua-cjson comes from Debian's lua-cjson package.
-- The version is lua/td/version.lua's (tests/test_rockspec.lua checks it).
rockspec_format = "3.0"
package = "tdlua"
version = "0.1.0-1"
source = {
  url = "git+file:///dev/null", -- built from a checkout with `luarocks make`
}
description = {
  summary = "Treasure Data REST APIs (v3 and Treasure Workflow) for Lua 5.4",
  detailed = [[
The td module: queries, job waits, streamed and resumable results,
downloads, imports, schedules, access control and the Treasure Workflow
API, with retries, structured errors and cooperative concurrency.]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  type = "make",
  build_target = "module",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
  },
  install_target = "install-module",
  install_variables = {
    LUA_SHARE = "$(LUADIR)",
    LUA_LIB = "$(LIBDIR)",
  },
}
