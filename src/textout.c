/* textout.c - result rows as csv, tsv, jsonl and json text.
 *
 * A text writer formats rows (arrays as the row decoder yields them) into
 * an internal buffer; the Lua side (td/v3/formats.lua) takes the text out in
 * large pieces and writes it wherever it goes. It is a pure formatter: no
 * I/O, and the rules are exactly those of the Lua reference functions in
 * td/v3/formats.lua (see docs/results.md), byte for byte:
 *
 *   - td.null (the light userdata NULL) and nil: an empty field in csv/tsv,
 *     null in JSON; booleans true/false; integers as "%lld"; floats in the
 *     shortest text that reads back as the same double, laid out like
 *     Python's repr; NaN/Infinity/-Infinity (JSON strings in JSON).
 *   - nested tables are JSON: an array when #t > 0 and next(t, #t) == nil,
 *     else an object whose keys (their text) are sorted as Lua sorts
 *     strings; an empty table is [] unless its column is a map ({}); more
 *     than 64 levels raise "value nested too deeply for JSON".
 *   - a string in a column of kind "bin" is base64; in JSON a string of
 *     decimal digits in a column of kind "int" is a number.
 *   - JSON strings: every byte that does not start a valid UTF-8 sequence
 *     becomes U+FFFD; control characters, '"' and '\' are escaped.
 *   - csv (RFC 4180, "\n" line ends, a row of one empty field is ""),
 *     tsv (backslash escapes), jsonl, json (one array, one row per line).
 *
 * Tables are read raw (no metamethods); other values (functions, full
 * userdata, ...) are written as tostring() writes them.
 *
 * Memory: the buffers and arrays all belong to the userdata, so a raise in
 * the middle of a row (a value nested too deeply, out of memory) leaks
 * nothing; the half-written row is dropped on the next call. */
#include "core.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_JSON_DEPTH 64

enum { F_CSV, F_TSV, F_JSONL, F_JSON };
enum { K_OTHER, K_BIN, K_INT, K_MAP };

/* One key of a map being written: its text in w->scratch and how to find
 * its value again. */
typedef struct keyent {
  size_t off, len;   /* text in scratch (NUL-terminated there) */
  const char *p;     /* scratch.data + off, valid while sorting */
  size_t order;      /* position in the traversal (lua_next order) */
  int ktype;         /* LUA_TSTRING, LUA_TNUMBER (int or float), LUA_TBOOLEAN, other */
  int isint;
  lua_Integer i;
  double d;
} keyent;

typedef struct tdtxt {
  int fmt;
  int objects;
  int first;      /* json: no element written yet */
  int finished;
  int closed;
  int partial;    /* a row raised half-way: drop bytes after mark */
  size_t mark;
  unsigned char *kinds;
  size_t nkinds;
  size_t *keyoff; /* objects: "name": prefixes in keytext, nkeys + 1 offsets */
  size_t nkeys;
  tdbuf keytext;
  tdbuf out;      /* formatted text not yet taken */
  tdbuf cell;     /* csv/tsv: JSON text of a nested table, before quoting */
  tdbuf scratch;  /* map key texts of the row being written */
  keyent *ents;   /* map keys of the row being written (a stack of levels) */
  size_t nents, capents;
} tdtxt;

static tdtxt *checktxt(lua_State *L, int idx) {
  return (tdtxt *)luaL_checkudata(L, idx, TD_TXT_MT);
}

/* --- output ------------------------------------------------------------- */

/* Room for n more bytes at the end of b; raises when memory is exhausted. */
static char *room(lua_State *L, tdbuf *b, size_t n) {
  if (b->cap - b->len < n && tdbuf_reserve(b, n) != 0) luaL_error(L, "out of memory");
  return b->data + b->len;
}

static void put(lua_State *L, tdbuf *b, const char *s, size_t n) {
  if (n == 0) return;
  memcpy(room(L, b, n), s, n);
  b->len += n;
}

#define PUTLIT(L, b, s) put(L, b, "" s, sizeof(s) - 1)

static void put_char(lua_State *L, tdbuf *b, char c) {
  *room(L, b, 1) = c;
  b->len++;
}

