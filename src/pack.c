/* pack.c - the import encoder: Lua tables -> msgpack maps -> gzip.
 *
 * A packer turns records (Lua tables with string keys) into one msgpack map
 * each and deflates them as they come, so only the compressed chunk and a
 * small batch of not yet deflated bytes are ever held in memory. finish()
 * hands the chunk over as one gzip member and starts the next; the Lua side
 * (td/v3/import.lua) decides where chunks end and uploads them.
 *
 * Value mapping: integers -> the smallest msgpack int, floats -> float64,
 * strings -> str (the raw bytes, whatever they are), booleans -> bool,
 * td.null / cjson.null (light userdata NULL) -> nil, tables -> array when
 * their keys are exactly 1..n (n >= 0, so an empty nested table is an empty
 * array), else map. A record itself is always a map and needs string keys.
 * Tables are read raw (no metamethods). Nesting deeper than MAX_DEPTH is
 * refused, which also stops reference cycles.
 *
 * Errors: every failure raises with the record number (1-based, counted
 * over the packer's life) and the top-level field it happened in. A record
 * that fails is dropped whole: its partial bytes are rolled back on the
 * next call, so the chunk stays valid. All memory (buffers, the deflate
 * state) is owned by the userdata, so a raise never leaks. */
#include "core.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define MAX_DEPTH 32
#define BATCH (64 * 1024) /* deflate encoded bytes in batches of this size */

typedef struct tdenc {
  z_stream z;
  int zinit;        /* deflateInit2 done */
  int gzip;         /* compress (else the chunk is plain msgpack) */
  int level;        /* zlib level */
  int need_time;    /* records must have an integer `time` */
  int closed;
  int broken;       /* a raise inside deflate handling: unusable */
  int partial;      /* add() raised while encoding: roll back to mark */
  size_t mark;      /* raw.len before the record being added */
  tdbuf raw;        /* encoded records not yet deflated */
  tdbuf out;        /* the chunk so far */
  lua_Integer records;        /* records added over the packer's life */
  lua_Integer chunk_records;  /* records in the current chunk */
  lua_Integer chunk_raw;      /* msgpack bytes in the current chunk */
} tdenc;

/* Where an encoding error happened, for the message. */
typedef struct encctx {
  tdenc *e;
  const char *field; /* top-level key being encoded, or NULL */
} encctx;

static tdenc *checkenc(lua_State *L, int idx) {
  return (tdenc *)luaL_checkudata(L, idx, TD_ENC_MT);
}

/* Raise "record N[, field 'k']: <message>". */
static int fail(lua_State *L, const encctx *c, const char *msg) {
  if (c->field)
    return luaL_error(L, "record %I, field '%s': %s", c->e->records + 1, c->field, msg);
  return luaL_error(L, "record %I: %s", c->e->records + 1, msg);
}

/* --- msgpack ------------------------------------------------------------ */

static void put(lua_State *L, tdenc *e, const void *p, size_t n) {
  if (tdbuf_append(&e->raw, p, n) != 0) luaL_error(L, "out of memory");
}

static void put_byte(lua_State *L, tdenc *e, unsigned v) {
  unsigned char b = (unsigned char)v;
  put(L, e, &b, 1);
}

