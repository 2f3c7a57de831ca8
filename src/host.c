/* host.c - creating the Lua state, preloading the embedded modules, running
 * chunks under a message handler and mapping failures to exit codes. */
#define _POSIX_C_SOURCE 200809L
#include "host.h"

#include <lauxlib.h>
#include <lualib.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core.h"
#include "embedded.h"

int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

const char *tdhost_progname = "tdlua";
static lua_State *globalL; /* for the SIGINT handler, as in lua.c */
static int verbose_flag;
static int was_interrupted;

/* --- signals -------------------------------------------------------------
 * SIGINT and SIGTERM interrupt the running chunk (exit 130). While a loop
 * (td.every, td.cron) has asked for deferred stops, the first one only sets
 * a flag the loop reads between runs (it then ends and the script exits 0);
 * a second one interrupts at once. SIGALRM is --max-runtime. Signals are
 * per process, so these flags are too. */

static volatile sig_atomic_t defer_stops;   /* a loop handles the first signal */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t alarm_fired;

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  if (td_core_take_interrupt()) { /* not already consumed by a wait */
    lua_pushliteral(L, "interrupted");
    lua_error(L);
  }
}

static void interrupt_now(void) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  td_core_interrupt();
  if (globalL) lua_sethook(globalL, lstop, flag, 1);
}

static void on_signal(int sig) {
  if (sig == SIGALRM) {
    alarm_fired = 1;
    interrupt_now();
    return;
  }
  if (defer_stops && !stop_requested) {
    stop_requested = 1;
    return;
  }
  signal(sig, SIG_DFL); /* the next one kills the process */
  interrupt_now();
}

/* host.defer_stops(on): the first SIGINT/SIGTERM only requests a stop */
static int h_defer_stops(lua_State *L) {
  defer_stops = lua_toboolean(L, 1);
  return 0;
}

/* host.stop_requested() -> true once a deferred stop was requested */
static int h_stop_requested(lua_State *L) {
  lua_pushboolean(L, stop_requested);
  return 1;
}

/* host.set_alarm(seconds): interrupt the script after that long (--max-runtime) */
static int h_set_alarm(lua_State *L) {
  double secs = luaL_checknumber(L, 1);
  struct itimerval it;
  memset(&it, 0, sizeof it);
  if (secs > 0) {
    it.it_value.tv_sec = (time_t)secs;
    it.it_value.tv_usec = (suseconds_t)((secs - (double)(time_t)secs) * 1e6);
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
  }
  signal(SIGALRM, on_signal);
  setitimer(ITIMER_REAL, &it, NULL);
  return 0;
}

/* host.write_atomic(path, data) -> true | nil, message: write data to
 * path.tmp (mode 0600), fsync it, rename it over path and fsync the folder,
 * so a crash leaves either the old file or the new one. */
static int h_write_atomic(lua_State *L) {
  size_t n;
  const char *path = luaL_checkstring(L, 1);
  const char *data = luaL_checklstring(L, 2, &n);
  const char *tmp = lua_pushfstring(L, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) goto fail;
  fchmod(fd, 0600);
  for (size_t off = 0; off < n;) {
    ssize_t w = write(fd, data + off, n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      goto fail_fd;
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0) goto fail_fd;
  if (close(fd) != 0) goto fail;
  if (rename(tmp, path) != 0) goto fail;
  {
    const char *slash = strrchr(path, '/');
    const char *dir = slash ? lua_pushlstring(L, path, slash == path ? 1 : (size_t)(slash - path)) : ".";
    int dfd = open(dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  lua_pushboolean(L, 1);
  return 1;
fail_fd: {
  int e = errno;
  close(fd);
  errno = e;
}
fail: {
  int e = errno;
  unlink(tmp);
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", path, strerror(e));
  return 2;
}
}

/* A held lock: the open descriptor; closing it (or exiting) releases it. */
static int lock_gc(lua_State *L) {
  int *fd = (int *)luaL_checkudata(L, 1, "tdhost.lock");
  if (*fd >= 0) close(*fd);
  *fd = -1;
  return 0;
}

/* host.lock(path) -> lock | nil, "locked"|message, holder pid: take an
 * exclusive flock on path (created 0600) without waiting; the file then
 * holds our pid. The lock lasts as long as the returned value (or the
 * process). */
static int h_lock(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int *ud = (int *)lua_newuserdatauv(L, sizeof(int), 0);
  *ud = -1;
  if (luaL_newmetatable(L, "tdhost.lock")) {
    lua_pushcfunction(L, lock_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, lock_gc);
    lua_setfield(L, -2, "__close");
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, lock_gc);
    lua_setfield(L, -2, "release");
  }
  lua_setmetatable(L, -2);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  *ud = fd;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char buf[32] = {0};
    ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    *ud = -1;
    lua_pushnil(L);
    if (e == EWOULDBLOCK) {
      lua_pushliteral(L, "locked");
      lua_pushinteger(L, r > 0 ? atoi(buf) : 0);
      return 3;
    }
    lua_pushfstring(L, "%s: %s", path, strerror(e));
    return 2;
  }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) < 0) { /* the pid is informational */
  }
  return 1;
}

