/* csv.c - a streaming reader of delimited text: CSV (RFC 4180), TSV.
 *
 * core.csvreader(source, {delimiter = ",", quote = '"', escape = false})
 * reads records from a Lua file handle (io.open, io.stdin) or from a
 * string. r:next() returns the next record as an array of strings and the
 * line it starts on; nil at the end; or false, message, line for a record
 * that cannot be read, after which reading goes on at the next line.
 *
 * The rules:
 *   - a record ends at "\n", "\r\n" or a lone "\r" outside quotes; a blank
 *     line is no record (csv writers write a record of one empty field as
 *     ""); the last line needs no line end.
 *   - a field that starts with the quote character is quoted: it ends at a
 *     quote followed by the delimiter, a line end or the end of the input;
 *     two quotes inside stand for one; delimiters and line ends inside are
 *     data. Anything else after the closing quote is an error, and so is a
 *     quote left open at the end of the input (the error names the line the
 *     record starts on).
 *   - a quote inside an unquoted field is data (5" stays 5").
 *   - escape = "\\" (tsv as TD writes it): in unquoted fields \t, \n, \r and
 *     \\ stand for tab, line feed, carriage return and backslash; any other
 *     backslash is data.
 *   - a UTF-8 byte order mark at the very start is skipped.
 *
 * Memory: the input is read in blocks into a buffer that belongs to the
 * userdata; a record is parsed from its first byte again when it does not
 * fit in what has been read, and the buffer grows by doubling then, so any
 * record size costs linear time and the memory of the largest record (plus
 * one block). Nothing is owned outside the userdata, so a raise (out of
 * memory) leaks nothing. The file handle is kept alive by the reader (its
 * user value) but not closed by it. */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TD_CSV_MT "td.core.csvreader"
#define BLOCK (64 * 1024)

typedef struct tdcsv {
  FILE *fp;        /* NULL for a string source */
  int eof;         /* the source has nothing more */
  int closed;
  int bom_done;
  unsigned char delim, quote, esc; /* quote/esc 0: none */
  char *data;      /* input read so far: data[off .. len) not yet parsed */
  size_t off, len, cap;
  tdbuf field;     /* text of a field with quotes or escapes undone */
  lua_Integer line;   /* line number at data + off */
  int ncols;       /* fields in the last record, to size the next table */
  unsigned char special[256]; /* bytes that end an unquoted run */
} tdcsv;

static tdcsv *checkcsv(lua_State *L, int idx) {
  return (tdcsv *)luaL_checkudata(L, idx, TD_CSV_MT);
}

/* Read more input. Compacts the buffer; grows it (doubling) when the part
 * not yet parsed fills more than half of it, so at least half a buffer of
 * new bytes arrives. Returns the number of bytes read (0 at the end). */
static size_t fill(lua_State *L, tdcsv *c) {
  if (c->eof || !c->fp) {
    c->eof = 1;
    return 0;
  }
  if (c->off > 0) {
    memmove(c->data, c->data + c->off, c->len - c->off);
    c->len -= c->off;
    c->off = 0;
  }
  if (c->cap - c->len < c->cap / 2 || c->cap - c->len < BLOCK / 2) {
    size_t ncap = c->cap ? c->cap * 2 : BLOCK;
    if (ncap < c->cap) luaL_error(L, "out of memory");
    char *p = realloc(c->data, ncap);
    if (!p) luaL_error(L, "out of memory");
    c->data = p;
    c->cap = ncap;
  }
  size_t n = fread(c->data + c->len, 1, c->cap - c->len, c->fp);
  c->len += n;
  if (n == 0) {
    if (ferror(c->fp)) {
      int e = errno;
      clearerr(c->fp);
      luaL_error(L, "read error: %s", strerror(e ? e : EIO));
    }
    c->eof = 1;
  }
  return n;
}

static void field_put(lua_State *L, tdcsv *c, const char *p, size_t n) {
  if (tdbuf_append(&c->field, p, n) != 0) luaL_error(L, "out of memory");
}

static lua_Integer count_nl(const char *p, const char *e) {
  lua_Integer n = 0;
  while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
    n++;
    p++;
  }
  return n;
}

enum { R_OK, R_MORE, R_END, R_BAD };

typedef struct perr {
  const char *msg;
  lua_Integer line;   /* where the record starts */
  size_t resync;      /* offset (from data) to go on from */
  lua_Integer resync_line;
} perr;

/* Parse one record from data[off..len) into a new table on the stack.
 * R_OK: table pushed, *endp = offset after the record, *lines = line ends
 * consumed. R_MORE: the record is incomplete and more input may come
 * (nothing pushed). R_END: no record left. R_BAD: *err filled (nothing
 * pushed). */