/* A tag byte followed by v as an n-byte big-endian number. */
static void put_tagged(lua_State *L, tdenc *e, unsigned tag, uint64_t v, int n) {
  unsigned char b[9];
  b[0] = (unsigned char)tag;
  for (int i = 0; i < n; i++) b[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
  put(L, e, b, (size_t)n + 1);
}

static void put_int(lua_State *L, tdenc *e, lua_Integer i) {
  if (i >= 0) {
    uint64_t u = (uint64_t)i;
    if (u <= 0x7f) put_byte(L, e, (unsigned)u);
    else if (u <= 0xff) put_tagged(L, e, 0xcc, u, 1);
    else if (u <= 0xffff) put_tagged(L, e, 0xcd, u, 2);
    else if (u <= 0xffffffffu) put_tagged(L, e, 0xce, u, 4);
    else put_tagged(L, e, 0xcf, u, 8);
  } else {
    uint64_t u = (uint64_t)i; /* two's complement bytes */
    if (i >= -32) put_byte(L, e, (unsigned)(u & 0xff));
    else if (i >= INT8_MIN) put_tagged(L, e, 0xd0, u, 1);
    else if (i >= INT16_MIN) put_tagged(L, e, 0xd1, u, 2);
    else if (i >= INT32_MIN) put_tagged(L, e, 0xd2, u, 4);
    else put_tagged(L, e, 0xd3, u, 8);
  }
}

static void put_double(lua_State *L, tdenc *e, double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  put_tagged(L, e, 0xcb, u, 8);
}

static void put_str(lua_State *L, const encctx *c, const char *s, size_t n) {
  tdenc *e = c->e;
  uint64_t len = (uint64_t)n;
  if (len <= 31) put_byte(L, e, 0xa0u | (unsigned)len);
  else if (len <= 0xff) put_tagged(L, e, 0xd9, len, 1);
  else if (len <= 0xffff) put_tagged(L, e, 0xda, len, 2);
  else if (len <= 0xffffffffu) put_tagged(L, e, 0xdb, len, 4);
  else fail(L, c, "string longer than 4 GiB");
  put(L, e, s, n);
}

/* Array (fix/16/32) or map header. */
static void put_count(lua_State *L, const encctx *c, int map, size_t n) {
  tdenc *e = c->e;
  uint64_t len = (uint64_t)n;
  if (len <= 15) put_byte(L, e, (map ? 0x80u : 0x90u) | (unsigned)len);
  else if (len <= 0xffff) put_tagged(L, e, map ? 0xde : 0xdc, len, 2);
  else if (len <= 0xffffffffu) put_tagged(L, e, map ? 0xdf : 0xdd, len, 4);
  else fail(L, c, "table with more than 2^32 entries");
}

static void put_value(lua_State *L, const encctx *c, int idx, int depth);

/* A nested table at absolute index idx: array when its keys are exactly
 * 1..n, else a map with string, number or boolean keys. */
static void put_table(lua_State *L, const encctx *c, int idx, int depth) {
  if (depth > MAX_DEPTH) fail(L, c, "nested more than 32 levels deep (a table that contains itself?)");
  luaL_checkstack(L, 4, "record nested too deeply");
  lua_Unsigned len = lua_rawlen(L, idx);
  size_t count = 0;
  int array = 1;
  lua_pushnil(L); /* ... nil */
  while (lua_next(L, idx)) { /* ... key value */
    count++;
    if (array) {
      int isint = 0;
      lua_Integer k = lua_type(L, -2) == LUA_TNUMBER ? lua_tointegerx(L, -2, &isint) : 0;
      if (!isint || k < 1 || (lua_Unsigned)k > len) array = 0;
    }
    lua_pop(L, 1); /* ... key */
  }
  if (array && (lua_Unsigned)count == len) {
    put_count(L, c, 0, count);
    for (size_t i = 1; i <= count; i++) {
      lua_rawgeti(L, idx, (lua_Integer)i); /* ... v */
      put_value(L, c, lua_gettop(L), depth);
      lua_pop(L, 1);
    }
    return;
  }
  put_count(L, c, 1, count);
  lua_pushnil(L);
  while (lua_next(L, idx)) { /* ... key value */
    int top = lua_gettop(L);
    int kt = lua_type(L, top - 1);
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN)
      fail(L, c, lua_pushfstring(L, "a nested table has a %s key", lua_typename(L, kt)));
    put_value(L, c, top - 1, depth);
    put_value(L, c, top, depth);
    lua_pop(L, 1); /* ... key */
  }
}

/* Encode the value at absolute index idx. */
static void put_value(lua_State *L, const encctx *c, int idx, int depth) {
  tdenc *e = c->e;
  switch (lua_type(L, idx)) {
    case LUA_TNIL: put_byte(L, e, 0xc0); return;
    case LUA_TBOOLEAN: put_byte(L, e, lua_toboolean(L, idx) ? 0xc3 : 0xc2); return;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) put_int(L, e, lua_tointeger(L, idx));
      else put_double(L, e, (double)lua_tonumber(L, idx));
      return;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      put_str(L, c, s, n);
      return;
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) { /* td.null, cjson.null */
        put_byte(L, e, 0xc0);
        return;
      }
      break;
    case LUA_TTABLE:
      put_table(L, c, idx, depth + 1);
      return;
    default:
      break;
  }
  fail(L, c, lua_pushfstring(L, "cannot encode a %s value", luaL_typename(L, idx)));
}