/* Decimal text of an integer (as "%lld"); returns its length. */
static size_t int_text(lua_Integer i, char *out) {
  char tmp[24];
  char *e = tmp + sizeof tmp, *p = e;
  uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
  do {
    *--p = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  if (i < 0) *--p = '-';
  memcpy(out, p, (size_t)(e - p));
  return (size_t)(e - p);
}

static void put_int(lua_State *L, tdbuf *b, lua_Integer i) {
  char *p = room(L, b, 24);
  b->len += int_text(i, p);
}

/* --- floats ------------------------------------------------------------- */

static const double P10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* digits (nd significant digits, no trailing zeros) x 10^(x10 - nd + 1),
 * i.e. d.ddd x 10^x10, laid out like Python's repr: fixed notation for
 * -4 <= x10 < 16, else scientific ("1e+16", "1.5e-07"). */
static size_t layout(int neg, const char *digits, int nd, int x10, char *out) {
  char *p = out;
  if (neg) *p++ = '-';
  if (x10 >= -4 && x10 < 16) {
    if (x10 >= 0) {
      int ni = x10 + 1;
      for (int k = 0; k < ni; k++) *p++ = k < nd ? digits[k] : '0';
      *p++ = '.';
      if (nd > ni) {
        memcpy(p, digits + ni, (size_t)(nd - ni));
        p += nd - ni;
      } else *p++ = '0';
    } else {
      *p++ = '0';
      *p++ = '.';
      for (int k = 0; k < -x10 - 1; k++) *p++ = '0';
      memcpy(p, digits, (size_t)nd);
      p += nd;
    }
  } else {
    *p++ = digits[0];
    if (nd > 1) {
      *p++ = '.';
      memcpy(p, digits + 1, (size_t)(nd - 1));
      p += nd - 1;
    }
    int e = x10 < 0 ? -x10 : x10;
    *p++ = 'e';
    *p++ = x10 < 0 ? '-' : '+';
    if (e >= 100) *p++ = (char)('0' + e / 100);
    *p++ = (char)('0' + e / 10 % 10);
    *p++ = (char)('0' + e % 10);
  }
  return (size_t)(p - out);
}

/* "%.{prec-1}e" of v when it reads back as v: digits and exponent, 1 if so. */
static int try_digits(double v, int prec, char *digits, int *nd, int *x10) {
  char s[48];
  snprintf(s, sizeof s, "%.*e", prec - 1, v);
  if (strtod(s, NULL) != v) return 0;
  const char *p = s;
  if (*p == '-') p++;
  int n = 0;
  for (; *p != 'e'; p++)
    if (*p != '.') digits[n++] = *p;
  *x10 = atoi(p + 1);
  while (n > 1 && digits[n - 1] == '0') n--;
  *nd = n;
  return 1;
}

/* The text of a float (formats.float): at most 32 bytes. */
static size_t float_text(double v, char *out) {
  if (v != v) {
    memcpy(out, "NaN", 3);
    return 3;
  }
  if (v == HUGE_VAL) {
    memcpy(out, "Infinity", 8);
    return 8;
  }
  if (v == -HUGE_VAL) {
    memcpy(out, "-Infinity", 9);
    return 9;
  }
  int neg = signbit(v) != 0;
  double a = fabs(v);
  if (a < 1e16 && a == floor(a)) { /* integral, also -0.0: "%.1f" */
    char *p = out;
    if (neg) *p++ = '-';
    p += int_text((lua_Integer)a, p);
    *p++ = '.';
    *p++ = '0';
    return (size_t)(p - out);
  }
  char digits[24];
  int nd = 0, x10 = 0;
  if (a >= 1e-7 && a < 1e15) {
    /* Fast path: the smallest k with a x 10^k a whole number below 10^15
     * whose quotient by 10^k (both exact, so correctly rounded) gives a
     * back. That decimal has at most 15 digits and reads back as v, so it
     * is the one "%.15g" finds (no two such decimals name the same double). */
    for (int k = 1; k <= 22; k++) {
      double r = a * P10[k];
      if (r >= 1e15) break;
      if (r == floor(r) && r / P10[k] == a) {
        char tmp[24];
        size_t n = int_text((lua_Integer)r, tmp);
        int len = (int)n;
        while (len > 1 && tmp[len - 1] == '0') len--;
        memcpy(digits, tmp, (size_t)len);
        return layout(neg, digits, len, (int)n - 1 - k, out);
      }
    }
  }
  if (a < 2.2250738585072014e-308) { /* subnormal: search from 1 digit */
    for (int prec = 1; prec <= 17; prec++)
      if (try_digits(v, prec, digits, &nd, &x10)) break;
  } else if (!try_digits(v, 15, digits, &nd, &x10) && !try_digits(v, 16, digits, &nd, &x10)) {
    try_digits(v, 17, digits, &nd, &x10);
  }
  return layout(neg, digits, nd, x10, out);
}

static void put_float(lua_State *L, tdbuf *b, double v) {
  char *p = room(L, b, 40);
  b->len += float_text(v, p);
}

/* --- strings ------------------------------------------------------------ */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(lua_State *L, tdbuf *b, const unsigned char *s, size_t n) {
  if (n / 3 >= ((size_t)-1) / 4 - 2) luaL_error(L, "value too large for base64");
  char *p = room(L, b, (n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];
    *p++ = B64[v >> 18];
    *p++ = B64[(v >> 12) & 63];
    *p++ = B64[(v >> 6) & 63];
    *p++ = B64[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)s[i] << 16;
    if (i + 1 < n) v |= (uint32_t)s[i + 1] << 8;
    *p++ = B64[v >> 18];
    *p++ = B64[(v >> 12) & 63];
    *p++ = i + 1 < n ? B64[(v >> 6) & 63] : '=';
    *p++ = '=';
  }
  b->len = (size_t)(p - b->data);
}

static int cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none
 * starts there: what utf8.len accepts (no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0; /* a continuation byte, or an overlong 2-byte form */
  if (c < 0xE0) return n >= 2 && cont(s[1]) ? 2 : 0;
  if (c < 0xF0) {
    if (n < 3 || !cont(s[1]) || !cont(s[2])) return 0;
    uint32_t cp = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    return cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) ? 3 : 0;
  }
  if (c < 0xF5) {
    if (n < 4 || !cont(s[1]) || !cont(s[2]) || !cont(s[3])) return 0;
    uint32_t cp = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
    return cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
  }
  return 0;
}

