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

#include "infl.h"

#define MAX_DEPTH 64
#define FEED_CHUNK (256 * 1024)
#define QUEUE_MAX (2 * 1024 * 1024) /* wire bytes handed to the inflater ahead */
#define MAX_ROW_VALUES 100000       /* dec:write puts a row's values on the stack */

typedef struct tddec {
  tdinfl *infl;  /* gzip: the inflater (created on the first bytes) */
  int gzip;      /* the wire bytes are gzip-compressed msgpack */
  int thread;    /* inflate on a second thread */
  int eof;       /* the source is complete (set by finish) */
  int keyed;     /* top-level arrays become maps keyed by column names */
  int rowsonly;  /* every value must be a row (an array) */
  tdbuf out;     /* msgpack bytes not yet decoded */
  lua_Integer wire; /* wire bytes consumed */
  lua_Integer rows; /* values produced */
} tddec;

/* uservalues: 1 = source request, 2 = column names
 *
 * Every value of a result stream must be a row (a msgpack array); bad
 * bytes raise structured errors: kind "corrupt" (not gzip, not msgpack, a
 * value that is not a row) or "truncated" (the stream ended inside a row
 * or inside a gzip member). */

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

static const char NOT_A_ROW[] = "the result holds a value that is not a row (an array)";

/* The element count of the row array at in->p, which is skipped. 1, 0
 * incomplete, -1 not an array. */
static int row_header(mpin *in, uint64_t *n) {
  NEED(in, 1);
  uint8_t c = *in->p;
  if (c >= 0x90 && c <= 0x9f) { *n = c & 0x0f; in->p += 1; }
  else if (c == 0xdc) { NEED(in, 3); *n = be(in->p + 1, 2); in->p += 3; }
  else if (c == 0xdd) { NEED(in, 5); *n = be(in->p + 1, 4); in->p += 5; }
  else {
    in->err = NOT_A_ROW;
    return -1;
  }
  return 1;
}

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
static int mp_record(lua_State *L, mpin *in, int kidx, int rowsonly) {
  NEED(in, 1);
  uint8_t c = *in->p;
  uint64_t n;
  if (c >= 0x90 && c <= 0x9f) { n = c & 0x0f; in->p += 1; }
  else if (c == 0xdc) { NEED(in, 3); n = be(in->p + 1, 2); in->p += 3; }
  else if (c == 0xdd) { NEED(in, 5); n = be(in->p + 1, 4); in->p += 5; }
  else if (rowsonly) {
    in->err = NOT_A_ROW;
    return -1;
  } else return mp_value(L, in, 0, 0); /* not a row array: as it is */
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

static void raise_bad(lua_State *L, tddec *d, const char *msg) {
  td_error(L, "corrupt", "%s (after %I result rows)", msg, d->rows);
}

/* Move wire bytes from the source request into d->out (through the
 * inflater). Returns 1 when something moved, 0 when no input is
 * available; raises on corrupt data. */
static int feed(lua_State *L, tddec *d, int didx) {
  int moved = 0;
  if (lua_getiuservalue(L, didx, 1) == LUA_TUSERDATA) { /* ... src */
    tdreq *r = td_checkreq(L, -1);
    size_t avail;
    const char *p = td_req_peek(r, &avail);
    if (avail > 0 && !d->gzip) {
      if (tdbuf_append(&d->out, p, avail) != 0) td_error(L, "memory", "out of memory");
      td_req_consume(r, avail);
      d->wire += (lua_Integer)avail;
      moved = 1;
    } else if (avail > 0) {
      if (!d->infl && !(d->infl = td_infl_new(d->thread))) td_error(L, "memory", "out of memory");
      if (td_infl_queued(d->infl) < QUEUE_MAX) {
        if (td_infl_put(d->infl, p, avail) != 0) td_error(L, "memory", "out of memory");
        td_req_consume(r, avail);
        d->wire += (lua_Integer)avail;
        moved = 1;
      }
    }
  }
  lua_pop(L, 1); /* the request stays referenced by the uservalue */
  if (d->infl) {
    long got = td_infl_get(d->infl, &d->out, FEED_CHUNK);
    if (got < 0) {
      if (td_infl_oom(d->infl)) td_error(L, "memory", "out of memory");
      lua_pushfstring(L, "malformed result stream: not valid gzip data (%s)", td_infl_error(d->infl));
      raise_bad(L, d, lua_tostring(L, -1));
    }
    if (got > 0) moved = 1;
  }
  return moved;
}

/* The source is complete and everything was fed: raise unless the bytes
 * ended exactly after a row (and after a gzip member). */
static void check_end(lua_State *L, tddec *d) {
  if (tdbuf_size(&d->out) > 0)
    td_error(L, "truncated", "the result stream ended in the middle of a row (%I bytes left, after %I rows)",
             (lua_Integer)tdbuf_size(&d->out), d->rows);
  if (d->infl && !td_infl_at_end(d->infl))
    td_error(L, "truncated", "the result stream ended inside a gzip member (after %I rows)", d->rows);
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
    r = mp_record(L, &in, top + 1, d->rowsonly);
    if (r > 0) lua_remove(L, top + 1);
  } else if (!d->rowsonly || (*in.p >= 0x90 && *in.p <= 0x9f) || *in.p == 0xdc || *in.p == 0xdd) {
    r = mp_value(L, &in, 0, 1);
  } else {
    in.err = NOT_A_ROW;
    r = -1;
  }
  if (r > 0) {
    tdbuf_consume(&d->out, (size_t)((const char *)in.p - tdbuf_head(&d->out)));
    d->rows++;
    return 1;
  }
  lua_settop(L, top);
  if (r < 0) {
    lua_pushfstring(L, "malformed result stream: %s", in.err);
    raise_bad(L, d, lua_tostring(L, -1));
  }
  return 0;
}

