/* loop.c - the per-state libcurl multi handle and its poll primitive.
 *
 * The loop never runs Lua code: core.poll(timeout) performs pending
 * transfers, waits (curl_multi_poll) up to `timeout` seconds when nothing
 * happened, and returns the requests that received data or finished. The
 * Lua scheduler (lua/td/async.lua) decides what to resume. */
#define _POSIX_C_SOURCE 200809L
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Process-wide interrupt state: signals are per process, not per state. */
static volatile sig_atomic_t interrupted;
static int wakefd[2] = {-1, -1};

double td_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void td_core_interrupt(void) {
  int saved = errno;
  interrupted = 1;
  if (wakefd[1] >= 0) {
    ssize_t n = write(wakefd[1], "!", 1);
    (void)n;
  }
  errno = saved;
}

int td_core_take_interrupt(void) {
  if (!interrupted) return 0;
  interrupted = 0;
  return 1;
}

int td_core_wakefd(void) { return wakefd[0]; }

static void drain_wakefd(void) {
  char tmp[64];
  while (wakefd[0] >= 0 && read(wakefd[0], tmp, sizeof tmp) > 0) {
  }
}

static void open_wakefd(void) {
  if (wakefd[0] >= 0) return;
  int fds[2];
  if (pipe(fds) != 0) return; /* interrupts still work, just less promptly */
  for (int i = 0; i < 2; i++) {
    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    fcntl(fds[i], F_SETFD, FD_CLOEXEC);
  }
  wakefd[0] = fds[0];
  wakefd[1] = fds[1];
}

tdloop *td_getloop(lua_State *L) {
  return (tdloop *)lua_touserdata(L, lua_upvalueindex(1));
}

static void perform(tdloop *lp) {
  int running;
  tdcurl.multi_perform(lp->multi, &running);
  td_req_collect(lp);
}

/* core.poll([timeout]) -> array of requests with news | nil, "interrupted"
 * Waits at most `timeout` seconds, and only when nothing is ready. */
int td_l_poll(lua_State *L) {
  tdloop *lp = td_getloop(L);
  double timeout = luaL_optnumber(L, 1, 0);
  if (td_core_take_interrupt()) goto intr;
  if (lp->multi) perform(lp);
  if (lp->ntouched == 0 && timeout > 0) {
    double msd = ceil(timeout * 1000.0);
    int ms = msd > (double)INT_MAX ? INT_MAX : (int)msd;
    if (lp->multi && lp->nactive > 0) {
      struct curl_waitfd w;
      memset(&w, 0, sizeof w);
      w.fd = wakefd[0];
      w.events = CURL_WAIT_POLLIN;
      tdcurl.multi_poll(lp->multi, wakefd[0] >= 0 ? &w : NULL, wakefd[0] >= 0 ? 1 : 0,
                        ms, NULL);
    } else {
      struct pollfd p;
      p.fd = wakefd[0];
      p.events = POLLIN;
      p.revents = 0;
      poll(&p, wakefd[0] >= 0 ? 1 : 0, ms);
    }
    drain_wakefd();
    if (td_core_take_interrupt()) goto intr;
    if (lp->multi) perform(lp);
  }
  /* stack: ... -> ... list */
  lua_createtable(L, (int)lp->ntouched, 0);
  int n = 0;
  for (size_t i = 0; i < lp->ntouched; i++)
    if (td_req_push(L, lp->touched[i])) lua_rawseti(L, -2, ++n);
  lp->ntouched = 0;
  return 1;
intr:
  drain_wakefd();
  lua_pushnil(L);
  lua_pushliteral(L, "interrupted");
  return 2;
}

/* core.now() -> monotonic seconds */
int td_l_now(lua_State *L) {
  lua_pushnumber(L, td_now());
  return 1;
}

/* core.active() -> number of transfers in flight */
int td_l_active(lua_State *L) {
  lua_pushinteger(L, td_getloop(L)->nactive);
  return 1;
}

/* core.interrupted() -> true once per pending interrupt */
int td_l_interrupted(lua_State *L) {
  lua_pushboolean(L, td_core_take_interrupt());
  return 1;
}

/* core.isatty(fd) */
int td_l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* core.configure{max_connections = n} - the client-wide cap on open
 * connections, which also caps the requests in flight (HTTP/1.1: one per
 * connection; libcurl queues the rest until a connection is free).
 * Returns the settings in force. */
int td_l_configure(lua_State *L) {
  tdloop *lp = td_getloop(L);
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_getfield(L, 1, "max_connections") != LUA_TNIL) {
      int isint = 0;
      lua_Integer n = lua_tointegerx(L, -1, &isint);
      if (!isint || n < 1 || n > 100000)
        return td_error(L, "usage", "bad argument 'max_connections' to 'configure' (an integer from 1 to 100000 expected)");
      lp->max_connections = (long)n;
      if (lp->multi) {
        tdcurl.multi_setopt(lp->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, lp->max_connections);
        tdcurl.multi_setopt(lp->multi, CURLMOPT_MAXCONNECTS, lp->max_connections);
      }
    }
    lua_pop(L, 1);
  }
  lua_createtable(L, 0, 1);
  lua_pushinteger(L, lp->max_connections);
  lua_setfield(L, -2, "max_connections");
  return 1;
}

static int loop_gc(lua_State *L) {
  tdloop *lp = (tdloop *)luaL_checkudata(L, 1, TD_LOOP_MT);
  td_req_orphan_all(lp);
  while (lp->nspare > 0) tdcurl.easy_cleanup(lp->spare[--lp->nspare]);
  if (lp->multi) {
    tdcurl.multi_cleanup(lp->multi);
    lp->multi = NULL;
  }
  free(lp->touched);
  lp->touched = NULL;
  lp->ntouched = lp->cap_touched = 0;
  return 0;
}

int td_loop_open(lua_State *L) {
  tdloop *lp = (tdloop *)lua_newuserdatauv(L, sizeof *lp, 0);
  memset(lp, 0, sizeof *lp);
  lp->max_connections = 64;
  luaL_setmetatable(L, TD_LOOP_MT);
  open_wakefd();
  return 1;
}

static const luaL_Reg loop_meta[] = {{"__gc", loop_gc}, {NULL, NULL}};
const tdclass td_loop_class = {TD_LOOP_MT, NULL, loop_meta};