/* 0: copied as is; 1: escaped (JSON); control characters, '"' and '\'. */
static const unsigned char JNEEDS[256] = {
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
  /* 0x60.. ASCII, then bytes >= 0x80 (checked as UTF-8): all 0 */
};

/* A JSON string: invalid UTF-8 bytes become U+FFFD, escapes as JSON's. */
static void put_jstring(lua_State *L, tdbuf *b, const char *str, size_t n) {
  static const char HEX[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)str;
  if (n > (((size_t)-1) - 2) / 6) luaL_error(L, "string too large for JSON");
  char *p = room(L, b, 6 * n + 2); /* worst case: every byte \u00XX */
  *p++ = '"';
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      if (!JNEEDS[c]) {
        *p++ = (char)c;
        i++;
        continue;
      }
      *p++ = '\\';
      switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        default:
          *p++ = 'u';
          *p++ = '0';
          *p++ = '0';
          *p++ = HEX[c >> 4];
          *p++ = HEX[c & 15];
      }
      i++;
      continue;
    }
    size_t k = utf8_seq(s + i, n - i);
    if (k == 0) { /* U+FFFD */
      *p++ = (char)0xEF;
      *p++ = (char)0xBF;
      *p++ = (char)0xBD;
      i++;
    } else {
      memcpy(p, s + i, k);
      p += k;
      i += k;
    }
  }
  *p++ = '"';
  b->len = (size_t)(p - b->data);
}

/* A csv field: quoted when it holds , " CR or LF, quotes doubled. */
static void put_csv_field(lua_State *L, tdbuf *b, const char *s, size_t n) {
  size_t i = 0, quotes = 0;
  int special = 0;
  for (; i < n; i++) {
    char c = s[i];
    if (c == ',' || c == '\r' || c == '\n') special = 1;
    else if (c == '"') quotes++;
  }
  if (!special && !quotes) {
    put(L, b, s, n);
    return;
  }
  if (n > ((size_t)-1) / 2 - 2) luaL_error(L, "string too large for csv");
  char *p = room(L, b, n + quotes + 2);
  *p++ = '"';
  for (i = 0; i < n; i++) {
    if (s[i] == '"') *p++ = '"';
    *p++ = s[i];
  }
  *p++ = '"';
  b->len = (size_t)(p - b->data);
}

/* A tsv field: \\, \t, \n and \r escaped. */
static void put_tsv_field(lua_State *L, tdbuf *b, const char *s, size_t n) {
  size_t esc = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\\' || c == '\t' || c == '\n' || c == '\r') esc++;
  }
  if (!esc) {
    put(L, b, s, n);
    return;
  }
  char *p = room(L, b, n + esc);
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    switch (c) {
      case '\\': *p++ = '\\'; *p++ = '\\'; break;
      case '\t': *p++ = '\\'; *p++ = 't'; break;
      case '\n': *p++ = '\\'; *p++ = 'n'; break;
      case '\r': *p++ = '\\'; *p++ = 'r'; break;
      default: *p++ = c;
    }
  }
  b->len = (size_t)(p - b->data);
}

/* --- JSON values -------------------------------------------------------- */

static void put_jvalue(lua_State *L, tdtxt *w, tdbuf *b, int idx, int depth);

/* tostring(value at idx) as a JSON string. */
static void put_jtostring(lua_State *L, tdbuf *b, int idx) {
  size_t n;
  const char *s = luaL_tolstring(L, idx, &n); /* ... s */
  put_jstring(L, b, s, n);
  lua_pop(L, 1);
}