/* The `time` field: an integer, or a float with an integral value. */
static void check_time(lua_State *L, const encctx *c, int idx) {
  lua_pushliteral(L, "time");
  int t = lua_rawget(L, idx); /* ... time */
  if (t == LUA_TNIL) fail(L, c, "no 'time' field (records need an integer unix time)");
  int isint = 0;
  if (t == LUA_TNUMBER) lua_tointegerx(L, -1, &isint);
  if (!isint) {
    const char *what = t == LUA_TNUMBER ? lua_pushfstring(L, "%f", (double)lua_tonumber(L, -1))
                                        : lua_pushstring(L, luaL_typename(L, -1));
    fail(L, c, lua_pushfstring(L, "'time' must be an integer unix time (got %s)", what));
  }
  lua_pop(L, 1);
}

/* A record: always a map with string keys. */
static void put_record(lua_State *L, encctx *c, int idx) {
  luaL_checkstack(L, 4, "record nested too deeply");
  size_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) { /* ... key value */
    if (lua_type(L, -2) != LUA_TSTRING)
      fail(L, c, lua_pushfstring(L, "keys must be strings (found a %s key)", luaL_typename(L, -2)));
    count++;
    lua_pop(L, 1);
  }
  put_count(L, c, 1, count);
  lua_pushnil(L);
  while (lua_next(L, idx)) { /* ... key value */
    int top = lua_gettop(L);
    size_t klen;
    const char *k = lua_tolstring(L, top - 1, &klen); /* a string: no conversion */
    c->field = k;
    put_str(L, c, k, klen);
    int isint = 0;
    lua_Integer ti = 0;
    if (klen == 4 && memcmp(k, "time", 4) == 0 && lua_type(L, top) == LUA_TNUMBER)
      ti = lua_tointegerx(L, top, &isint);
    if (isint) put_int(L, c->e, ti); /* 1.7e9 as a float still goes out as an integer */
    else put_value(L, c, top, 0);
    lua_pop(L, 1);
  }
  c->field = NULL;
}

/* --- deflating ---------------------------------------------------------- */

/* Move the encoded batch into the chunk, compressing it. flush is Z_NO_FLUSH
 * or Z_FINISH (end of the gzip member). */
static void pump(lua_State *L, tdenc *e, int flush) {
  if (!e->gzip) {
    if (tdbuf_append(&e->out, tdbuf_head(&e->raw), tdbuf_size(&e->raw)) != 0)
      luaL_error(L, "out of memory");
    tdbuf_reset(&e->raw);
    return;
  }
  e->broken = 1; /* until the state is consistent again */
  if (!e->zinit) {
    memset(&e->z, 0, sizeof e->z);
    if (deflateInit2(&e->z, e->level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      luaL_error(L, "deflateInit failed");
    e->zinit = 1;
  }
  size_t n = tdbuf_size(&e->raw);
  if (n > UINT_MAX) luaL_error(L, "record too large to compress");
  e->z.next_in = (unsigned char *)(uintptr_t)tdbuf_head(&e->raw);
  e->z.avail_in = (uInt)n;
  for (;;) {
    if (tdbuf_reserve(&e->out, 64 * 1024) != 0) luaL_error(L, "out of memory");
    size_t room = e->out.cap - e->out.len;
    if (room > UINT_MAX) room = UINT_MAX;
    e->z.next_out = (unsigned char *)(e->out.data + e->out.len);
    e->z.avail_out = (uInt)room;
    int zr = deflate(&e->z, flush);
    e->out.len += room - e->z.avail_out;
    if (zr == Z_STREAM_END) break;
    if (zr != Z_OK && zr != Z_BUF_ERROR) luaL_error(L, "deflate failed (%d)", zr);
    if (flush == Z_NO_FLUSH && e->z.avail_in == 0 && e->z.avail_out != 0) break;
  }
  e->z.next_in = NULL;
  e->z.avail_in = 0;
  tdbuf_reset(&e->raw);
  e->broken = 0;
}

/* Raise if the packer cannot be used; drop the bytes of a failed add. */
static void usable(lua_State *L, tdenc *e) {
  if (e->closed) luaL_error(L, "the packer is closed");
  if (e->broken) luaL_error(L, "the packer is unusable after an earlier failure");
  if (e->partial) {
    e->raw.len = e->raw.off + e->mark;
    e->partial = 0;
  }
}

/* --- methods ------------------------------------------------------------ */

/* core.packer{gzip = true, level = -1..9, require_time = true} -> packer */
int td_l_packer(lua_State *L) {
  int hasopts = !lua_isnoneornil(L, 1);
  if (hasopts) luaL_checktype(L, 1, LUA_TTABLE);
  tdenc *e = (tdenc *)lua_newuserdatauv(L, sizeof *e, 0);
  memset(e, 0, sizeof *e);
  luaL_setmetatable(L, TD_ENC_MT);
  e->gzip = 1;
  e->need_time = 1;
  e->level = Z_DEFAULT_COMPRESSION;
  if (hasopts) {
    if (lua_getfield(L, 1, "gzip") != LUA_TNIL) e->gzip = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "require_time") != LUA_TNIL) e->need_time = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "level") != LUA_TNIL) {
      int isint = 0;
      lua_Integer lv = lua_tointegerx(L, -1, &isint);
      if (!isint || lv < -1 || lv > 9) return luaL_error(L, "packer: level must be an integer from -1 to 9");
      e->level = (int)lv;
    }
    lua_pop(L, 1);
  }
  return 1;
}

