/* rows.c - the streaming result decoder: gzip -> msgpack -> Lua values.
 *
 * A decoder pulls wire bytes from its source request, inflates them into a
 * buffer of msgpack bytes and decodes one row at a time straight onto the
 * Lua stack (no intermediate object tree). The row iterator is a C function
 * driven by the generic `for`; only when it runs out of bytes does it call
 * back into Lua (the `refill` function, through lua_callk so that it may
 * yield) to wait for the network, resume a broken download or declare the
 * end of the stream.
 *
 * SQL NULL: inside rows it is td.null (the light userdata NULL, the same
 * value as cjson.null) so that positions are kept; in records (rows decoded
 * to maps with column names) a NULL column is simply absent. */
#include "core.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define MAX_DEPTH 64
#define FEED_CHUNK (256 * 1024)

typedef struct tddec {
  z_stream z;
  int zinit;   /* inflateInit2 done */
  int gzip;    /* the wire bytes are gzip-compressed msgpack */
  int zend;    /* the current gzip member ended */
  int eof;     /* the source is complete (set by finish) */
  int keyed;   /* top-level arrays become maps keyed by column names */
  tdbuf out;   /* msgpack bytes not yet decoded */
  lua_Integer wire; /* wire bytes consumed */
  lua_Integer rows; /* values produced */
} tddec;

/* uservalues: 1 = source request, 2 = column names */

static tddec *checkdec(lua_State *L, int idx) {
  return (tddec *)luaL_checkudata(L, idx, TD_DEC_MT);
}

/* --- msgpack ------------------------------------------------------------ */

typedef struct mpin {
  const uint8_t *p, *end;
  const char *err;
} mpin;

static uint64_t be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

/* Need n more bytes? 0 = incomplete */
#define NEED(in, n) \
  if ((size_t)((in)->end - (in)->p) < (size_t)(n)) return 0

static void push_u64(lua_State *L, uint64_t v) {
  if (v <= (uint64_t)INT64_MAX) lua_pushinteger(L, (lua_Integer)v);
  else {
    char tmp[32]; /* beyond int64: keep every digit as a string */
    int n = 0;
    char rev[32];
    do {
      rev[n++] = (char)('0' + (int)(v % 10));
      v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) tmp[i] = rev[n - 1 - i];
    lua_pushlstring(L, tmp, (size_t)n);
  }
}

static int mp_value(lua_State *L, mpin *in, int depth, int nullv);

/* Push an ext value: timestamps (type -1) become numbers, others strings. */
static void push_ext(lua_State *L, int8_t type, const uint8_t *d, size_t n) {
  if (type == -1 && (n == 4 || n == 8 || n == 12)) {
    if (n == 4) lua_pushinteger(L, (lua_Integer)be(d, 4));
    else if (n == 8) {
      uint64_t v = be(d, 8);
      uint64_t nsec = v >> 34, sec = v & 0x3ffffffffULL;
      if (nsec == 0) lua_pushinteger(L, (lua_Integer)sec);
      else lua_pushnumber(L, (double)sec + (double)nsec / 1e9);
    } else {
      uint32_t nsec = (uint32_t)be(d, 4);
      int64_t sec = (int64_t)be(d + 4, 8);
      if (nsec == 0) lua_pushinteger(L, (lua_Integer)sec);
      else lua_pushnumber(L, (double)sec + (double)nsec / 1e9);
    }
    return;
  }
  lua_pushlstring(L, (const char *)d, n);
}

static int mp_array(lua_State *L, mpin *in, uint64_t n, int depth) {
  if (n > (uint64_t)(in->end - in->p)) return 0; /* each element takes >= 1 byte */
  luaL_checkstack(L, 4, "result row nested too deeply");
  lua_createtable(L, (int)n, 0);
  for (uint64_t i = 1; i <= n; i++) {
    int r = mp_value(L, in, depth + 1, 1);
    if (r <= 0) return r;
    lua_rawseti(L, -2, (lua_Integer)i);
  }
  return 1;
}

static int mp_map(lua_State *L, mpin *in, uint64_t n, int depth) {
  if (n > (uint64_t)(in->end - in->p) / 2) return 0;
  luaL_checkstack(L, 4, "result row nested too deeply");
  lua_createtable(L, 0, (int)n);
  for (uint64_t i = 0; i < n; i++) {
    int r = mp_value(L, in, depth + 1, 0);
    if (r <= 0) return r;
    if (lua_isnil(L, -1)) {
      in->err = "msgpack map with a nil key";
      return -1;
    }
    if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) != lua_tonumber(L, -1)) {
      in->err = "msgpack map with a NaN key";
      return -1;
    }
    r = mp_value(L, in, depth + 1, 1);
    if (r <= 0) return r;
    lua_rawset(L, -3);
  }
  return 1;
}