static keyent *push_ent(lua_State *L, tdtxt *w) {
  if (w->nents == w->capents) {
    size_t cap = w->capents ? w->capents * 2 : 64;
    if (cap > ((size_t)-1) / sizeof(keyent)) luaL_error(L, "out of memory");
    keyent *e = (keyent *)realloc(w->ents, cap * sizeof(keyent));
    if (!e) luaL_error(L, "out of memory");
    w->ents = e;
    w->capents = cap;
  }
  keyent *e = &w->ents[w->nents++];
  memset(e, 0, sizeof *e);
  return e;
}

/* Strings compared as Lua's `<` compares them (strcoll, piece by piece
 * across embedded zeros); ties by bytes, then by traversal order. */
static int key_cmp(const void *pa, const void *pb) {
  const keyent *a = (const keyent *)pa, *b = (const keyent *)pb;
  const char *l = a->p, *r = b->p;
  size_t ll = a->len, lr = b->len;
  for (;;) {
    int c = strcoll(l, r);
    if (c != 0) return c;
    size_t len = strlen(l);
    if (len == lr) {
      if (len != ll) return 1;
      break;
    }
    if (len == ll) return -1;
    len++;
    l += len;
    ll -= len;
    r += len;
    lr -= len;
  }
  if (a->len != b->len || memcmp(a->p, b->p, a->len) != 0) {
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->p, b->p, m);
    if (c != 0) return c;
    return a->len < b->len ? -1 : 1;
  }
  return a->order < b->order ? -1 : a->order > b->order;
}

/* The text of the key at the top of the stack (key_text in formats.lua),
 * NUL-terminated in scratch. */
static void key_text(lua_State *L, tdtxt *w, keyent *e) {
  char num[40];
  const char *s;
  size_t n;
  e->ktype = lua_type(L, -1);
  int pushed = 0;
  switch (e->ktype) {
    case LUA_TSTRING:
      s = lua_tolstring(L, -1, &n);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1)) {
        e->isint = 1;
        e->i = lua_tointeger(L, -1);
        n = int_text(e->i, num);
      } else {
        e->d = (double)lua_tonumber(L, -1);
        n = float_text(e->d, num);
      }
      s = num;
      break;
    case LUA_TBOOLEAN:
      e->isint = lua_toboolean(L, -1);
      s = e->isint ? "true" : "false";
      n = strlen(s);
      break;
    default:
      s = luaL_tolstring(L, -1, &n); /* ... key s */
      pushed = 1;
  }
  e->off = w->scratch.len;
  e->len = n;
  put(L, &w->scratch, s, n);
  put_char(L, &w->scratch, '\0');
  if (pushed) lua_pop(L, 1);
}

/* Push the value of the key e of the table at idx. */
static void key_value(lua_State *L, tdtxt *w, int idx, const keyent *e) {
  switch (e->ktype) {
    case LUA_TSTRING: lua_pushlstring(L, w->scratch.data + e->off, e->len); break;
    case LUA_TNUMBER:
      if (e->isint) lua_pushinteger(L, e->i);
      else lua_pushnumber(L, (lua_Number)e->d);
      break;
    case LUA_TBOOLEAN: lua_pushboolean(L, e->isint); break;
    default: { /* a key C cannot rebuild: walk to it again */
      size_t k = 0;
      lua_pushnil(L);
      while (lua_next(L, idx)) { /* ... key value */
        if (k++ == e->order) {
          lua_remove(L, -2); /* ... value */
          return;
        }
        lua_pop(L, 1); /* ... key */
      }
      lua_pushnil(L); /* not reached: the table is not changed meanwhile */
      return;
    }
  }
  lua_rawget(L, idx);
}