/* p:add(record) -> msgpack bytes in the current chunk, this record included */
static int enc_add(lua_State *L) {
  tdenc *e = checkenc(L, 1);
  usable(L, e);
  encctx c = {e, NULL};
  if (!lua_istable(L, 2))
    return fail(L, &c, lua_pushfstring(L, "a record must be a table (got %s)", luaL_typename(L, 2)));
  lua_settop(L, 2);
  e->mark = tdbuf_size(&e->raw);
  e->partial = 1;
  if (e->need_time) check_time(L, &c, 2);
  put_record(L, &c, 2);
  e->partial = 0;
  e->chunk_raw += (lua_Integer)(tdbuf_size(&e->raw) - e->mark);
  e->chunk_records++;
  e->records++;
  if (tdbuf_size(&e->raw) >= BATCH) pump(L, e, Z_NO_FLUSH);
  lua_pushinteger(L, e->chunk_raw);
  return 1;
}

/* p:bytes() -> output bytes so far in this chunk (compressed: deflate
 * holds back a little until finish), msgpack bytes in this chunk */
static int enc_bytes(lua_State *L) {
  tdenc *e = checkenc(L, 1);
  usable(L, e);
  lua_pushinteger(L, (lua_Integer)tdbuf_size(&e->out));
  lua_pushinteger(L, e->chunk_raw);
  return 2;
}

/* p:count() -> records in this chunk, records over the packer's life */
static int enc_count(lua_State *L) {
  tdenc *e = checkenc(L, 1);
  lua_pushinteger(L, e->chunk_records);
  lua_pushinteger(L, e->records);
  return 2;
}

/* p:finish() -> the chunk (one gzip member, or plain msgpack), or nil when
 * no record was added since the last finish; the next chunk starts empty */
static int enc_finish(lua_State *L) {
  tdenc *e = checkenc(L, 1);
  usable(L, e);
  if (e->chunk_records == 0) {
    lua_pushnil(L);
    return 1;
  }
  pump(L, e, Z_FINISH);
  lua_pushlstring(L, tdbuf_head(&e->out), tdbuf_size(&e->out));
  tdbuf_reset(&e->out);
  if (e->zinit && deflateReset(&e->z) != Z_OK) {
    e->broken = 1;
    return luaL_error(L, "deflateReset failed");
  }
  e->chunk_records = 0;
  e->chunk_raw = 0;
  return 1;
}

/* p:close() - free the buffers (also __gc and __close); idempotent */
static int enc_close(lua_State *L) {
  tdenc *e = checkenc(L, 1);
  if (e->zinit) {
    deflateEnd(&e->z);
    e->zinit = 0;
  }
  tdbuf_free(&e->raw);
  tdbuf_free(&e->out);
  e->closed = 1;
  return 0;
}

static int enc_tostring(lua_State *L) {
  tdenc *e = checkenc(L, 1);
  lua_pushfstring(L, "td.core.packer(%I records%s)", e->records, e->closed ? ", closed" : "");
  return 1;
}

static const luaL_Reg enc_methods[] = {{"add", enc_add},     {"bytes", enc_bytes},
                                       {"count", enc_count}, {"finish", enc_finish},
                                       {"close", enc_close}, {NULL, NULL}};
static const luaL_Reg enc_meta[] = {
    {"__gc", enc_close}, {"__close", enc_close}, {"__tostring", enc_tostring}, {NULL, NULL}};
const tdclass td_packer_class = {TD_ENC_MT, enc_methods, enc_meta};
