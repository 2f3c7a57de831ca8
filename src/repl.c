/* repl.c - the terminal side of the interactive loop: libedit glue and
 * signals. The loop itself (chunks, printing, help, history policy,
 * completion candidates, the banner) is Lua: td.repl.run(term, ...).
 *
 * `term` is a table of primitives:
 *   term.read(prompt)       -> line | nil, "eof" | nil, "interrupted"
 *   term.add_history(line)  -- the in-memory history (arrow keys)
 *   term.call(fn, ...)      -> true, results... | false, err, traceback
 *                              (Ctrl-C raises "interrupted" inside fn)
 *   term.write_private(path, text, append) -> true | nil, message
 *                              (the file is created with mode 0600)
 *   term.columns()          -> the terminal's width, or nil
 *   term.set_completer(fn)  -- fn(text_before_cursor) -> insert, listing
 *   term.tty                -- whether stdin is a terminal (line editing)
 *
 * Ctrl-C at the prompt makes term.read return nil, "interrupted" (the
 * line is dropped); during term.call it interrupts the running code the
 * way host.c does for scripts (a pending wait or request sees it at
 * once, Lua code at the next instruction); a third Ctrl-C during one
 * call kills the process. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <lauxlib.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "core.h"
#include "host.h"

/* --- signals (process-wide, as signals are) ------------------------------ */

static volatile sig_atomic_t prompt_interrupted; /* Ctrl-C while reading */
static volatile sig_atomic_t call_interrupts;    /* Ctrl-Cs during one call */
static lua_State *volatile callL;                 /* the state running a call */
static int sigfd[2] = {-1, -1};                   /* wakes the reader's poll */

static void on_sigint_prompt(int sig) {
  int saved = errno;
  (void)sig;
  prompt_interrupted = 1;
  if (sigfd[1] >= 0) {
    ssize_t n = write(sigfd[1], "!", 1);
    (void)n;
  }
  errno = saved;
}

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  if (td_core_take_interrupt()) { /* not already consumed by a wait */
    lua_pushliteral(L, "interrupted");
    lua_error(L);
  }
}