/* A table at absolute index idx as JSON (jtable in formats.lua). */
static void put_jtable(lua_State *L, tdtxt *w, tdbuf *b, int idx, int depth, int as_map) {
  if (depth > MAX_JSON_DEPTH) {
    lua_pushliteral(L, "value nested too deeply for JSON");
    lua_error(L);
  }
  luaL_checkstack(L, 8, "value nested too deeply for JSON");
  lua_pushnil(L); /* ... nil */
  if (!lua_next(L, idx)) { /* ... */
    if (as_map) PUTLIT(L, b, "{}");
    else PUTLIT(L, b, "[]");
    return;
  }
  lua_pop(L, 2); /* ... */
  if (!as_map) {
    lua_Unsigned n = lua_rawlen(L, idx);
    int array = 0;
    if (n > 0) {
      lua_pushinteger(L, (lua_Integer)n); /* ... n */
      if (lua_next(L, idx)) lua_pop(L, 2); /* ... (a key follows n: not an array) */
      else array = 1;                      /* ... */
    }
    if (array) {
      put_char(L, b, '[');
      for (lua_Unsigned i = 1; i <= n; i++) {
        if (i > 1) PUTLIT(L, b, ", ");
        int t = lua_rawgeti(L, idx, (lua_Integer)i); /* ... v */
        if (t == LUA_TSTRING) {
          size_t len;
          const char *s = lua_tolstring(L, -1, &len);
          put_jstring(L, b, s, len);
        } else if (t == LUA_TNUMBER && lua_isinteger(L, -1)) {
          put_int(L, b, lua_tointeger(L, -1));
        } else {
          put_jvalue(L, w, b, lua_gettop(L), depth + 1);
        }
        lua_pop(L, 1); /* ... */
      }
      put_char(L, b, ']');
      return;
    }
  }
  /* a map: collect the keys' texts, sort them, write "key": value */
  size_t base = w->nents;
  size_t order = 0;
  lua_pushnil(L); /* ... nil */
  while (lua_next(L, idx)) { /* ... key value */
    lua_pop(L, 1);           /* ... key */
    keyent *e = push_ent(L, w);
    e->order = order++;
    key_text(L, w, e);
  }
  size_t count = w->nents - base;
  keyent *ents = w->ents + base;
  for (size_t k = 0; k < count; k++) ents[k].p = w->scratch.data + ents[k].off;
  qsort(ents, count, sizeof *ents, key_cmp);
  put_char(L, b, '{');
  size_t k = 0;
  while (k < count) {
    /* keys with the same text: all take the value of the last one met */
    size_t j = k + 1;
    while (j < count && w->ents[base + j].len == w->ents[base + k].len &&
           memcmp(w->scratch.data + w->ents[base + j].off, w->scratch.data + w->ents[base + k].off,
                  w->ents[base + k].len) == 0)
      j++;
    for (size_t m = k; m < j; m++) {
      if (m > 0) PUTLIT(L, b, ", ");
      keyent e = w->ents[base + m]; /* a copy: nested maps may move ents */
      put_jstring(L, b, w->scratch.data + e.off, e.len);
      PUTLIT(L, b, ": ");
      key_value(L, w, idx, &w->ents[base + j - 1]); /* ... v */
      put_jvalue(L, w, b, lua_gettop(L), depth + 1);
      lua_pop(L, 1); /* ... */
    }
    k = j;
  }
  put_char(L, b, '}');
  w->nents = base;
}

/* The number at idx as JSON (jnumber). */
static void put_jnumber(lua_State *L, tdbuf *b, int idx) {
  if (lua_isinteger(L, idx)) {
    put_int(L, b, lua_tointeger(L, idx));
    return;
  }
  double v = (double)lua_tonumber(L, idx);
  if (v != v || v == HUGE_VAL || v == -HUGE_VAL) {
    put_char(L, b, '"');
    put_float(L, b, v);
    put_char(L, b, '"');
  } else put_float(L, b, v);
}

/* Any value at absolute index idx as JSON (jvalue). */
static void put_jvalue(lua_State *L, tdtxt *w, tdbuf *b, int idx, int depth) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      put_jstring(L, b, s, n);
      return;
    }
    case LUA_TNUMBER: put_jnumber(L, b, idx); return;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) PUTLIT(L, b, "true");
      else PUTLIT(L, b, "false");
      return;
    case LUA_TTABLE: put_jtable(L, w, b, idx, depth, 0); return;
    case LUA_TNIL: PUTLIT(L, b, "null"); return;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) {
        PUTLIT(L, b, "null");
        return;
      }
      break;
    default: break;
  }
  put_jtostring(L, b, idx);
}

/* --- cells -------------------------------------------------------------- */

static int kind_of(const tdtxt *w, lua_Unsigned i) {
  return i <= w->nkinds ? w->kinds[i - 1] : K_OTHER;
}