static int parse(lua_State *L, tdcsv *c, size_t *endp, lua_Integer *lines, perr *err) {
  const char *base = c->data;
  const char *p = base + c->off, *e = base + c->len;
  lua_Integer nl = 0;
  int nf = 0;
  const unsigned char *sp = c->special;
  int top = lua_gettop(L);

  /* blank lines are no records */
  while (p < e && (*p == '\n' || *p == '\r')) {
    if (*p == '\r') {
      if (p + 1 == e && !c->eof) return R_MORE;
      if (p + 1 < e && p[1] == '\n') p++;
    }
    p++;
    nl++;
  }
  if (p == e) {
    if (!c->eof) return R_MORE;
    /* only blank lines left: consume them */
    *endp = (size_t)(p - base);
    *lines = nl;
    return R_END;
  }
  lua_Integer first_line = c->line + nl;
  const char *rec = p;
  lua_createtable(L, c->ncols > 0 ? c->ncols : 4, 0);
  for (;;) {
    /* at the start of a field */
    if (c->quote && p < e && (unsigned char)*p == c->quote) {
      const char *q = p + 1;
      c->field.off = c->field.len = 0;
      for (;;) {
        const char *hit = memchr(q, c->quote, (size_t)(e - q));
        if (!hit) {
          if (!c->eof) goto more;
          err->msg = "quoted field not closed before the end of the input";
          goto bad_open;
        }
        field_put(L, c, q, (size_t)(hit - q));
        nl += count_nl(q, hit);
        if (hit + 1 == e) {
          if (!c->eof) goto more;
          p = hit + 1;
          break;
        }
        if ((unsigned char)hit[1] == c->quote) { /* "" is one quote */
          field_put(L, c, hit, 1);
          q = hit + 2;
          continue;
        }
        p = hit + 1;
        break;
      }
      if (p < e && (unsigned char)*p != c->delim && *p != '\n' && *p != '\r') {
        err->msg = "unexpected character after a closing quote";
        goto bad_here;
      }
      lua_pushlstring(L, c->field.data, c->field.len);
    } else {
      const char *q = p;
      int escaped = 0;
      while (q < e && !sp[(unsigned char)*q]) q++;
      if (c->esc && q < e && (unsigned char)*q == c->esc) {
        /* slow path: undo backslash escapes */
        c->field.off = c->field.len = 0;
        escaped = 1;
        for (;;) {
          field_put(L, c, p, (size_t)(q - p));
          if (q == e || (unsigned char)*q != c->esc) break;
          if (q + 1 == e) {
            if (!c->eof) goto more;
            field_put(L, c, q, 1);
            p = q = e;
            break;
          }
          char ch;
          switch (q[1]) {
          case 't': ch = '\t'; break;
          case 'n': ch = '\n'; break;
          case 'r': ch = '\r'; break;
          case '\\': ch = '\\'; break;
          default: ch = 0; break;
          }
          if (ch) {
            field_put(L, c, &ch, 1);
            p = q + 2;
          } else {
            field_put(L, c, q, 1); /* a lone backslash is data */
            p = q + 1;
          }
          q = p;
          while (q < e && !sp[(unsigned char)*q]) q++;
        }
      }
      if (q == e && !c->eof) goto more;
      if (escaped) lua_pushlstring(L, c->field.data, c->field.len);
      else lua_pushlstring(L, p, (size_t)(q - p));
      p = q;
    }
    lua_rawseti(L, -2, ++nf);
    /* after a field: delimiter, line end or the end */
    if (p == e) break; /* eof (checked above) */
    if ((unsigned char)*p == c->delim) {
      p++;
      if (p == e) {
        if (!c->eof) goto more;
        lua_pushliteral(L, "");
        lua_rawseti(L, -2, ++nf);
        break;
      }
      continue;
    }
    /* a line end */
    if (*p == '\r') {
      if (p + 1 == e && !c->eof) goto more;
      if (p + 1 < e && p[1] == '\n') p++;
    }
    p++;
    nl++;
    break;
  }
  c->ncols = nf;
  *endp = (size_t)(p - base);
  *lines = nl;
  lua_pushinteger(L, first_line);
  return R_OK;

more:
  lua_settop(L, top);
  return R_MORE;

bad_open: {
  /* go on at the line after the one the record starts on */
  lua_settop(L, top);
  const char *lf = memchr(rec, '\n', (size_t)(e - rec));
  err->line = first_line;
  err->resync = lf ? (size_t)(lf + 1 - base) : (size_t)(e - base);
  err->resync_line = first_line + (lf ? 1 : 0);
  return R_BAD;
}

bad_here: {
  /* go on after the line end that follows the error */
  lua_settop(L, top);
  const char *q = p;
  while (q < e && *q != '\n' && *q != '\r') q++;
  if (q == e && !c->eof) return R_MORE;
  if (q < e && *q == '\r' && q + 1 == e && !c->eof) return R_MORE;
  lua_Integer endline = c->line + nl;
  if (q < e) {
    if (*q == '\r' && q + 1 < e && q[1] == '\n') q++;
    q++;
    endline++;
  }
  err->line = first_line;
  err->resync = (size_t)(q - base);
  err->resync_line = endline;
  return R_BAD;
}
}