/* Decode one value and push it. Returns 1 done, 0 incomplete (stack may
 * hold partial values: the caller restores its top), -1 error (in->err).
 * nullv: push td.null for nil (else push nil). */
static int mp_value(lua_State *L, mpin *in, int depth, int nullv) {
  if (depth > MAX_DEPTH) {
    in->err = "msgpack value nested too deeply";
    return -1;
  }
  NEED(in, 1);
  uint8_t c = *in->p++;
  const uint8_t *p;
  uint64_t n;
  if (c <= 0x7f) { lua_pushinteger(L, c); return 1; }
  if (c >= 0xe0) { lua_pushinteger(L, (int8_t)c); return 1; }
  if (c >= 0xa0 && c <= 0xbf) { n = c & 0x1f; goto str; }
  if (c >= 0x90 && c <= 0x9f) return mp_array(L, in, c & 0x0f, depth);
  if (c >= 0x80 && c <= 0x8f) return mp_map(L, in, c & 0x0f, depth);
  switch (c) {
    case 0xc0:
      if (nullv) lua_pushlightuserdata(L, NULL);
      else lua_pushnil(L);
      return 1;
    case 0xc2: lua_pushboolean(L, 0); return 1;
    case 0xc3: lua_pushboolean(L, 1); return 1;
    case 0xc4: NEED(in, 1); n = be(in->p, 1); in->p += 1; goto str;
    case 0xc5: NEED(in, 2); n = be(in->p, 2); in->p += 2; goto str;
    case 0xc6: NEED(in, 4); n = be(in->p, 4); in->p += 4; goto str;
    case 0xc7: case 0xc8: case 0xc9: {
      int w = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
      NEED(in, w + 1);
      n = be(in->p, w);
      int8_t t = (int8_t)in->p[w];
      in->p += w + 1;
      NEED(in, n);
      push_ext(L, t, in->p, (size_t)n);
      in->p += n;
      return 1;
    }
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
      n = (uint64_t)1 << (c - 0xd4);
      NEED(in, n + 1);
      int8_t t = (int8_t)in->p[0];
      push_ext(L, t, in->p + 1, (size_t)n);
      in->p += n + 1;
      return 1;
    }
    case 0xca: {
      NEED(in, 4);
      uint32_t u = (uint32_t)be(in->p, 4);
      float f;
      memcpy(&f, &u, 4);
      in->p += 4;
      lua_pushnumber(L, (lua_Number)f);
      return 1;
    }
    case 0xcb: {
      NEED(in, 8);
      uint64_t u = be(in->p, 8);
      double d;
      memcpy(&d, &u, 8);
      in->p += 8;
      lua_pushnumber(L, (lua_Number)d);
      return 1;
    }
    case 0xcc: NEED(in, 1); lua_pushinteger(L, (lua_Integer)be(in->p, 1)); in->p += 1; return 1;
    case 0xcd: NEED(in, 2); lua_pushinteger(L, (lua_Integer)be(in->p, 2)); in->p += 2; return 1;
    case 0xce: NEED(in, 4); lua_pushinteger(L, (lua_Integer)be(in->p, 4)); in->p += 4; return 1;
    case 0xcf: NEED(in, 8); push_u64(L, be(in->p, 8)); in->p += 8; return 1;
    case 0xd0: NEED(in, 1); lua_pushinteger(L, (int8_t)be(in->p, 1)); in->p += 1; return 1;
    case 0xd1: NEED(in, 2); lua_pushinteger(L, (int16_t)be(in->p, 2)); in->p += 2; return 1;
    case 0xd2: NEED(in, 4); lua_pushinteger(L, (int32_t)be(in->p, 4)); in->p += 4; return 1;
    case 0xd3: NEED(in, 8); lua_pushinteger(L, (lua_Integer)(int64_t)be(in->p, 8)); in->p += 8; return 1;
    case 0xd9: NEED(in, 1); n = be(in->p, 1); in->p += 1; goto str;
    case 0xda: NEED(in, 2); n = be(in->p, 2); in->p += 2; goto str;
    case 0xdb: NEED(in, 4); n = be(in->p, 4); in->p += 4; goto str;
    case 0xdc: NEED(in, 2); n = be(in->p, 2); in->p += 2; return mp_array(L, in, n, depth);
    case 0xdd: NEED(in, 4); n = be(in->p, 4); in->p += 4; return mp_array(L, in, n, depth);
    case 0xde: NEED(in, 2); n = be(in->p, 2); in->p += 2; return mp_map(L, in, n, depth);
    case 0xdf: NEED(in, 4); n = be(in->p, 4); in->p += 4; return mp_map(L, in, n, depth);
    default:
      in->err = "invalid msgpack byte (0xc1)";
      return -1;
  }