/* --- embedded modules ---------------------------------------------------- */

/* upvalue 1: index into td_embedded */
static int load_embedded(lua_State *L) {
  const td_embedded_file *f = &td_embedded[lua_tointeger(L, lua_upvalueindex(1))];
  const char *dir = getenv("TDLUA_LUA_DIR");
  int st;
  if (dir && *dir) {
    lua_pushfstring(L, "%s/%s", dir, f->chunkname + 1); /* "@td/x.lua" -> dir/td/x.lua */
    st = luaL_loadfilex(L, lua_tostring(L, -1), "t");
    lua_remove(L, -2);
  } else {
    st = luaL_loadbufferx(L, f->source, f->length, f->chunkname, "t");
  }
  if (st != LUA_OK) return lua_error(L);
  lua_pushvalue(L, 1);           /* module name */
  lua_pushstring(L, f->chunkname + 1);
  lua_call(L, 2, 1);
  return 1;
}

static int open_libs(lua_State *L) {
  const tdhost_opts *o = (const tdhost_opts *)lua_touserdata(L, 1);
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE); /* preload */
  lua_pushcfunction(L, luaopen_cjson);
  lua_setfield(L, -2, "cjson");
  lua_pushcfunction(L, luaopen_cjson_safe);
  lua_setfield(L, -2, "cjson.safe");
  lua_pushcfunction(L, luaopen_td_core);
  lua_setfield(L, -2, "td.core");
  for (size_t i = 0; i < td_embedded_count; i++) {
    lua_pushinteger(L, (lua_Integer)i);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, td_embedded[i].module);
  }
  lua_pop(L, 1);
  {
    /* a development tree: modules that are not embedded yet load from it too */
    const char *dir = getenv("TDLUA_LUA_DIR");
    if (dir && *dir) {
      lua_getglobal(L, "package");
      lua_getfield(L, -1, "path");
      lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
      lua_setfield(L, -3, "path");
      lua_pop(L, 2);
    }
  }
  /* the host's settings, read by td.config and td.http */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE); /* loaded */
  lua_createtable(L, 0, 4);
  lua_pushboolean(L, o->verbose);
  lua_setfield(L, -2, "verbose");
  lua_pushboolean(L, o->dry_run);
  lua_setfield(L, -2, "dry_run");
  lua_pushboolean(L, o->yes);
  lua_setfield(L, -2, "yes");
  lua_pushliteral(L, TDLUA_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "tdlua");
  lua_pushboolean(L, o->quiet);
  lua_setfield(L, -2, "quiet");
  lua_pushboolean(L, o->no_strict);
  lua_setfield(L, -2, "no_strict");
  lua_pushboolean(L, o->interactive);
  lua_setfield(L, -2, "interactive");
  {
    const char *names[] = {"journal", "lock", "log_level", "log_format", "profile", "max_runtime"};
    const char *vals[] = {o->journal, o->lock, o->log_level, o->log_format, o->profile, o->max_runtime};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
      if (!vals[i]) continue;
      lua_pushstring(L, vals[i]);
      lua_setfield(L, -2, names[i]);
    }
  }
  {
    static const luaL_Reg fns[] = {{"defer_stops", h_defer_stops}, {"stop_requested", h_stop_requested},
                                   {"set_alarm", h_set_alarm},     {"write_atomic", h_write_atomic},
                                   {"lock_file", h_lock},              {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
  }
  lua_setfield(L, -2, "td.host");
  lua_pop(L, 1);
  /* the global td */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "td");
  lua_call(L, 1, 1);
  lua_setglobal(L, "td");
  return 0;
}

