/* json.c - a JSON decoder that keeps integers exact.
 *
 * core.json_decode(text) -> value | nil, message, offset
 *
 * lua-cjson reads every number as a double, so an id such as
 * 1234567890123456789 comes back with its last digits changed. Here a
 * number written without a fraction or an exponent is a Lua integer when
 * it fits in 64 bits, and its decimal text (a string) when it does not, as
 * the row decoder does for unsigned 64-bit values; other numbers are
 * floats (lua_stringtonumber, so exactly as Lua reads them). null is the
 * light userdata NULL (td.null, cjson.null); objects and arrays are tables
 * (an array's elements at 1..n, nulls included as td.null).
 *
 * Strict RFC 8259: no comments, no trailing commas, no control characters
 * inside strings, \u escapes with surrogate pairs checked and written as
 * UTF-8 (a lone surrogate is an error), nothing but whitespace after the
 * value. Nesting is limited to MAX_DEPTH levels. Errors are returned (the
 * message and the 1-based byte offset), not raised; memory errors raise,
 * and strings are built in luaL_Buffers, so nothing leaks. */
#include "core.h"

#include <string.h>

#define MAX_DEPTH 64

typedef struct jp {
  lua_State *L;
  const char *s, *p, *e;
  const char *err;
  const char *errp;
} jp;

static int value(jp *j, int depth);

static int fail(jp *j, const char *msg, const char *at) {
  if (!j->err) {
    j->err = msg;
    j->errp = at;
  }
  return 0;
}

