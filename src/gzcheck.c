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
#include <stdio.h>
#include <string.h>

#include "infl.h"

#define QUEUE_MAX (4 * 1024 * 1024) /* gzip bytes waiting for the inflater */

#define TD_GZC_MT "td.core.gzcheck"
#define MAX_DEPTH_ITEMS ((uint64_t)1 << 40)

typedef struct gzcheck {
  tdinfl *infl;      /* inflates on a second thread (infl.h) */
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
  snprintf(g->why, sizeof g->why, "%s", msg);
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
  int stopped;       /* a failure was reported (the worker no longer walks) */
} gzc_ud;

static gzc_ud *check(lua_State *L) { return (gzc_ud *)luaL_checkudata(L, 1, TD_GZC_MT); }

static int push_failure(lua_State *L, gzcheck *g) {
  lua_pushnil(L);
  lua_pushstring(L, g->kind ? g->kind : "corrupt");
  lua_pushstring(L, g->why);
  return 3;
}

/* The inflater's sink: walk each inflated block (on the worker thread). */
static int walk_sink(void *ud, const char *p, size_t n, char *err, size_t errlen) {
  gzc_ud *u = (gzc_ud *)ud;
  gzcheck *g = &u->g;
  g->raw += (uint64_t)n;
  if (walk(g, (const unsigned char *)p, n, &u->skip_left) == 0) return 0;
  snprintf(err, errlen, "%s", g->why);
  return -1;
}

/* The inflater failed: g failed with its kind and message. */
static void infl_failed(gzcheck *g) {
  if (g->failed) return; /* walk_sink already said why */
  if (td_infl_oom(g->infl)) fail(g, "memory", "out of memory");
  else {
    fail(g, "corrupt", "");
    snprintf(g->why, sizeof g->why, "the result is not valid gzip data (%.100s)", td_infl_error(g->infl));
  }
}

/* v:update(bytes) -> true, or nil, kind, message
 * The bytes are inflated and walked on a second thread, so checking costs
 * the caller little more than a copy; a failure shows at a later update or
 * at finish. */
static int gzc_update(lua_State *L) {
  gzc_ud *u = check(L);
  gzcheck *g = &u->g;
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  /* g's walk state belongs to the worker until it failed or finished */
  if (!u->stopped && (td_infl_failed(g->infl) ||
                      (td_infl_queued(g->infl) > QUEUE_MAX && td_infl_wait(g->infl, QUEUE_MAX / 2) < 0))) {
    infl_failed(g);
    u->stopped = 1;
  }
  if (!u->stopped && td_infl_put(g->infl, s, n) != 0) {
    fail(g, "memory", "out of memory");
    u->stopped = 1;
  }
  if (u->stopped) return push_failure(L, g);
  g->wire += n;
  lua_pushboolean(L, 1);
  return 1;
}

/* v:finish() -> rows, inflated bytes; or nil, kind, message */
static int gzc_finish(lua_State *L) {
  gzc_ud *u = check(L);
  gzcheck *g = &u->g;
  if (!u->stopped && td_infl_wait(g->infl, 0) < 0) infl_failed(g);
  u->stopped = 1; /* the worker is idle from here on */
  if (g->failed) return push_failure(L, g);
  if (g->wire == 0) {
    fail(g, "truncated", "the result is empty (not even a gzip header)");
    return push_failure(L, g);
  }
  if (!td_infl_at_end(g->infl)) {
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
  td_infl_free(u->g.infl);
  u->g.infl = NULL;
  tdbuf_free(&u->g.tail);
  return 0;
}

/* core.gzcheck([{thread = bool}]) -> a verifier */
int td_l_gzcheck(lua_State *L) {
  int thread = 1;
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "thread");
    thread = lua_isnil(L, -1) || lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  gzc_ud *u = (gzc_ud *)lua_newuserdatauv(L, sizeof *u, 0);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, TD_GZC_MT);
  u->g.infl = td_infl_new(thread);
  if (!u->g.infl) return td_error(L, "memory", "out of memory");
  td_infl_set_sink(u->g.infl, walk_sink, u);
  return 1;
}

static const luaL_Reg gzc_methods[] = {{"update", gzc_update}, {"finish", gzc_finish}, {NULL, NULL}};
static const luaL_Reg gzc_meta[] = {{"__gc", gzc_gc}, {"__close", gzc_gc}, {NULL, NULL}};
const tdclass td_gzcheck_class = {TD_GZC_MT, gzc_methods, gzc_meta};