/* ^-?[0-9]+$ */
static int is_decimal(const char *s, size_t n) {
  size_t i = n > 0 && s[0] == '-' ? 1 : 0;
  if (i >= n) return 0;
  for (; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* One top-level cell at absolute index idx in json/jsonl (json_cell). */
static void json_cell(lua_State *L, tdtxt *w, int idx, int kind) {
  tdbuf *b = &w->out;
  if (lua_type(L, idx) == LUA_TSTRING) {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    if (kind == K_BIN) {
      put_char(L, b, '"');
      put_base64(L, b, (const unsigned char *)s, n);
      put_char(L, b, '"');
    } else if (kind == K_INT && is_decimal(s, n)) {
      put(L, b, s, n);
    } else put_jstring(L, b, s, n);
    return;
  }
  if (lua_type(L, idx) == LUA_TTABLE) put_jtable(L, w, b, idx, 0, kind == K_MAP);
  else put_jvalue(L, w, b, idx, 0);
}

/* One cell at absolute index idx in csv or tsv. */
static void text_cell(lua_State *L, tdtxt *w, int idx, int kind) {
  tdbuf *b = &w->out;
  int csv = w->fmt == F_CSV;
  size_t n;
  const char *s;
  switch (lua_type(L, idx)) {
    case LUA_TSTRING:
      s = lua_tolstring(L, idx, &n);
      if (kind == K_BIN) put_base64(L, b, (const unsigned char *)s, n);
      else if (csv) put_csv_field(L, b, s, n);
      else put_tsv_field(L, b, s, n);
      return;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) put_int(L, b, lua_tointeger(L, idx));
      else put_float(L, b, (double)lua_tonumber(L, idx));
      return;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) PUTLIT(L, b, "true");
      else PUTLIT(L, b, "false");
      return;
    case LUA_TNIL: return;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) return;
      break;
    case LUA_TTABLE:
      tdbuf_reset(&w->cell);
      put_jtable(L, w, &w->cell, idx, 0, kind == K_MAP);
      if (csv) put_csv_field(L, b, w->cell.data, w->cell.len);
      else put_tsv_field(L, b, w->cell.data, w->cell.len);
      return;
    default: break;
  }
  s = luaL_tolstring(L, idx, &n); /* ... s */
  if (csv) put_csv_field(L, b, s, n);
  else put_tsv_field(L, b, s, n);
  lua_pop(L, 1);
}

/* "name": prefix of column i (1-based) for objects. */
static void put_key(lua_State *L, tdtxt *w, lua_Unsigned i) {
  if (i <= w->nkeys) {
    put(L, &w->out, w->keytext.data + w->keyoff[i - 1], w->keyoff[i] - w->keyoff[i - 1]);
    return;
  }
  char name[40];
  memcpy(name, "_col", 4);
  size_t n = 4 + int_text((lua_Integer)(i - 1), name + 4);
  put_jstring(L, &w->out, name, n);
  PUTLIT(L, &w->out, ": ");
}

/* --- methods ------------------------------------------------------------ */

/* Raise if the writer cannot be used; drop the bytes of a failed row. */
static void usable(lua_State *L, tdtxt *w) {
  if (w->closed) luaL_error(L, "the text writer is closed");
  if (w->partial) {
    w->out.len = w->mark;
    w->partial = 0;
  }
}

/* Write one row of n cells: from the table at tidx (tidx > 0), else the
 * values at first..first+n-1. Returns the bytes waiting to be taken. */
static size_t write_row(lua_State *L, tdtxt *w, int tidx, int first, lua_Unsigned n) {
  usable(L, w);
  if (w->finished) luaL_error(L, "the text writer is finished");
  luaL_checkstack(L, 8, "row");
  int top = lua_gettop(L), v = top + 1;
  w->mark = w->out.len;
  w->partial = 1;
  w->nents = 0;
  tdbuf_reset(&w->scratch);
  tdbuf *b = &w->out;
#define CELL(i) (tidx > 0 ? lua_rawgeti(L, tidx, (lua_Integer)(i)) \
                          : (lua_pushvalue(L, first + (int)(i) - 1), lua_type(L, v)))
  switch (w->fmt) {
    case F_CSV:
    case F_TSV: {
      char sep = w->fmt == F_CSV ? ',' : '\t';
      for (lua_Unsigned i = 1; i <= n; i++) {
        if (i > 1) put_char(L, b, sep);
        CELL(i); /* ... v */
        text_cell(L, w, v, kind_of(w, i));
        lua_settop(L, top);
      }
      if (w->fmt == F_CSV && n == 1 && b->len == w->mark) PUTLIT(L, b, "\"\"");
      put_char(L, b, '\n');
      break;
    }
    default: {
      if (w->fmt == F_JSON) {
        if (w->first) PUTLIT(L, b, "[\n");
        else PUTLIT(L, b, ",\n");
      }
      put_char(L, b, w->objects ? '{' : '[');
      for (lua_Unsigned i = 1; i <= n; i++) {
        if (i > 1) PUTLIT(L, b, ", ");
        if (w->objects) put_key(L, w, i);
        int t = CELL(i); /* ... v */
        if (t == LUA_TNUMBER && lua_isinteger(L, v)) put_int(L, b, lua_tointeger(L, v));
        else json_cell(L, w, v, kind_of(w, i));
        lua_settop(L, top);
      }
      put_char(L, b, w->objects ? '}' : ']');
      if (w->fmt == F_JSONL) put_char(L, b, '\n');
      w->first = 0;
    }
  }
#undef CELL
  w->partial = 0;
  return tdbuf_size(b);
}