static void on_sigint_call(int sig) {
  if (++call_interrupts >= 3) { /* the code does not listen: let it die */
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  td_core_interrupt();
  if (callL) lua_sethook(callL, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

static void set_sigint(void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a blocked read returns */
  sigaction(SIGINT, &sa, NULL);
}

static void open_sigfd(void) {
  if (sigfd[0] >= 0) return;
  if (pipe(sigfd) != 0) {
    sigfd[0] = sigfd[1] = -1;
    return;
  }
  for (int i = 0; i < 2; i++) {
    fcntl(sigfd[i], F_SETFL, fcntl(sigfd[i], F_GETFL) | O_NONBLOCK);
    fcntl(sigfd[i], F_SETFD, FD_CLOEXEC);
  }
}

static void drain_sigfd(void) {
  char tmp[64];
  while (sigfd[0] >= 0 && read(sigfd[0], tmp, sizeof tmp) > 0) {
  }
}

/* --- the editor -------------------------------------------------------- */

typedef struct term {
  EditLine *el;
  History *hist;
  lua_State *L;
  char prompt[64];
  int tty;
  int completer; /* registry reference, LUA_NOREF when none */
} term;

#define TERM_MT "td.repl.term"

static term *checkterm(lua_State *L) {
  return (term *)luaL_checkudata(L, lua_upvalueindex(1), TERM_MT);
}

static char *prompt_fn(EditLine *el) {
  term *t = NULL;
  el_get(el, EL_CLIENTDATA, &t);
  return t ? t->prompt : (char *)"> ";
}

/* One character for libedit: waits on stdin and the signal pipe, so Ctrl-C
 * ends the read at once; decodes UTF-8 whatever the locale. */
static int getc_fn(EditLine *el, wchar_t *wc) {
  (void)el;
  unsigned char b[4];
  int have = 0, need = 1;
  for (;;) {
    if (prompt_interrupted) {
      errno = EINTR;
      return -1;
    }
    struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {sigfd[0], POLLIN, 0}};
    int r = poll(p, sigfd[0] >= 0 ? 2 : 1, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (sigfd[0] >= 0 && p[1].revents) drain_sigfd();
    if (!p[0].revents) continue;
    ssize_t n = read(STDIN_FILENO, b + have, 1);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    if (n == 0) return 0;
    if (have == 0) {
      if (b[0] < 0x80) need = 1;
      else if ((b[0] & 0xE0) == 0xC0) need = 2;
      else if ((b[0] & 0xF0) == 0xE0) need = 3;
      else if ((b[0] & 0xF8) == 0xF0) need = 4;
      else need = 1; /* a stray byte: passed on as it is */
    } else if ((b[have] & 0xC0) != 0x80) { /* broken sequence: keep the first byte */
      *wc = (wchar_t)b[0];
      return 1;
    }
    have++;
    if (have < need) continue;
    unsigned long c;
    switch (need) {
    case 1: c = b[0]; break;
    case 2: c = ((b[0] & 0x1Ful) << 6) | (b[1] & 0x3Ful); break;
    case 3: c = ((b[0] & 0x0Ful) << 12) | ((b[1] & 0x3Ful) << 6) | (b[2] & 0x3Ful); break;
    default: c = ((b[0] & 0x07ul) << 18) | ((b[1] & 0x3Ful) << 12) | ((b[2] & 0x3Ful) << 6) | (b[3] & 0x3Ful); break;
    }
    *wc = (wchar_t)c;
    return 1;
  }
}

/* Tab: ask the Lua completer what to insert and what to list. */
static unsigned char complete_fn(EditLine *el, int ch) {
  (void)ch;
  term *t = NULL;
  el_get(el, EL_CLIENTDATA, &t);
  if (!t || t->completer == LUA_NOREF) return CC_ERROR;
  lua_State *L = t->L;
  const LineInfo *li = el_line(el);
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->completer);
  lua_pushlstring(L, li->buffer, (size_t)(li->cursor - li->buffer));
  if (lua_pcall(L, 1, 2, 0) != LUA_OK) { /* a completer bug must not end the session */
    lua_settop(L, top);
    return CC_ERROR;
  }
  unsigned char rc = CC_REFRESH;
  const char *listing = lua_tostring(L, -1);
  const char *ins = lua_tostring(L, -2);
  if (listing && *listing) {
    fputc('\n', stdout);
    fputs(listing, stdout);
    fflush(stdout);
    rc = CC_REDISPLAY;
  }
  if (ins && *ins) el_insertstr(el, ins);
  else if (!listing || !*listing) rc = CC_REFRESH_BEEP;
  lua_settop(L, top);
  return rc;
}

static int term_gc(lua_State *L) {
  term *t = (term *)luaL_checkudata(L, 1, TERM_MT);
  if (t->el) el_end(t->el);
  if (t->hist) history_end(t->hist);
  t->el = NULL;
  t->hist = NULL;
  if (t->completer != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, t->completer);
  t->completer = LUA_NOREF;
  return 0;
}

/* Without a terminal: one line from stdin, no prompt, no editing. */
static int read_plain(lua_State *L) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int c, any = 0;
  while ((c = getchar()) != EOF && c != '\n') {
    luaL_addchar(&b, (char)c);
    any = 1;
  }
  if (c == EOF && !any) {
    lua_pushnil(L);
    lua_pushliteral(L, "eof");
    return 2;
  }
  luaL_pushresult(&b);
  return 1;
}

static int l_read(lua_State *L) {
  term *t = checkterm(L);
  const char *prompt = luaL_optstring(L, 1, "> ");
  if (!t->tty || !t->el) return read_plain(L);
  snprintf(t->prompt, sizeof t->prompt, "%s", prompt);
  prompt_interrupted = 0;
  drain_sigfd();
  set_sigint(on_sigint_prompt);
  int n = 0;
  const char *line = el_gets(t->el, &n);
  signal(SIGINT, SIG_IGN);
  if (prompt_interrupted) {
    prompt_interrupted = 0;
    fputc('\n', stdout);
    fflush(stdout);
    lua_pushnil(L);
    lua_pushliteral(L, "interrupted");
    return 2;
  }
  if (!line || n <= 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "eof");
    return 2;
  }
  size_t len = strlen(line);
  if (len > 0 && line[len - 1] == '\n') len--;
  lua_pushlstring(L, line, len);
  return 1;
}

static int l_add_history(lua_State *L) {
  term *t = checkterm(L);
  const char *s = luaL_checkstring(L, 1);
  if (t->hist && *s) {
    HistEvent ev;
    history(t->hist, &ev, H_ENTER, s);
  }
  return 0;
}

/* Message handler: keeps the error value as it is, with a traceback. */
static int call_handler(lua_State *L) {
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "error", 1);
  lua_rawseti(L, -2, 2);
  return 1;
}

