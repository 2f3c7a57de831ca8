/* host.c - creating the Lua state, preloading the embedded modules, running
 * chunks under a message handler and mapping failures to exit codes. */
#define _POSIX_C_SOURCE 200809L
#include "host.h"

#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "embedded.h"

int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

const char *tdhost_progname = "tdlua";
static lua_State *globalL; /* for the SIGINT handler, as in lua.c */
static int verbose_flag;
static int was_interrupted;

/* --- SIGINT ------------------------------------------------------------ */

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  if (td_core_take_interrupt()) { /* not already consumed by a wait */
    lua_pushliteral(L, "interrupted");
    lua_error(L);
  }
}

static void on_sigint(int sig) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  signal(sig, SIG_DFL); /* a second Ctrl-C kills the process */
  td_core_interrupt();
  if (globalL) lua_sethook(globalL, lstop, flag, 1);
}

/* --- embedded modules ---------------------------------------------------- */

/* upvalue 1: index into td_embedded */
static int load_embedded(lua_State *L) {
  const td_embedded_file *f = &td_embedded[lua_tointeger(L, lua_upvalueindex(1))];
  const char *dir = getenv("TDLUA_LUA_DIR");
  int st;
  if (dir && *dir) {
    lua_pushfstring(L, "%s/%s", dir, f->chunkname + 1); /* "@td/x.lua" -> dir/td/x.lua */
    st = luaL_loadfilex(L, lua_tostring(L, -1), "t");
    lua_remove(L, -2);
  } else {
    st = luaL_loadbufferx(L, f->source, f->length, f->chunkname, "t");
  }
  if (st != LUA_OK) return lua_error(L);
  lua_pushvalue(L, 1);           /* module name */
  lua_pushstring(L, f->chunkname + 1);
  lua_call(L, 2, 1);
  return 1;
}

static int open_libs(lua_State *L) {
  const tdhost_opts *o = (const tdhost_opts *)lua_touserdata(L, 1);
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE); /* preload */
  lua_pushcfunction(L, luaopen_cjson);
  lua_setfield(L, -2, "cjson");
  lua_pushcfunction(L, luaopen_cjson_safe);
  lua_setfield(L, -2, "cjson.safe");
  lua_pushcfunction(L, luaopen_td_core);
  lua_setfield(L, -2, "td.core");
  for (size_t i = 0; i < td_embedded_count; i++) {
    lua_pushinteger(L, (lua_Integer)i);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, td_embedded[i].module);
  }
  lua_pop(L, 1);
  {
    /* a development tree: modules that are not embedded yet load from it too */
    const char *dir = getenv("TDLUA_LUA_DIR");
    if (dir && *dir) {
      lua_getglobal(L, "package");
      lua_getfield(L, -1, "path");
      lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
      lua_setfield(L, -3, "path");
      lua_pop(L, 2);
    }
  }
  /* the host's settings, read by td.config and td.http */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE); /* loaded */
  lua_createtable(L, 0, 4);
  lua_pushboolean(L, o->verbose);
  lua_setfield(L, -2, "verbose");
  lua_pushboolean(L, o->dry_run);
  lua_setfield(L, -2, "dry_run");
  lua_pushboolean(L, o->yes);
  lua_setfield(L, -2, "yes");
  lua_pushliteral(L, TDLUA_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "tdlua");
  lua_setfield(L, -2, "td.host");
  lua_pop(L, 1);
  /* the global td */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "td");
  lua_call(L, 1, 1);
  lua_setglobal(L, "td");
  return 0;
}

lua_State *tdhost_new(const tdhost_opts *o) {
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "%s: cannot create Lua state: not enough memory\n", tdhost_progname);
    return NULL;
  }
  verbose_flag = o->verbose;
  lua_pushcfunction(L, open_libs);
  lua_pushlightuserdata(L, (void *)(uintptr_t)o);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "%s: %s\n", tdhost_progname, lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

/* --- running chunks ------------------------------------------------------- */

static int is_interrupt(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TSTRING) return strcmp(lua_tostring(L, idx), "interrupted") == 0;
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_getfield(L, idx, "kind");
    int r = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "interrupted") == 0;
    lua_pop(L, 1);
    return r;
  }
  return 0;
}

/* Message handler: error value -> one readable string (+ traceback when
 * verbose). Error objects are rendered with their __tostring. */
static int msghandler(lua_State *L) {
  if (is_interrupt(L, 1)) was_interrupted = 1;
  const char *msg = NULL;
  if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
  else if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER) msg = lua_tostring(L, 1);
  else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  if (verbose_flag) luaL_traceback(L, L, msg, 1);
  else lua_pushstring(L, msg);
  return 1;
}

/* msg -> require("td.redact").text(msg) (run protected) */
static int redact_msg(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "td.redact");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "text");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

/* Replace the string on top with what td.redact.text makes of it (left as it
 * is when td.redact cannot run): the host's own printing of an uncaught
 * error never shows a secret the process knows. */
static void redact_top(lua_State *L) {
  if (lua_type(L, -1) != LUA_TSTRING || !lua_checkstack(L, 4)) return;
  lua_pushcfunction(L, redact_msg);
  lua_pushvalue(L, -2); /* msg redact_msg msg */
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) lua_remove(L, -2);
  else lua_pop(L, 1);
}

int tdhost_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    redact_top(L);
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", tdhost_progname, msg ? msg : "(error)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

int tdhost_call(lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  was_interrupted = 0;
  signal(SIGINT, on_sigint);
  int st = lua_pcall(L, nargs, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  if (st != LUA_OK) {
    tdhost_report(L, st);
    return was_interrupted ? 130 : 1;
  }
  return 0;
}