str:
  NEED(in, n);
  p = in->p;
  in->p += n;
  lua_pushlstring(L, (const char *)p, (size_t)n);
  return 1;
}

/* A top-level row as a map keyed by column names (upvalue keys at kidx). */
static int mp_record(lua_State *L, mpin *in, int kidx) {
  NEED(in, 1);
  uint8_t c = *in->p;
  uint64_t n;
  if (c >= 0x90 && c <= 0x9f) { n = c & 0x0f; in->p += 1; }
  else if (c == 0xdc) { NEED(in, 3); n = be(in->p + 1, 2); in->p += 3; }
  else if (c == 0xdd) { NEED(in, 5); n = be(in->p + 1, 4); in->p += 5; }
  else return mp_value(L, in, 0, 0); /* not a row array: as it is */
  if (n > (uint64_t)(in->end - in->p)) return 0;
  luaL_checkstack(L, 4, "result row too wide");
  lua_createtable(L, 0, (int)n);
  for (uint64_t i = 1; i <= n; i++) {
    int r = mp_value(L, in, 1, 0);
    if (r <= 0) return r;
    if (lua_isnil(L, -1)) { lua_pop(L, 1); continue; } /* NULL: absent */
    if (lua_rawgeti(L, kidx, (lua_Integer)i) == LUA_TNIL) { /* more values than names */
      lua_pop(L, 1);
      lua_pushinteger(L, (lua_Integer)i);
    }
    lua_insert(L, -2); /* rec key value */
    lua_rawset(L, -3);
  }
  return 1;
}

/* --- inflating --------------------------------------------------------- */

/* Move wire bytes from the source request into d->out. Returns 1 when some
 * input was consumed, 0 when none is available; raises on corrupt data. */
static int feed(lua_State *L, tddec *d, int didx) {
  if (lua_getiuservalue(L, didx, 1) != LUA_TUSERDATA) { /* ... src */
    lua_pop(L, 1);
    return 0;
  }
  tdreq *r = td_checkreq(L, -1);
  lua_pop(L, 1); /* still referenced by the uservalue */
  size_t avail = tdbuf_size(&r->body);
  if (avail == 0) return 0;
  if (!d->gzip) {
    if (tdbuf_append(&d->out, tdbuf_head(&r->body), avail) != 0)
      return luaL_error(L, "out of memory");
    tdbuf_consume(&r->body, avail);
    d->wire += (lua_Integer)avail;
    td_req_drained(r);
    return 1;
  }
  if (!d->zinit) {
    memset(&d->z, 0, sizeof d->z);
    if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK) return luaL_error(L, "inflateInit failed");
    d->zinit = 1;
  }
  size_t want = tdbuf_size(&d->out) > FEED_CHUNK ? tdbuf_size(&d->out) : FEED_CHUNK;
  size_t produced = 0;
  const unsigned char *in = (const unsigned char *)tdbuf_head(&r->body);
  size_t used = 0;
  while (used < avail && produced < want) {
    if (d->zend) { /* another gzip member follows */
      inflateReset(&d->z);
      d->zend = 0;
    }
    if (tdbuf_reserve(&d->out, 64 * 1024) != 0) return luaL_error(L, "out of memory");
    d->z.next_in = (unsigned char *)(uintptr_t)(in + used);
    d->z.avail_in = (uInt)((avail - used) > 0x40000000u ? 0x40000000u : (avail - used));
    d->z.next_out = (unsigned char *)(d->out.data + d->out.len);
    d->z.avail_out = (uInt)(d->out.cap - d->out.len);
    uInt before_in = d->z.avail_in, before_out = d->z.avail_out;
    int zr = inflate(&d->z, Z_NO_FLUSH);
    size_t got = before_out - d->z.avail_out;
    used += before_in - d->z.avail_in;
    d->out.len += got;
    produced += got;
    if (zr == Z_STREAM_END) d->zend = 1;
    else if (zr == Z_BUF_ERROR && got == 0 && before_in == d->z.avail_in) break;
    else if (zr != Z_OK && zr != Z_BUF_ERROR) {
      const char *m = d->z.msg ? d->z.msg : "inflate error";
      tdbuf_consume(&r->body, used);
      return luaL_error(L, "corrupt gzip data in result stream (%s)", m);
    }
  }
  tdbuf_consume(&r->body, used);
  d->wire += (lua_Integer)used;
  td_req_drained(r);
  return used > 0;
}

