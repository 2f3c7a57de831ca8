/* repl.c - the interactive loop (lua.c's skeleton on libedit).
 *
 * A line is first tried as an expression ("return <line>"); otherwise as a
 * statement; a statement that is incomplete ("<eof>" errors) continues on
 * the next line. Values are printed through td.pretty, so tables come out
 * aligned. History lines pass through td.redact.history when they are kept
 * and again when the file is written (by then the process may know more
 * secrets), so an API key typed at the prompt never reaches the history
 * file. */
#define _POSIX_C_SOURCE 200809L
#include <editline/readline.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#define EOFMARK "<eof>"

static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    size_t m = sizeof(EOFMARK) - 1;
    if (lmsg >= m && strcmp(msg + lmsg - m, EOFMARK) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* Push a redacted copy of the string on top (falls back to the original). */
static void redacted(lua_State *L) {
  /* s -> s redacted */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "td.redact");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    lua_getfield(L, -1, "history");
    lua_remove(L, -2);
    lua_pushvalue(L, -2);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_isstring(L, -1)) return;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
}

static void remember(lua_State *L, const char *line) {
  if (!line[0]) return;
  lua_pushstring(L, line);
  redacted(L);
  add_history(lua_tostring(L, -1));
  lua_pop(L, 2);
}

/* Redact every kept line again with all the secrets known by now. */
static void redact_history(lua_State *L) {
  int n = history_length;
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    HIST_ENTRY *h = history_get(history_base + i);
    lua_pushstring(L, h && h->line ? h->line : "");
    redacted(L);
    lua_rawseti(L, -3, i + 1);
    lua_pop(L, 1);
  }
  clear_history();
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    if (lua_tostring(L, -1)[0]) add_history(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static char *history_path(void) {
  const char *h = getenv("TDLUA_HISTORY");
  if (h) return *h ? strdup(h) : NULL;
  const char *home = getenv("HOME");
  if (!home) return NULL;
  size_t n = strlen(home) + 32;
  char *p = (char *)malloc(n);
  if (p) snprintf(p, n, "%s/.tdlua_history", home);
  return p;
}

/* Read a whole chunk (possibly several lines); leaves the function on the
 * stack. Returns -1 at end of input, else the load status. */
static int load_chunk(lua_State *L) {
  char *line = readline("> ");
  if (!line) return -1;
  size_t n = strlen(line);
  if (n > 0 && line[0] == '=') { /* Lua 5.2's "=expr" */
    lua_pushfstring(L, "return %s", line + 1);
  } else {
    lua_pushstring(L, line);
  }
  free(line);
  /* try it as an expression first */
  const char *src = lua_tostring(L, -1);
  lua_pushfstring(L, "return %s;", src); /* line retline */
  int st = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
  if (st == LUA_OK) {
    lua_remove(L, -2); /* line fn */
    remember(L, lua_tostring(L, -2));
    lua_remove(L, -2); /* fn */
    return LUA_OK;
  }
  lua_pop(L, 2); /* line */
  for (;;) {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    st = luaL_loadbuffer(L, s, len, "=stdin"); /* line fn|err */
    if (!incomplete(L, st)) break;
    char *more = readline(">> ");
    if (!more) { /* end of input inside a statement */
      lua_pop(L, 1);
      return -1;
    }
    lua_pushliteral(L, "\n");
    lua_pushstring(L, more);
    free(more);
    lua_concat(L, 3); /* line .. "\n" .. more */
  }
  remember(L, lua_tostring(L, -2));
  lua_remove(L, -2);
  return st;
}

/* Print the values left on the stack by a chunk. */
static void print_results(lua_State *L, int n) {
  if (n <= 0) return;
  luaL_checkstack(L, 3, "too many results to print");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "td.pretty");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    lua_getfield(L, -1, "print_values");
    lua_remove(L, -2);
  } else {
    lua_pop(L, 1);
    lua_getglobal(L, "print");
  }
  lua_insert(L, -(n + 1));
  tdhost_call(L, n, 0);
}

int tdhost_repl(lua_State *L) {
  char *hist = history_path();
  using_history();
  if (hist) read_history(hist);
  for (;;) {
    int st = load_chunk(L);
    if (st == -1) break;
    if (st != LUA_OK) {
      tdhost_report(L, st);
      continue;
    }
    int base = lua_gettop(L) - 1;
    if (tdhost_call(L, 0, LUA_MULTRET) == 0) print_results(L, lua_gettop(L) - base);
    lua_settop(L, base);
  }
  if (hist) {
    redact_history(L);
    write_history(hist);
    free(hist);
  }
  fputc('\n', stdout);
  return 0;
}