static int l_call(lua_State *L) {
  luaL_checkany(L, 1);
  int nargs = lua_gettop(L) - 1;
  lua_pushcfunction(L, call_handler);
  lua_insert(L, 1); /* handler fn args... */
  call_interrupts = 0;
  td_core_take_interrupt(); /* a stale Ctrl-C is not for this call */
  callL = L;
  set_sigint(on_sigint_call);
  int st = lua_pcall(L, nargs, LUA_MULTRET, 1);
  signal(SIGINT, SIG_IGN);
  callL = NULL;
  lua_sethook(L, NULL, 0, 0);
  td_core_take_interrupt();
  if (st != LUA_OK) {
    lua_pushboolean(L, 0);
    if (lua_istable(L, -2)) {
      lua_rawgeti(L, -2, 1);
      lua_rawgeti(L, -3, 2);
    } else { /* memory error: the handler did not run */
      lua_pushvalue(L, -2);
      lua_pushnil(L);
    }
    return 3;
  }
  lua_pushboolean(L, 1);
  lua_replace(L, 1); /* true results... */
  return lua_gettop(L);
}

static int l_write_private(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *text = luaL_checklstring(L, 2, &len);
  int append = lua_toboolean(L, 3);
  int fd;
  lua_pushfstring(L, "%s.tmp", path);
  const char *tmp = lua_tostring(L, -1);
  if (append) fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  else fd = open(tmp, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) goto fail;
  fchmod(fd, 0600); /* a file made by an older version may be readable by others */
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      errno = e;
      goto fail;
    }
    off += (size_t)w;
  }
  if (close(fd) != 0) goto fail;
  if (!append && rename(tmp, path) != 0) goto fail;
  lua_pushboolean(L, 1);
  return 1;
fail:
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", path, strerror(errno));
  return 2;
}

static int l_columns(lua_State *L) {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    lua_pushinteger(L, ws.ws_col);
    return 1;
  }
  return 0;
}

static int l_set_completer(lua_State *L) {
  term *t = checkterm(L);
  if (t->completer != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, t->completer);
  t->completer = LUA_NOREF;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    t->completer = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return 0;
}

/* term userdata -> the primitives table (each function has it as upvalue). */
static void push_term(lua_State *L) {
  term *t = (term *)lua_newuserdatauv(L, sizeof(term), 0);
  memset(t, 0, sizeof *t);
  t->completer = LUA_NOREF;
  t->L = L;
  t->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  if (luaL_newmetatable(L, TERM_MT)) {
    lua_pushcfunction(L, term_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  if (t->tty) {
    setlocale(LC_CTYPE, ""); /* libedit measures wide characters by the locale */
    open_sigfd();
    t->hist = history_init();
    t->el = el_init(tdhost_progname, stdin, stdout, stderr);
    if (t->hist) {
      HistEvent ev;
      history(t->hist, &ev, H_SETSIZE, 1000);
      history(t->hist, &ev, H_SETUNIQUE, 1);
    }
    if (t->el) {
      el_set(t->el, EL_CLIENTDATA, (void *)t);
      el_set(t->el, EL_EDITOR, "emacs");
      el_set(t->el, EL_SIGNAL, 0);
      el_set(t->el, EL_PROMPT, prompt_fn);
      el_set(t->el, EL_GETCFN, getc_fn);
      if (t->hist) el_set(t->el, EL_HIST, history, t->hist);
      el_set(t->el, EL_ADDFN, "td-complete", "complete the word at the cursor", complete_fn);
      el_set(t->el, EL_BIND, "^I", "td-complete", NULL);
      el_source(t->el, NULL); /* ~/.editrc */
    }
  }
  static const luaL_Reg fns[] = {
      {"read", l_read},           {"add_history", l_add_history}, {"call", l_call},
      {"write_private", l_write_private}, {"columns", l_columns}, {"set_completer", l_set_completer},
      {NULL, NULL}};
  lua_createtable(L, 0, 8);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, fns, 1);
  lua_pushboolean(L, t->tty);
  lua_setfield(L, -2, "tty");
  lua_insert(L, -2);
  lua_setfield(L, -2, "_handle"); /* keeps the editor alive with the table */
}

static int repl_main(lua_State *L) {
  int nvals = (int)lua_tointeger(L, 1);
  lua_remove(L, 1); /* values... */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "td.repl");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "run");
  lua_remove(L, -2);
  push_term(L);
  lua_rotate(L, 1, 2); /* run term values... */
  lua_call(L, nvals + 1, 1);
  return 1;
}

/* The values on the stack (a script's results under -i) are shown first. */
int tdhost_repl(lua_State *L) {
  int nvals = lua_gettop(L);
  lua_pushcfunction(L, repl_main);
  lua_pushinteger(L, nvals);
  lua_rotate(L, 1, 2); /* repl_main n values... */
  int st = lua_pcall(L, nvals + 1, 1, 0);
  signal(SIGINT, SIG_DFL);
  if (st != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", tdhost_progname, msg ? msg : "(error in the REPL)");
    lua_settop(L, 0);
    return 1;
  }
  int status = (int)lua_tointeger(L, -1);
  lua_settop(L, 0);
  return status;
}
