/* gzcheck.c - verify msgpack.gz bytes as they pass by, without building Lua
 * values: gzip integrity to the end (every member's CRC-32 and length, no
 * garbage after the last member) and msgpack framing (a sequence of
 * complete values, each an array: one result row), counting the rows.
 *
 *   local v = core.gzcheck()
 *   local ok, kind, msg = v:update(bytes)   -- any number of times
 *   local rows, raw = v:finish()            -- or nil, kind, message
 *
 * Failures are returned, never raised, so the caller (td/v3/download.lua)
 * turns them into error objects: kind "corrupt" for bytes that are not
 * gzip or not msgpack, "truncated" for a stream that ends too early. */
#include "core.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define TD_GZC_MT "td.core.gzcheck"
#define MAX_DEPTH_ITEMS ((uint64_t)1 << 40)

typedef struct gzcheck {
  z_stream z;
  int zinit;         /* inflateInit2 done */
  int member_end;    /* the last gzip member ended; more bytes start another */
  int failed;
  uint64_t pending;  /* values still owed by the containers being walked */
  int in_row;        /* inside a top-level value */
  uint64_t rows;
  uint64_t raw;      /* inflated bytes */
  uint64_t wire;     /* gzip bytes */
  tdbuf tail;        /* inflated bytes of an incomplete msgpack header */
  char why[160];
  const char *kind;
} gzcheck;

static int fail(gzcheck *g, const char *kind, const char *msg) {
  g->failed = 1;
  g->kind = kind;
  strncpy(g->why, msg, sizeof g->why - 1);
  g->why[sizeof g->why - 1] = '\0';
  return -1;
}

static uint64_t be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

/* The size of a msgpack header at p (n bytes available), the payload bytes
 * that follow it and the number of nested values it opens. Returns the
 * header size, 0 when more bytes are needed, -1 for an invalid byte. */
static int header(const unsigned char *p, size_t n, uint64_t *skip, uint64_t *opens, int *is_array) {
  unsigned c = p[0];
  *skip = 0;
  *opens = 0;
  *is_array = 0;
  if (c <= 0x7f || c >= 0xe0 || (c >= 0xc0 && c <= 0xc3)) return c == 0xc1 ? -1 : 1;
  if (c >= 0x80 && c <= 0x8f) { *opens = 2u * (c & 0x0f); return 1; }
  if (c >= 0x90 && c <= 0x9f) { *opens = c & 0x0f; *is_array = 1; return 1; }
  if (c >= 0xa0 && c <= 0xbf) { *skip = c & 0x1f; return 1; }
  int len;
  switch (c) {
  case 0xc4: case 0xd9: len = 1; break;                       /* bin8, str8 */
  case 0xc5: case 0xda: len = 2; break;                       /* bin16, str16 */
  case 0xc6: case 0xdb: len = 4; break;                       /* bin32, str32 */
  case 0xc7: if (n < 2) return 0; *skip = (uint64_t)p[1] + 1; return 2;   /* ext8 */
  case 0xc8: if (n < 3) return 0; *skip = be(p + 1, 2) + 1; return 3;     /* ext16 */
  case 0xc9: if (n < 5) return 0; *skip = be(p + 1, 4) + 1; return 5;     /* ext32 */
  case 0xca: *skip = 4; return 1;
  case 0xcb: *skip = 8; return 1;
  case 0xcc: case 0xd0: *skip = 1; return 1;
  case 0xcd: case 0xd1: *skip = 2; return 1;
  case 0xce: case 0xd2: *skip = 4; return 1;
  case 0xcf: case 0xd3: *skip = 8; return 1;
  case 0xd4: *skip = 2; return 1;
  case 0xd5: *skip = 3; return 1;
  case 0xd6: *skip = 5; return 1;
  case 0xd7: *skip = 9; return 1;
  case 0xd8: *skip = 17; return 1;
  case 0xdc: if (n < 3) return 0; *opens = be(p + 1, 2); *is_array = 1; return 3;
  case 0xdd: if (n < 5) return 0; *opens = be(p + 1, 4); *is_array = 1; return 5;
  case 0xde: if (n < 3) return 0; *opens = 2 * be(p + 1, 2); return 3;
  case 0xdf: if (n < 5) return 0; *opens = 2 * be(p + 1, 4); return 5;
  default: return -1;
  }
  if (n < (size_t)len + 1) return 0;
  *skip = be(p + 1, len);
  return len + 1;
}

