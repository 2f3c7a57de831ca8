/* core.c - luaopen_td_core: assembles the td.core module table. */
#include "core.h"

int luaopen_td_core(lua_State *L) {
  luaL_checkversion(L);
  lua_newtable(L);      /* core */
  td_loop_open(L);      /* core loop */
  td_loop_register(L);
  td_request_register(L);
  td_rows_register(L);
  td_zutil_register(L);
  td_pack_register(L);
  td_textout_register(L);
  td_fsutil_register(L);
  td_gzcheck_register(L);
  lua_setfield(L, -2, "_loop"); /* core (the loop lives as long as the module) */
  lua_pushliteral(L, TDLUA_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushlightuserdata(L, NULL); /* == cjson.null */
  lua_setfield(L, -2, "null");
  return 1;
}
