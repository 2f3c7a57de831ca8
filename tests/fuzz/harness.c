/* harness.c - one libFuzzer entry point for every fuzz target.
 *
 * A target is a Lua file tests/fuzz/targets/NAME.lua that returns a
 * function(data). The harness runs it inside an embedded lua_State with
 * td.core loaded as in tdlua and the td modules read from lua/, so the
 * targets drive the code through the same Lua-visible API scripts use.
 * The target is chosen by the environment variable TDFUZZ_TARGET.
 *
 * A target may raise a structured error (a table with a string `kind`,
 * as td.errors and td.core raise): that is the code rejecting bad input,
 * as it should. Any other error, a string error from Lua itself ("attempt
 * to index a nil value"), or an error whose message starts with "BUG"
 * (a broken property the target checked) aborts, and libFuzzer records the
 * input as a crash. Memory errors are ASan's, undefined behaviour UBSan's,
 * leaks LSan's.
 *
 * Coverage of the Lua code: a line hook counts each (chunk, previous line,
 * line) edge in libFuzzer's extra counters, so the fuzzer is guided through
 * the Lua modules as through the C code. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_td_core(lua_State *L);
int luaopen_cjson(lua_State *L);

static lua_State *L;

/* libFuzzer reads these as extra coverage counters */
#define LUA_EDGES 65536
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t lua_edges[LUA_EDGES];
static uintptr_t prev_loc;

static void line_hook(lua_State *S, lua_Debug *ar) {
  if (!lua_getinfo(S, "S", ar)) return;
  uintptr_t loc = ((uintptr_t)ar->source * 31u) ^ ((uintptr_t)ar->currentline * 2654435761u);
  lua_edges[(loc ^ (prev_loc >> 1)) % LUA_EDGES]++;
  prev_loc = loc;
}
static int fn_ref = LUA_NOREF;
static const char *target;
static unsigned long runs;

static void die(const char *what) {
  fprintf(stderr, "tdfuzz[%s]: %s\n", target ? target : "?", what);
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  target = getenv("TDFUZZ_TARGET");
  if (!target || !*target) die("set TDFUZZ_TARGET to a target name (tests/fuzz/targets/NAME.lua)");
  const char *root = getenv("TDFUZZ_ROOT");
  if (!root) root = ".";
  L = luaL_newstate();
  if (!L) die("cannot create a Lua state");
  luaL_openlibs(L);
  luaL_requiref(L, "td.core", luaopen_td_core, 0);
  lua_pop(L, 1);
  luaL_requiref(L, "cjson", luaopen_cjson, 0);
  lua_pop(L, 1);
  char buf[4096];
  snprintf(buf, sizeof buf,
           "package.path = '%s/lua/?.lua;%s/lua/?/init.lua;%s/tests/fuzz/?.lua;%s/tests/lib/?.lua;' .. package.path",
           root, root, root, root);
  if (luaL_dostring(L, buf) != LUA_OK) die(lua_tostring(L, -1));
  snprintf(buf, sizeof buf, "%s/tests/fuzz/targets/%s.lua", root, target);
  if (luaL_loadfile(L, buf) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) die(lua_tostring(L, -1));
  if (!lua_isfunction(L, -1)) die("the target file must return a function(data)");
  fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (!getenv("TDFUZZ_NO_LUA_COVERAGE")) lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  return 0;
}

/* a structured error: a table whose `kind` is a string and whose message
 * does not start with "BUG" */
static int structured(lua_State *S) {
  if (!lua_istable(S, -1)) return 0;
  int ok = lua_getfield(S, -1, "kind") == LUA_TSTRING;
  lua_pop(S, 1);
  if (ok && lua_getfield(S, -1, "message") == LUA_TSTRING &&
      strncmp(lua_tostring(S, -1), "BUG", 3) == 0)
    ok = 0;
  lua_pop(S, 1);
  return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
  lua_pushlstring(L, (const char *)data, size);
  prev_loc = 0;
  if (lua_pcall(L, 1, 0, 0) != LUA_OK && !structured(L)) {
    const char *msg = luaL_tolstring(L, -1, NULL);
    fprintf(stderr, "tdfuzz[%s]: %s\n", target, msg ? msg : "(error)");
    abort();
  }
  lua_settop(L, top);
  if (++runs % 4096 == 0) lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
