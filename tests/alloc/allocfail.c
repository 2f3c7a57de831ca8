/* allocfail.c - allocation failures swept over a scenario.
 *
 *   allocfail SCENARIO.lua [STEP]
 *
 * The scenario file returns { setup = function() -> ctx, run = function(ctx) }.
 * For each n, a fresh Lua state (td.core and cjson preloaded as in tdlua, the
 * td modules read from lua/) runs setup() with a normal allocator, then
 * run(ctx) with an allocator that fails the n-th allocation and every one
 * after it, until run returns. The run must end in an error (the failure
 * must not be swallowed into a result) or, when n lies beyond the
 * allocations run makes, succeed; the state is then closed. n goes from 1
 * to the number of allocations of an unfailed run, in STEP-sized strides
 * (default 1). A crash ends the process (ASan/UBSan say where); leaks are
 * LSan's at exit. Prints one summary line:
 *   <scenario>: <A> allocations; <P> failure points; <E> errors, <S> successes
 * Exit status 0 when every point ended in an error or a success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_td_core(lua_State *L);
int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

typedef struct {
  int armed;
  unsigned long count;   /* allocations (growths) while armed */
  unsigned long fail_at; /* 0: never */
  unsigned long failed;
} allocator;

static void *alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize) {
  allocator *a = (allocator *)ud;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (a->armed && (ptr == NULL || nsize > osize)) {
    a->count++;
    if (a->fail_at && a->count >= a->fail_at) {
      a->failed++;
      return NULL;
    }
  }
  return realloc(ptr, nsize);
}

static lua_State *new_state(allocator *a) {
  lua_State *L = lua_newstate(alloc_fn, a);
  if (!L) return NULL;
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_td_core);
  lua_setfield(L, -2, "td.core");
  lua_pushcfunction(L, luaopen_cjson);
  lua_setfield(L, -2, "cjson");
  lua_pushcfunction(L, luaopen_cjson_safe);
  lua_setfield(L, -2, "cjson.safe");
  lua_pop(L, 1);
  if (luaL_dostring(L, "package.path = 'lua/?.lua;lua/?/init.lua;tests/alloc/?.lua;tests/lib/?.lua;' .. package.path") != LUA_OK)
    return NULL;
  return L;
}

/* 1 ok, 0 error (message in *msg), -1 setup failed */
static int run_once(const char *script, unsigned long fail_at, allocator *a, char *msg, size_t msglen) {
  memset(a, 0, sizeof *a);
  lua_State *L = new_state(a);
  if (!L) {
    snprintf(msg, msglen, "cannot create a state");
    return -1;
  }
  int rc = -1;
  if (luaL_dofile(L, script) != LUA_OK || !lua_istable(L, -1)) {
    snprintf(msg, msglen, "setup: %s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "not a table");
    goto done;
  }
  lua_getfield(L, -1, "setup");
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    snprintf(msg, msglen, "setup: %s", luaL_tolstring(L, -1, NULL));
    goto done;
  }
  lua_getfield(L, -2, "run");
  lua_insert(L, -2); /* run ctx */
  a->fail_at = fail_at;
  a->armed = 1;
  int st = lua_pcall(L, 1, 0, 0);
  a->armed = 0;
  if (st == LUA_OK) rc = 1;
  else {
    const char *m = lua_tostring(L, -1);
    if (!m && lua_istable(L, -1)) {
      lua_getfield(L, -1, "message");
      m = lua_tostring(L, -1);
    }
    snprintf(msg, msglen, "%s", m ? m : "(error object)");
    rc = 0;
  }
done:
  lua_close(L);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: allocfail SCENARIO.lua [STEP]\n");
    return 2;
  }
  const char *script = argv[1];
  unsigned long step = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
  if (step == 0) step = 1;
  allocator a;
  char msg[512];
  int rc = run_once(script, 0, &a, msg, sizeof msg);
  if (rc != 1) {
    fprintf(stderr, "%s: fails without an allocation failure: %s\n", script, msg);
    return 1;
  }
  unsigned long total = a.count, points = 0, errors = 0, successes = 0, swallowed = 0;
  for (unsigned long n = 1; n <= total; n += step) {
    rc = run_once(script, n, &a, msg, sizeof msg);
    points++;
    if (rc < 0) {
      fprintf(stderr, "%s: n=%lu: %s\n", script, n, msg);
      return 1;
    }
    if (rc == 0) errors++;
    else if (a.failed) {
      /* the run failed allocations and still reported success */
      swallowed++;
      fprintf(stderr, "%s: n=%lu: %lu allocations failed, yet the run succeeded\n", script, n, a.failed);
    } else successes++;
  }
  printf("%s: %lu allocations; %lu failure points; %lu errors, %lu successes, %lu swallowed\n", script, total,
         points, errors, successes, swallowed);
  fflush(stdout);
  return swallowed ? 1 : 0;
}
