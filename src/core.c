/* core.c - luaopen_td_core: the td.core module from one table of functions
 * and one table of userdata classes, and structured errors raised from C. */
#include "core.h"

#include <stdarg.h>

#include "infl.h"

/* Every function of td.core; each gets the loop as upvalue 1. */
static const luaL_Reg FUNCTIONS[] = {
    {"poll", td_l_poll},             /* loop.c */
    {"now", td_l_now},
    {"active", td_l_active},
    {"interrupted", td_l_interrupted},
    {"isatty", td_l_isatty},
    {"configure", td_l_configure},
    {"request", td_l_request},       /* request.c */
    {"decoder", td_l_decoder},       /* rows.c */
    {"gunzip", td_l_gunzip},         /* zutil.c */
    {"gzip", td_l_gzip},
    {"packer", td_l_packer},         /* pack.c */
    {"textwriter", td_l_textwriter}, /* textout.c */
    {"json_encode", td_l_json_encode},
    {"target", td_l_target},         /* fsutil.c */
    {"fsync", td_l_fsync},
    {"chmod", td_l_chmod},
    {"isopen", td_l_isopen},
    {"listdir", td_l_listdir},
    {"mkdir", td_l_mkdir},
    {"gzcheck", td_l_gzcheck},       /* gzcheck.c */
    {"csvreader", td_l_csvreader},   /* csv.c */
    {"json_decode", td_l_json_decode}, /* json.c */
    {NULL, NULL}};

static const tdclass *const CLASSES[] = {&td_loop_class,     &td_request_class,
                                         &td_decoder_class,  &td_packer_class,
                                         &td_textwriter_class, &td_zjob_class,
                                         &td_gzcheck_class,  &td_csv_class,
                                         &td_dir_class,
                                         NULL};

/* The one metatable helper: methods as __index, the meta entries, __name. */
static void make_class(lua_State *L, const tdclass *c) {
  if (!luaL_newmetatable(L, c->name)) { /* mt (sets __name) */
    lua_pop(L, 1);
    return;
  }
  if (c->methods) {
    lua_newtable(L);
    luaL_setfuncs(L, c->methods, 0);
    lua_setfield(L, -2, "__index");
  }
  if (c->meta) luaL_setfuncs(L, c->meta, 0);
  lua_pop(L, 1);
}

static int err_tostring(lua_State *L) {
  lua_getfield(L, 1, "kind");
  lua_getfield(L, 1, "message");
  lua_pushfstring(L, "%s: %s", luaL_optstring(L, -2, "error"), luaL_optstring(L, -1, "?"));
  return 1;
}

int td_error(lua_State *L, const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap); /* msg */
  va_end(ap);
  lua_createtable(L, 0, 2); /* msg e */
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "message");
  /* td.errors, once loaded, makes it a proper error object */
  int top = lua_gettop(L);
  if (lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE) == LUA_TTABLE &&
      lua_getfield(L, -1, "td.errors") == LUA_TTABLE &&
      lua_getfield(L, -1, "new") == LUA_TFUNCTION) { /* msg e loaded errors new */
    lua_pushvalue(L, top);
    lua_call(L, 1, 1); /* msg e loaded errors obj */
    return lua_error(L);
  }
  lua_settop(L, top); /* msg e */
  luaL_setmetatable(L, TD_ERR_MT);
  return lua_error(L);
}

int luaopen_td_core(lua_State *L) {
  luaL_checkversion(L);
  for (const tdclass *const *c = CLASSES; *c; c++) make_class(L, *c);
  if (luaL_newmetatable(L, TD_ERR_MT)) {
    lua_pushcfunction(L, err_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  /* Result streams allocate a table per row that dies young: the
   * generational collector suits that (about 10% faster rows()). */
  lua_gc(L, LUA_GCGEN, 0, 0);
  lua_newtable(L);      /* core */
  td_loop_open(L);      /* core loop */
  lua_pushvalue(L, -1); /* core loop loop */
  lua_setfield(L, -3, "_loop"); /* core loop (lives as long as the module) */
  luaL_setfuncs(L, FUNCTIONS, 1); /* core */
  lua_pushliteral(L, TDLUA_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, td_infl_engine());
  lua_setfield(L, -2, "inflater");
  lua_pushlightuserdata(L, NULL); /* == cjson.null */
  lua_setfield(L, -2, "null");
  return 1;
}