/* Walk inflated bytes. `skip_left` carries payload bytes to jump over. */
static int walk(gzcheck *g, const unsigned char *p, size_t n, uint64_t *skip_left) {
  size_t i = 0;
  while (i < n) {
    if (*skip_left) {
      uint64_t k = *skip_left < (uint64_t)(n - i) ? *skip_left : (uint64_t)(n - i);
      *skip_left -= k;
      i += (size_t)k;
      continue;
    }
    /* a header: complete it from the tail buffer when it was split */
    const unsigned char *h = p + i;
    size_t avail = n - i;
    unsigned char joined[16];
    size_t from_tail = tdbuf_size(&g->tail);
    if (from_tail) {
      size_t take = avail < sizeof joined - from_tail ? avail : sizeof joined - from_tail;
      memcpy(joined, tdbuf_head(&g->tail), from_tail);
      memcpy(joined + from_tail, h, take);
      h = joined;
      avail = from_tail + take;
    }
    uint64_t skip, opens;
    int is_array;
    int hl = header(h, avail, &skip, &opens, &is_array);
    if (hl < 0) return fail(g, "corrupt", "the result is not valid msgpack (an invalid type byte)");
    if (hl == 0) {
      /* keep the partial header for the next chunk */
      if (tdbuf_append(&g->tail, p + i, n - i) != 0) return fail(g, "memory", "out of memory");
      return 0;
    }
    if (!g->in_row) {
      if (!is_array) return fail(g, "corrupt", "the result holds a value that is not a row (an array)");
      g->in_row = 1;
      g->pending = 1;
    }
    if (opens > MAX_DEPTH_ITEMS) return fail(g, "corrupt", "the result is not valid msgpack (an absurd length)");
    g->pending = g->pending - 1 + opens;
    i += (size_t)hl - from_tail;
    tdbuf_reset(&g->tail);
    *skip_left = skip;
    if (g->pending == 0) {
      g->in_row = 0;
      g->rows++;
    }
  }
  return 0;
}

typedef struct gzc_ud {
  gzcheck g;
  uint64_t skip_left;
} gzc_ud;

static gzc_ud *check(lua_State *L) { return (gzc_ud *)luaL_checkudata(L, 1, TD_GZC_MT); }

static int push_failure(lua_State *L, gzcheck *g) {
  lua_pushnil(L);
  lua_pushstring(L, g->kind ? g->kind : "corrupt");
  lua_pushstring(L, g->why);
  return 3;
}

/* v:update(bytes) -> true, or nil, kind, message */
static int gzc_update(lua_State *L) {
  gzc_ud *u = check(L);
  gzcheck *g = &u->g;
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 2, &n);
  if (g->failed) return push_failure(L, g);
  g->wire += n;
  unsigned char out[65536];
  while (n > 0) {
    if (g->member_end) {
      /* after a complete member only another gzip member may follow */
      if (s[0] != 0x1f) {
        fail(g, "corrupt", "bytes that are not gzip follow the end of the compressed result");
        return push_failure(L, g);
      }
      if (inflateReset(&g->z) != Z_OK) {
        fail(g, "corrupt", "cannot restart the inflater");
        return push_failure(L, g);
      }
      g->member_end = 0;
    }
    g->z.next_in = (Bytef *)s;
    g->z.avail_in = (uInt)(n > 0x40000000u ? 0x40000000u : n);
    size_t offered = g->z.avail_in;
    int rc;
    do {
      g->z.next_out = out;
      g->z.avail_out = sizeof out;
      rc = inflate(&g->z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        fail(g, "corrupt", rc == Z_DATA_ERROR ? "the result is not valid gzip data (or its checksum is wrong)"
                                              : "the result could not be inflated");
        return push_failure(L, g);
      }
      size_t got = sizeof out - g->z.avail_out;
      g->raw += got;
      if (got && walk(g, out, got, &u->skip_left) != 0) return push_failure(L, g);
      if (rc == Z_STREAM_END) break;
    } while (g->z.avail_out == 0 || (g->z.avail_in > 0 && rc != Z_BUF_ERROR));
    size_t used = offered - g->z.avail_in;
    s += used;
    n -= used;
    if (rc == Z_STREAM_END) g->member_end = 1;
    else if (used == 0 && n > 0) {
      fail(g, "corrupt", "the result could not be inflated");
      return push_failure(L, g);
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* v:finish() -> rows, inflated bytes; or nil, kind, message */
static int gzc_finish(lua_State *L) {
  gzc_ud *u = check(L);
  gzcheck *g = &u->g;
  if (g->failed) return push_failure(L, g);
  if (g->wire == 0) {
    fail(g, "truncated", "the result is empty (not even a gzip header)");
    return push_failure(L, g);
  }
  if (!g->member_end) {
    fail(g, "truncated", "the compressed result ends before its gzip trailer (truncated)");
    return push_failure(L, g);
  }
  if (g->in_row || u->skip_left || tdbuf_size(&g->tail)) {
    fail(g, "truncated", "the result ends in the middle of a row");
    return push_failure(L, g);
  }
  lua_pushinteger(L, (lua_Integer)g->rows);
  lua_pushinteger(L, (lua_Integer)g->raw);
  return 2;
}

static int gzc_gc(lua_State *L) {
  gzc_ud *u = check(L);
  if (u->g.zinit) {
    inflateEnd(&u->g.z);
    u->g.zinit = 0;
  }
  tdbuf_free(&u->g.tail);
  return 0;
}

/* core.gzcheck() -> a verifier */
int td_l_gzcheck(lua_State *L) {
  gzc_ud *u = (gzc_ud *)lua_newuserdatauv(L, sizeof *u, 0);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, TD_GZC_MT);
  if (inflateInit2(&u->g.z, 15 + 16) != Z_OK) return luaL_error(L, "cannot start the inflater");
  u->g.zinit = 1;
  return 1;
}

static const luaL_Reg gzc_methods[] = {{"update", gzc_update}, {"finish", gzc_finish}, {NULL, NULL}};
static const luaL_Reg gzc_meta[] = {{"__gc", gzc_gc}, {"__close", gzc_gc}, {NULL, NULL}};
const tdclass td_gzcheck_class = {TD_GZC_MT, gzc_methods, gzc_meta};