/* w:row(t) -> bytes waiting to be taken, this row included */
static int txt_row(lua_State *L) {
  tdtxt *w = checktxt(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_pushinteger(L, (lua_Integer)write_row(L, w, 2, 0, lua_rawlen(L, 2)));
  return 1;
}

size_t td_txt_put_row(lua_State *L, int widx, int first, int n) {
  return write_row(L, checktxt(L, widx), 0, first, (lua_Unsigned)n);
}

/* w:take([min]) -> the text so far (then cleared), or nil when it is
 * shorter than min bytes (default 1) */
static int txt_take(lua_State *L) {
  tdtxt *w = checktxt(L, 1);
  lua_Integer min = luaL_optinteger(L, 2, 1);
  usable(L, w);
  size_t n = tdbuf_size(&w->out);
  if (min > 0 && (lua_Unsigned)n < (lua_Unsigned)min) {
    lua_pushnil(L);
    return 1;
  }
  if (n == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  lua_pushlstring(L, tdbuf_head(&w->out), n);
  tdbuf_reset(&w->out);
  return 1;
}

/* w:finish() - the end of the output (json: closes the array) */
static int txt_finish(lua_State *L) {
  tdtxt *w = checktxt(L, 1);
  usable(L, w);
  if (w->finished) return 0;
  if (w->fmt == F_JSON) {
    if (w->first) PUTLIT(L, &w->out, "[]\n");
    else PUTLIT(L, &w->out, "\n]\n");
  }
  w->finished = 1;
  return 0;
}

/* w:close() - free the buffers (also __gc and __close); idempotent */
static int txt_close(lua_State *L) {
  tdtxt *w = checktxt(L, 1);
  tdbuf_free(&w->out);
  tdbuf_free(&w->cell);
  tdbuf_free(&w->scratch);
  tdbuf_free(&w->keytext);
  free(w->kinds);
  w->kinds = NULL;
  w->nkinds = 0;
  free(w->keyoff);
  w->keyoff = NULL;
  w->nkeys = 0;
  free(w->ents);
  w->ents = NULL;
  w->nents = w->capents = 0;
  w->closed = 1;
  return 0;
}

static const char *const FORMAT_NAMES[] = {"csv", "tsv", "jsonl", "json", NULL};
static const char *const KIND_NAMES[] = {"other", "bin", "int", "map", NULL};

static int argfail(lua_State *L, const char *arg, const char *msg) {
  return luaL_error(L, "bad argument '%s' to 'textwriter' (%s)", arg, msg);
}

/* The array field `name` of the options at 1 (or nil) on the stack top;
 * returns its length. */
static size_t opt_array(lua_State *L, const char *name) {
  int t = lua_getfield(L, 1, name); /* opts arr */
  if (t == LUA_TNIL) return 0;
  if (t != LUA_TTABLE)
    argfail(L, name, lua_pushfstring(L, "a table expected, got %s", luaL_typename(L, -1)));
  return (size_t)lua_rawlen(L, -1);
}

/* core.textwriter{format = "csv"|"tsv"|"jsonl"|"json", kinds = {...},
 * names = {...}, header = bool, objects = bool} -> writer
 * kinds[i]: "bin", "int", "map" or "other" (formats.kind of column i);
 * names[i]: the name of column i (header line, object keys). The header
 * (when asked for and there are names) is the writer's first text. */
int td_l_textwriter(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  tdtxt *w = (tdtxt *)lua_newuserdatauv(L, sizeof *w, 0); /* opts w */
  memset(w, 0, sizeof *w);
  luaL_setmetatable(L, TD_TXT_MT);
  w->first = 1;

  if (lua_getfield(L, 1, "format") != LUA_TSTRING) /* opts w fmt */
    return argfail(L, "format", lua_pushfstring(L, "csv, tsv, json or jsonl expected, got %s",
                                                  luaL_typename(L, -1)));
  const char *fmt = lua_tostring(L, -1);
  w->fmt = -1;
  for (int i = 0; FORMAT_NAMES[i]; i++)
    if (strcmp(fmt, FORMAT_NAMES[i]) == 0) w->fmt = i;
  if (w->fmt < 0)
    return argfail(L, "format", lua_pushfstring(L, "csv, tsv, json or jsonl expected, got \"%s\"", fmt));
  lua_pop(L, 1); /* opts w */
  lua_getfield(L, 1, "objects");
  w->objects = lua_toboolean(L, -1) && (w->fmt == F_JSON || w->fmt == F_JSONL);
  lua_getfield(L, 1, "header");
  int header = lua_toboolean(L, -1);
  lua_pop(L, 2); /* opts w */

  size_t nk = opt_array(L, "kinds"); /* opts w kinds */
  if (nk > 0) {
    w->kinds = (unsigned char *)malloc(nk);
    if (!w->kinds) return luaL_error(L, "out of memory");
    w->nkinds = nk;
    for (size_t i = 1; i <= nk; i++) {
      w->kinds[i - 1] = K_OTHER;
      int found = -1;
      if (lua_rawgeti(L, -1, (lua_Integer)i) == LUA_TSTRING) { /* opts w kinds k */
        const char *k = lua_tostring(L, -1);
        for (int j = 0; KIND_NAMES[j]; j++)
          if (strcmp(k, KIND_NAMES[j]) == 0) found = j;
      }
      if (found < 0)
        return argfail(L, "kinds", lua_pushfstring(L, "kinds[%d] must be bin, int, map or other, got %s",
                                                     (int)i, luaL_tolstring(L, -1, NULL)));
      w->kinds[i - 1] = (unsigned char)found;
      lua_pop(L, 1); /* opts w kinds */
    }
  }
  lua_pop(L, 1); /* opts w */

  size_t nn = opt_array(L, "names"); /* opts w names */
  int names = lua_gettop(L);
  for (size_t i = 1; i <= nn; i++) {
    if (lua_rawgeti(L, names, (lua_Integer)i) != LUA_TSTRING) /* opts w names name */
      return argfail(L, "names", lua_pushfstring(L, "names[%d] must be a string, got %s", (int)i,
                                                   luaL_typename(L, -1)));
    lua_pop(L, 1); /* opts w names */
  }
  if (w->objects && nn > 0) {
    w->keyoff = (size_t *)calloc(nn + 1, sizeof(size_t));
    if (!w->keyoff) return luaL_error(L, "out of memory");
    w->nkeys = nn;
    for (size_t i = 1; i <= nn; i++) {
      size_t len;
      lua_rawgeti(L, names, (lua_Integer)i); /* opts w names name */
      const char *s = lua_tolstring(L, -1, &len);
      put_jstring(L, &w->keytext, s, len);
      PUTLIT(L, &w->keytext, ": ");
      w->keyoff[i] = w->keytext.len;
      lua_pop(L, 1); /* opts w names */
    }
  }
  if (header && nn > 0 && !(w->objects)) {
    tdbuf *b = &w->out;
    if (w->fmt == F_JSON) PUTLIT(L, b, "[\n");
    if (w->fmt == F_JSON || w->fmt == F_JSONL) put_char(L, b, '[');
    for (size_t i = 1; i <= nn; i++) {
      size_t len;
      lua_rawgeti(L, names, (lua_Integer)i); /* opts w names name */
      const char *s = lua_tolstring(L, -1, &len);
      switch (w->fmt) {
        case F_CSV:
          if (i > 1) put_char(L, b, ',');
          put_csv_field(L, b, s, len);
          break;
        case F_TSV:
          if (i > 1) put_char(L, b, '\t');
          put_tsv_field(L, b, s, len);
          break;
        default:
          if (i > 1) PUTLIT(L, b, ", ");
          put_jstring(L, b, s, len);
      }
      lua_pop(L, 1); /* opts w names */
    }
    if (w->fmt == F_JSON) {
      put_char(L, b, ']');
      w->first = 0;
    } else {
      if (w->fmt == F_JSONL) put_char(L, b, ']');
      put_char(L, b, '\n');
    }
  }
  lua_pop(L, 1); /* opts w */
  return 1;
}

/* core.json_encode(v) -> the JSON text of v by the rules of the JSON cells
 * (td.null and nil: null; keys sorted; floats shortest; NaN and the
 * infinities as strings; nesting beyond 64 levels raises). */
int td_l_json_encode(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  tdtxt *w = (tdtxt *)lua_newuserdatauv(L, sizeof *w, 0); /* v w (owns the buffers) */
  memset(w, 0, sizeof *w);
  luaL_setmetatable(L, TD_TXT_MT);
  w->fmt = F_JSONL;
  w->first = 1;
  put_jvalue(L, w, &w->out, 1, 0);
  lua_pushlstring(L, tdbuf_head(&w->out), tdbuf_size(&w->out));
  lua_pushcfunction(L, txt_close);
  lua_pushvalue(L, 2);
  lua_call(L, 1, 0); /* free the buffers now */
  return 1;
}

static int txt_tostring(lua_State *L) {
  tdtxt *w = checktxt(L, 1);
  lua_pushfstring(L, "td.core.textwriter(%s%s)", w->fmt >= 0 ? FORMAT_NAMES[w->fmt] : "?",
                  w->closed ? ", closed" : "");
  return 1;
}

static const luaL_Reg txt_methods[] = {{"row", txt_row},       {"take", txt_take},
                                       {"finish", txt_finish}, {"close", txt_close},
                                       {NULL, NULL}};
static const luaL_Reg txt_meta[] = {
    {"__gc", txt_close}, {"__close", txt_close}, {"__tostring", txt_tostring}, {NULL, NULL}};
const tdclass td_textwriter_class = {TD_TXT_MT, txt_methods, txt_meta};