/* Try to decode one row from d->out. 1 pushed, 0 incomplete; raises on bad data. */
static int try_row(lua_State *L, tddec *d, int didx) {
  size_t size = tdbuf_size(&d->out);
  if (size == 0) return 0;
  int top = lua_gettop(L);
  mpin in;
  in.p = (const uint8_t *)tdbuf_head(&d->out);
  in.end = in.p + size;
  in.err = NULL;
  int r;
  if (d->keyed) {
    lua_getiuservalue(L, didx, 2); /* ... keys */
    r = mp_record(L, &in, top + 1);
    if (r > 0) lua_remove(L, top + 1);
  } else {
    r = mp_value(L, &in, 0, 1);
  }
  if (r > 0) {
    tdbuf_consume(&d->out, (size_t)((const char *)in.p - tdbuf_head(&d->out)));
    d->rows++;
    return 1;
  }
  lua_settop(L, top);
  if (r < 0) return luaL_error(L, "malformed result stream: %s", in.err);
  return 0;
}

/* The iterator: upvalue 1 = decoder, upvalue 2 = refill(decoder). */
static int rows_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  tddec *d = checkdec(L, lua_upvalueindex(1));
  for (;;) {
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(1)); /* dec */
    if (try_row(L, d, 1)) return 1;
    if (feed(L, d, 1)) continue;
    if (d->eof) {
      if (tdbuf_size(&d->out) > 0 || (d->gzip && d->zinit && !d->zend))
        return luaL_error(L, "result stream ended in the middle of a row (%I bytes left)",
                          (lua_Integer)tdbuf_size(&d->out));
      lua_pushnil(L);
      return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(2)); /* dec refill */
    lua_pushvalue(L, 1);                   /* dec refill dec */
    lua_callk(L, 1, 0, 0, rows_k);
  }
}

static int rows_iter(lua_State *L) { return rows_k(L, LUA_OK, 0); }

/* core.decoder{gzip = bool, keys = {names}} -> decoder */
static int l_decoder(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  tddec *d = (tddec *)lua_newuserdatauv(L, sizeof *d, 2);
  memset(d, 0, sizeof *d);
  luaL_setmetatable(L, TD_DEC_MT);
  lua_getfield(L, 1, "gzip");
  d->gzip = lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "keys");
  if (!lua_isnil(L, -1)) {
    luaL_checktype(L, -1, LUA_TTABLE);
    d->keyed = 1;
    lua_setiuservalue(L, -2, 2);
  } else lua_pop(L, 1);
  return 1;
}

/* dec:source(req) - take wire bytes from this request from now on */
static int dec_source(lua_State *L) {
  checkdec(L, 1);
  td_checkreq(L, 2);
  lua_settop(L, 2);
  lua_setiuservalue(L, 1, 1);
  return 0;
}

/* dec:finish() - the source is complete: the next pull ends the stream */
static int dec_finish(lua_State *L) {
  checkdec(L, 1)->eof = 1;
  return 0;
}

/* dec:iter(refill) -> iterator function for the generic for */
static int dec_iter(lua_State *L) {
  checkdec(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  lua_pushcclosure(L, rows_iter, 2);
  return 1;
}

/* dec:stats() -> wire bytes consumed, rows produced, bytes pending */
static int dec_stats(lua_State *L) {
  tddec *d = checkdec(L, 1);
  lua_pushinteger(L, d->wire);
  lua_pushinteger(L, d->rows);
  lua_pushinteger(L, (lua_Integer)tdbuf_size(&d->out));
  return 3;
}

/* dec:feed(str) - decode from a string instead of a request (tests, tails) */
static int dec_feedstr(lua_State *L) {
  tddec *d = checkdec(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  if (d->gzip) return luaL_error(L, "feed() takes plain msgpack");
  if (tdbuf_append(&d->out, s, n) != 0) return luaL_error(L, "out of memory");
  d->wire += (lua_Integer)n;
  return 0;
}

/* dec:next() -> the next complete value, or nothing */
static int dec_next(lua_State *L) {
  tddec *d = checkdec(L, 1);
  lua_settop(L, 1);
  for (;;) {
    if (try_row(L, d, 1)) return 1;
    if (!feed(L, d, 1)) return 0;
  }
}

static int dec_gc(lua_State *L) {
  tddec *d = checkdec(L, 1);
  if (d->zinit) {
    inflateEnd(&d->z);
    d->zinit = 0;
  }
  tdbuf_free(&d->out);
  return 0;
}

void td_rows_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"source", dec_source}, {"finish", dec_finish},
                                     {"iter", dec_iter},     {"stats", dec_stats},
                                     {"feed", dec_feedstr},  {"next", dec_next},
                                     {NULL, NULL}};
  /* stack: core loop */
  if (luaL_newmetatable(L, TD_DEC_MT)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, dec_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_decoder);
  lua_setfield(L, -3, "decoder");
}