lua_State *tdhost_new(const tdhost_opts *o) {
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "%s: cannot create Lua state: not enough memory\n", tdhost_progname);
    return NULL;
  }
  verbose_flag = o->verbose;
  lua_pushcfunction(L, open_libs);
  lua_pushlightuserdata(L, (void *)(uintptr_t)o);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    tdhost_report(L, LUA_ERRRUN); /* redacted */
    lua_close(L);
    return NULL;
  }
  return L;
}

/* --- running chunks ------------------------------------------------------- */

static int is_interrupt(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TSTRING) return strcmp(lua_tostring(L, idx), "interrupted") == 0;
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_getfield(L, idx, "kind");
    int r = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "interrupted") == 0;
    lua_pop(L, 1);
    return r;
  }
  return 0;
}

/* Message handler: keeps the error value as it is (lua/td/run.lua renders
 * it and picks the exit status) and, when verbose, stores a traceback in
 * the registry under "tdhost.traceback". */
static int msghandler(lua_State *L) {
  if (is_interrupt(L, 1)) was_interrupted = 1;
  if (verbose_flag) {
    const char *msg = NULL;
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    else if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER) msg = lua_tostring(L, 1);
    else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "tdhost.traceback");
  }
  lua_pushvalue(L, 1);
  return 1;
}

/* msg -> require("td.redact").text(msg) (run protected) */
static int redact_msg(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "td.redact");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "text");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

/* Replace the string on top with what td.redact.text makes of it (left as it
 * is when td.redact cannot run): the host's own printing of an uncaught
 * error never shows a secret the process knows. */
static void redact_top(lua_State *L) {
  if (lua_type(L, -1) != LUA_TSTRING || !lua_checkstack(L, 4)) return;
  lua_pushcfunction(L, redact_msg);
  lua_pushvalue(L, -2); /* msg redact_msg msg */
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) lua_remove(L, -2);
  else lua_pop(L, 1);
}

int tdhost_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    redact_top(L);
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", tdhost_progname, msg ? msg : "(error)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

/* The plain rendering when td.run cannot report (error value on top). */
static int fallback_report(lua_State *L) {
  int idx = lua_gettop(L);
  const char *msg = NULL;
  if (luaL_callmeta(L, idx, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
  else if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) msg = lua_tostring(L, idx);
  lua_pushstring(L, msg ? msg : "(error)");
  redact_top(L);
  fprintf(stderr, "%s: %s\n", tdhost_progname, lua_tostring(L, -1));
  fflush(stderr);
  return was_interrupted ? 130 : 1;
}

/* report(err, traceback, interrupted, timed_out, progname) -> status,
 * run in protected mode: td.run prints the one line (redacted), runs the
 * td.on_error handlers once and maps the error to an exit status. */
static int call_report(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "td.run");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "report");
  lua_pushvalue(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, "tdhost.traceback");
  lua_pushboolean(L, was_interrupted);
  lua_pushboolean(L, alarm_fired);
  lua_pushstring(L, tdhost_progname);
  lua_call(L, 5, 1);
  return 1;
}

static int report_failure(lua_State *L) {
  int top = lua_gettop(L); /* the error value */
  lua_pushcfunction(L, call_report);
  lua_pushvalue(L, top);
  int st;
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_isinteger(L, -1)) {
    st = (int)lua_tointeger(L, -1);
  } else {
    lua_pop(L, 1);
    lua_pushvalue(L, top);
    st = fallback_report(L);
  }
  lua_settop(L, top - 1);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "tdhost.traceback");
  return st;
}

int tdhost_call(lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  was_interrupted = 0;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  int st = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
  int status = 0;
  if (st != LUA_OK) {
    if (alarm_fired) was_interrupted = 1;
    status = report_failure(L);
  }
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  return status;
}

int tdhost_phase(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "td.run");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) return tdhost_report(L, 1), 1;
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  return tdhost_call(L, 0, 0);
}