static void ws(jp *j) {
  while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

static void put_utf8(luaL_Buffer *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) { u[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
  }
  luaL_addlstring(b, u, n);
}

/* A string at j->p (the opening quote); pushes it. */
static int string(jp *j) {
  const char *p = ++j->p, *start = p;
  /* fast path: no escapes */
  while (p < j->e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) p++;
  if (p < j->e && *p == '"') {
    lua_pushlstring(j->L, start, (size_t)(p - start));
    j->p = p + 1;
    return 1;
  }
  luaL_Buffer b;
  luaL_buffinit(j->L, &b);
  luaL_addlstring(&b, start, (size_t)(p - start));
  for (;;) {
    if (p >= j->e) return fail(j, "string not closed", start - 1);
    unsigned char c = (unsigned char)*p;
    if (c == '"') break;
    if (c < 0x20) return fail(j, "control character in a string", p);
    if (c != '\\') {
      const char *q = p;
      while (q < j->e && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
      luaL_addlstring(&b, p, (size_t)(q - p));
      p = q;
      continue;
    }
    if (p + 1 >= j->e) return fail(j, "string not closed", start - 1);
    char esc = p[1];
    switch (esc) {
    case '"': luaL_addchar(&b, '"'); break;
    case '\\': luaL_addchar(&b, '\\'); break;
    case '/': luaL_addchar(&b, '/'); break;
    case 'b': luaL_addchar(&b, '\b'); break;
    case 'f': luaL_addchar(&b, '\f'); break;
    case 'n': luaL_addchar(&b, '\n'); break;
    case 'r': luaL_addchar(&b, '\r'); break;
    case 't': luaL_addchar(&b, '\t'); break;
    case 'u': {
      unsigned cp, lo;
      if (j->e - p < 6 || !hex4(p + 2, &cp)) return fail(j, "bad \\u escape", p);
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (j->e - p < 12 || p[6] != '\\' || p[7] != 'u' || !hex4(p + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
          return fail(j, "lone surrogate in a \\u escape", p);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return fail(j, "lone surrogate in a \\u escape", p);
      }
      put_utf8(&b, cp);
      p += 4;
      break;
    }
    default: return fail(j, "bad escape in a string", p);
    }
    p += 2;
  }
  luaL_pushresult(&b);
  j->p = p + 1;
  return 1;
}

static int number(jp *j) {
  const char *p = j->p, *start = p;
  int integral = 1;
  if (p < j->e && *p == '-') p++;
  if (p >= j->e || *p < '0' || *p > '9') return fail(j, "bad number", start);
  if (*p == '0') p++;
  else while (p < j->e && *p >= '0' && *p <= '9') p++;
  if (p < j->e && *p == '.') {
    integral = 0;
    p++;
    if (p >= j->e || *p < '0' || *p > '9') return fail(j, "bad number", start);
    while (p < j->e && *p >= '0' && *p <= '9') p++;
  }
  if (p < j->e && (*p == 'e' || *p == 'E')) {
    integral = 0;
    p++;
    if (p < j->e && (*p == '+' || *p == '-')) p++;
    if (p >= j->e || *p < '0' || *p > '9') return fail(j, "bad number", start);
    while (p < j->e && *p >= '0' && *p <= '9') p++;
  }
  char tmp[64];
  size_t n = (size_t)(p - start);
  if (n >= sizeof tmp) {
    if (integral) { /* far beyond 64 bits: keep the digits */
      lua_pushlstring(j->L, start, n);
      j->p = p;
      return 1;
    }
    lua_pushlstring(j->L, start, n); /* a long float: let Lua read it */
    if (!lua_stringtonumber(j->L, lua_tostring(j->L, -1))) return fail(j, "bad number", start);
    lua_remove(j->L, -2);
    j->p = p;
    return 1;
  }
  memcpy(tmp, start, n);
  tmp[n] = '\0';
  if (!lua_stringtonumber(j->L, tmp)) return fail(j, "bad number", start);
  if (integral && !lua_isinteger(j->L, -1)) { /* does not fit in int64: its decimal text */
    lua_pop(j->L, 1);
    lua_pushlstring(j->L, start, n);
  }
  j->p = p;
  return 1;
}

static int literal(jp *j, const char *word, size_t n) {
  if ((size_t)(j->e - j->p) < n || memcmp(j->p, word, n) != 0) return fail(j, "unexpected character", j->p);
  j->p += n;
  return 1;
}

static int array(jp *j, int depth) {
  lua_State *L = j->L;
  j->p++; /* [ */
  lua_newtable(L);
  ws(j);
  if (j->p < j->e && *j->p == ']') {
    j->p++;
    return 1;
  }
  lua_Integer i = 0;
  for (;;) {
    if (!value(j, depth + 1)) return 0;
    lua_rawseti(L, -2, ++i);
    ws(j);
    if (j->p >= j->e) return fail(j, "array not closed", j->p);
    if (*j->p == ',') { j->p++; continue; }
    if (*j->p == ']') { j->p++; return 1; }
    return fail(j, "',' or ']' expected", j->p);
  }
}

static int object(jp *j, int depth) {
  lua_State *L = j->L;
  j->p++; /* { */
  lua_newtable(L);
  ws(j);
  if (j->p < j->e && *j->p == '}') {
    j->p++;
    return 1;
  }
  for (;;) {
    ws(j);
    if (j->p >= j->e || *j->p != '"') return fail(j, "a string key expected", j->p);
    if (!string(j)) return 0;
    ws(j);
    if (j->p >= j->e || *j->p != ':') return fail(j, "':' expected", j->p);
    j->p++;
    if (!value(j, depth + 1)) return 0;
    lua_rawset(L, -3);
    ws(j);
    if (j->p >= j->e) return fail(j, "object not closed", j->p);
    if (*j->p == ',') { j->p++; continue; }
    if (*j->p == '}') { j->p++; return 1; }
    return fail(j, "',' or '}' expected", j->p);
  }
}

static int value(jp *j, int depth) {
  if (depth > MAX_DEPTH) return fail(j, "nested too deeply", j->p);
  luaL_checkstack(j->L, 4, "JSON nested too deeply");
  ws(j);
  if (j->p >= j->e) return fail(j, "a value expected", j->p);
  switch (*j->p) {
  case '{': return object(j, depth);
  case '[': return array(j, depth);
  case '"': return string(j);
  case 't': if (!literal(j, "true", 4)) return 0; lua_pushboolean(j->L, 1); return 1;
  case 'f': if (!literal(j, "false", 5)) return 0; lua_pushboolean(j->L, 0); return 1;
  case 'n': if (!literal(j, "null", 4)) return 0; lua_pushlightuserdata(j->L, NULL); return 1;
  default:
    if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) return number(j);
    return fail(j, "unexpected character", j->p);
  }
}

/* core.json_decode(text) -> value | nil, message, offset */
int td_l_json_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  jp j = {L, s, s, s + n, NULL, NULL};
  lua_settop(L, 1);
  if (value(&j, 0)) {
    ws(&j);
    if (j.p == j.e) return 1;
    fail(&j, "text after the value", j.p);
  }
  lua_settop(L, 1);
  lua_pushnil(L);
  lua_pushstring(L, j.err);
  lua_pushinteger(L, (lua_Integer)(j.errp - s) + 1);
  return 3;
}