/* Try to decode one row's values onto the stack (no table). Returns the
 * number of values + 1 when a row was pushed, 0 when incomplete. */
static int try_values(lua_State *L, tddec *d) {
  size_t size = tdbuf_size(&d->out);
  if (size == 0) return 0;
  int top = lua_gettop(L);
  mpin in;
  in.p = (const uint8_t *)tdbuf_head(&d->out);
  in.end = in.p + size;
  in.err = NULL;
  uint64_t n = 0;
  int r = row_header(&in, &n);
  if (r > 0 && n > (uint64_t)(in.end - in.p)) r = 0;
  if (r > 0 && (n > MAX_ROW_VALUES || !lua_checkstack(L, (int)n + 8))) {
    in.err = "a row too wide to write as text";
    r = -1;
  }
  for (uint64_t i = 0; r > 0 && i < n; i++) r = mp_value(L, &in, 1, 1);
  if (r > 0) {
    tdbuf_consume(&d->out, (size_t)((const char *)in.p - tdbuf_head(&d->out)));
    d->rows++;
    return (int)n + 1;
  }
  lua_settop(L, top);
  if (r < 0) {
    lua_pushfstring(L, "malformed result stream: %s", in.err);
    raise_bad(L, d, lua_tostring(L, -1));
  }
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
      check_end(L, d);
      lua_pushnil(L);
      return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(2)); /* dec refill */
    lua_pushvalue(L, 1);                   /* dec refill dec */
    lua_callk(L, 1, 0, 0, rows_k);
  }
}

static int rows_iter(lua_State *L) { return rows_k(L, LUA_OK, 0); }

/* core.decoder{gzip = bool, keys = {names}, rows = bool, thread = bool}
 * -> decoder. rows: every value must be a row (an array), as in a query
 * result; else any msgpack value is decoded (keys apply to arrays only).
 * thread (default true): inflate on a second thread while rows are built. */
int td_l_decoder(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  tddec *d = (tddec *)lua_newuserdatauv(L, sizeof *d, 2);
  memset(d, 0, sizeof *d);
  luaL_setmetatable(L, TD_DEC_MT);
  lua_getfield(L, 1, "gzip");
  d->gzip = lua_toboolean(L, -1);
  lua_pop(L, 1);
  d->thread = lua_getfield(L, 1, "thread") == LUA_TNIL || lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "rows");
  d->rowsonly = lua_toboolean(L, -1);
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

/* dec:feed(str) - decode from a string instead of a request (tests, tails);
 * gzip decoders take gzip bytes */
static int dec_feedstr(lua_State *L) {
  tddec *d = checkdec(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  if (d->gzip) {
    if (!d->infl && !(d->infl = td_infl_new(d->thread))) return td_error(L, "memory", "out of memory");
    if (td_infl_put(d->infl, s, n) != 0) return td_error(L, "memory", "out of memory");
  } else if (tdbuf_append(&d->out, s, n) != 0) return td_error(L, "memory", "out of memory");
  d->wire += (lua_Integer)n;
  return 0;
}

/* dec:next() -> the next complete value, or nothing */
static int dec_next(lua_State *L) {
  tddec *d = checkdec(L, 1);
  lua_settop(L, 1);
  for (;;) {
    if (try_row(L, d, 1)) return 1;
    if (!feed(L, d, 1)) break;
  }
  if (d->eof) check_end(L, d);
  return 0;
}

/* dec:write(w [, max_bytes]) -> rows written, state
 * The download path: decode complete rows and format them straight into
 * the text writer w (td.core.textwriter), with no Lua table per row and no
 * Lua call per row. Stops with state "full" once w holds max_bytes of text
 * (default 256 KiB: take the text and call again), "empty" when no
 * complete row can be had without waiting for the network (refill, or
 * finish()), "end" when the finished stream is used up (a stream that
 * ended inside a row raises a truncated error instead). */
static int dec_write(lua_State *L) {
  tddec *d = checkdec(L, 1);
  luaL_checkudata(L, 2, TD_TXT_MT);
  lua_Integer max = luaL_optinteger(L, 3, 256 * 1024);
  lua_settop(L, 2);
  lua_Integer n = 0;
  for (;;) {
    int k = try_values(L, d);
    if (k > 0) {
      size_t pending = td_txt_put_row(L, 2, 3, k - 1);
      lua_settop(L, 2);
      n++;
      if ((lua_Integer)pending >= max) {
        lua_pushinteger(L, n);
        lua_pushliteral(L, "full");
        return 2;
      }
      continue;
    }
    if (!feed(L, d, 1)) break;
  }
  if (d->eof) check_end(L, d);
  lua_pushinteger(L, n);
  if (d->eof) lua_pushliteral(L, "end");
  else lua_pushliteral(L, "empty");
  return 2;
}

static int dec_gc(lua_State *L) {
  tddec *d = checkdec(L, 1);
  td_infl_free(d->infl);
  d->infl = NULL;
  tdbuf_free(&d->out);
  return 0;
}

static const luaL_Reg dec_methods[] = {{"source", dec_source}, {"finish", dec_finish},
                                       {"iter", dec_iter},     {"stats", dec_stats},
                                       {"feed", dec_feedstr},  {"next", dec_next},
                                       {"write", dec_write},   {NULL, NULL}};
static const luaL_Reg dec_meta[] = {{"__gc", dec_gc}, {NULL, NULL}};
const tdclass td_decoder_class = {TD_DEC_MT, dec_methods, dec_meta};