/* r:next() -> fields, line | nil | false, message, line */
static int csv_next(lua_State *L) {
  tdcsv *c = checkcsv(L, 1);
  if (c->closed) return luaL_error(L, "csv reader is closed");
  lua_settop(L, 1);
  for (;;) {
    if (!c->bom_done) {
      if (c->len - c->off < 3 && !c->eof) {
        fill(L, c);
        continue;
      }
      if (c->len - c->off >= 3 && memcmp(c->data + c->off, "\xEF\xBB\xBF", 3) == 0) c->off += 3;
      c->bom_done = 1;
    }
    size_t end = 0;
    lua_Integer lines = 0;
    perr err = {NULL, 0, 0, 0};
    int r = parse(L, c, &end, &lines, &err);
    if (r == R_OK) {
      c->off = end;
      c->line += lines;
      return 2; /* fields line */
    }
    if (r == R_END) {
      c->off = end;
      c->line += lines;
      lua_pushnil(L);
      return 1;
    }
    if (r == R_BAD) {
      c->off = err.resync;
      c->line = err.resync_line;
      lua_pushboolean(L, 0);
      lua_pushstring(L, err.msg);
      lua_pushinteger(L, err.line);
      return 3;
    }
    /* R_MORE */
    fill(L, c);
  }
}

/* r:line() -> the number of the line the reader is at */
static int csv_line(lua_State *L) {
  tdcsv *c = checkcsv(L, 1);
  lua_pushinteger(L, c->line);
  return 1;
}

/* r:close() - free the buffers (also __gc and __close); idempotent. The
 * file handle is not closed. */
static int csv_close(lua_State *L) {
  tdcsv *c = checkcsv(L, 1);
  free(c->data);
  c->data = NULL;
  c->off = c->len = c->cap = 0;
  tdbuf_free(&c->field);
  c->fp = NULL;
  c->eof = 1;
  c->closed = 1;
  return 0;
}

static int csv_tostring(lua_State *L) {
  tdcsv *c = checkcsv(L, 1);
  lua_pushfstring(L, "td.core.csvreader(line %I%s)", c->line, c->closed ? ", closed" : "");
  return 1;
}

/* One byte from an option: a one-character string; false or "" is none
 * (when allowed). */
static unsigned char opt_char(lua_State *L, int opts, const char *name, unsigned char def, int none_ok) {
  unsigned char v = def;
  if (lua_getfield(L, opts, name) != LUA_TNIL) {
    size_t n = 0;
    const char *s = NULL;
    if (lua_type(L, -1) == LUA_TSTRING) s = lua_tolstring(L, -1, &n);
    if (none_ok && ((lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) || (s && n == 0))) {
      v = 0;
    } else if (s && n == 1 && *s != '\n' && *s != '\r') {
      v = (unsigned char)*s;
    } else {
      luaL_error(L, "csvreader: %s must be one character%s", name, none_ok ? " or false" : "");
    }
  }
  lua_pop(L, 1);
  return v;
}

/* core.csvreader(file_or_string, {delimiter =, quote =, escape =}) */
int td_l_csvreader(lua_State *L) {
  luaL_Stream *fh = NULL;
  if (lua_type(L, 1) != LUA_TSTRING) {
    fh = (luaL_Stream *)luaL_testudata(L, 1, LUA_FILEHANDLE);
    if (!fh) return luaL_argerror(L, 1, "file handle or string expected");
    if (fh->closef == NULL) return luaL_argerror(L, 1, "attempt to use a closed file");
  }
  int has_opts = !lua_isnoneornil(L, 2);
  if (has_opts) luaL_checktype(L, 2, LUA_TTABLE);
  unsigned char delim = ',', quote = '"', esc = 0;
  if (has_opts) {
    delim = opt_char(L, 2, "delimiter", ',', 0);
    quote = opt_char(L, 2, "quote", '"', 1);
    esc = opt_char(L, 2, "escape", 0, 1);
  }
  if (quote && (quote == delim || quote == esc)) luaL_error(L, "csvreader: quote must differ from delimiter and escape");
  if (esc && esc == delim) luaL_error(L, "csvreader: escape must differ from delimiter");
  tdcsv *c = (tdcsv *)lua_newuserdatauv(L, sizeof *c, 1);
  memset(c, 0, sizeof *c);
  c->closed = 1; /* until set up: __gc of a half-made reader is harmless */
  luaL_setmetatable(L, TD_CSV_MT);
  c->delim = delim;
  c->quote = quote;
  c->esc = esc;
  c->line = 1;
  c->special[delim] = 1;
  c->special['\n'] = 1;
  c->special['\r'] = 1;
  if (esc) c->special[esc] = 1;
  c->closed = 0;
  if (fh) {
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1); /* keep the handle alive */
    c->fp = fh->f;
  } else {
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    c->data = malloc(n ? n : 1);
    if (!c->data) return luaL_error(L, "out of memory");
    memcpy(c->data, s, n);
    c->len = c->cap = n;
    c->eof = 1;
  }
  return 1;
}

static const luaL_Reg csv_methods[] = {
    {"next", csv_next}, {"line", csv_line}, {"close", csv_close}, {NULL, NULL}};
static const luaL_Reg csv_meta[] = {
    {"__gc", csv_close}, {"__close", csv_close}, {"__tostring", csv_tostring}, {NULL, NULL}};
const tdclass td_csv_class = {TD_CSV_MT, csv_methods, csv_meta};
