/* zutil.c - whole-string gzip and gunzip (workflow logs, small payloads).
 * Streams use the decoder in rows.c instead. */
#include "core.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

typedef struct zjob {
  z_stream z;
  int init; /* 1 inflate, 2 deflate */
  tdbuf out;
} zjob;

static int zjob_gc(lua_State *L) {
  zjob *j = (zjob *)lua_touserdata(L, 1);
  if (j->init == 1) inflateEnd(&j->z);
  else if (j->init == 2) deflateEnd(&j->z);
  j->init = 0;
  tdbuf_free(&j->out);
  return 0;
}

/* A zjob owned by a userdata on the stack, so nothing leaks if we raise. */
static zjob *newjob(lua_State *L) {
  zjob *j = (zjob *)lua_newuserdatauv(L, sizeof *j, 0);
  memset(j, 0, sizeof *j);
  luaL_setmetatable(L, TD_ZJOB_MT);
  return j;
}

/* core.gunzip(str [, max]) -> str; every gzip member is decoded. With max,
 * data that would expand beyond max bytes gives nil, message instead (the
 * memory used stays bounded by max). */
int td_l_gunzip(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_Integer max = luaL_optinteger(L, 2, -1);
  zjob *j = newjob(L);
  if (inflateInit2(&j->z, 16 + MAX_WBITS) != Z_OK) return luaL_error(L, "inflateInit failed");
  j->init = 1;
  j->z.next_in = (unsigned char *)(uintptr_t)s;
  j->z.avail_in = (uInt)n;
  int zr = Z_OK;
  for (;;) {
    if (tdbuf_reserve(&j->out, 64 * 1024) != 0) return luaL_error(L, "out of memory");
    j->z.next_out = (unsigned char *)(j->out.data + j->out.len);
    j->z.avail_out = (uInt)(j->out.cap - j->out.len);
    uInt before = j->z.avail_out;
    zr = inflate(&j->z, Z_NO_FLUSH);
    j->out.len += before - j->z.avail_out;
    if (max >= 0 && j->out.len > (size_t)max) {
      lua_pushnil(L);
      lua_pushfstring(L, "expands beyond %I bytes", max);
      return 2;
    }
    if (zr == Z_STREAM_END) {
      if (j->z.avail_in == 0) break;
      inflateReset(&j->z);
      continue;
    }
    if (zr == Z_OK) continue;
    if (zr == Z_BUF_ERROR && j->z.avail_out == 0) continue;
    break;
  }
  if (zr != Z_STREAM_END) return luaL_error(L, "invalid or truncated gzip data");
  lua_pushlstring(L, tdbuf_head(&j->out), tdbuf_size(&j->out));
  return 1;
}

/* core.gzip(str [, level]) -> str */
int td_l_gzip(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  int level = (int)luaL_optinteger(L, 2, Z_DEFAULT_COMPRESSION);
  zjob *j = newjob(L);
  if (deflateInit2(&j->z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return luaL_error(L, "deflateInit failed");
  j->init = 2;
  j->z.next_in = (unsigned char *)(uintptr_t)s;
  j->z.avail_in = (uInt)n;
  int zr;
  do {
    if (tdbuf_reserve(&j->out, 64 * 1024) != 0) return luaL_error(L, "out of memory");
    j->z.next_out = (unsigned char *)(j->out.data + j->out.len);
    j->z.avail_out = (uInt)(j->out.cap - j->out.len);
    uInt before = j->z.avail_out;
    zr = deflate(&j->z, Z_FINISH);
    j->out.len += before - j->z.avail_out;
  } while (zr == Z_OK || zr == Z_BUF_ERROR);
  if (zr != Z_STREAM_END) return luaL_error(L, "deflate failed");
  lua_pushlstring(L, tdbuf_head(&j->out), tdbuf_size(&j->out));
  return 1;
}

static const luaL_Reg zjob_meta[] = {{"__gc", zjob_gc}, {NULL, NULL}};
const tdclass td_zjob_class = {TD_ZJOB_MT, NULL, zjob_meta};
