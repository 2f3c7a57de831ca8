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

void td_loop_touch(tdloop *lp, tdreq *r) {
  if (r->touched || !lp) return;
  /* capacity is reserved when the request is added, so this cannot fail */
  if (lp->ntouched < lp->cap_touched) {
    lp->touched[lp->ntouched++] = r;
    r->touched = 1;
  }
}

/* Remove r from the multi handle and the active list (no Lua involved). */
void td_loop_detach(tdloop *lp, tdreq *r) {
  if (!lp || r->state != REQ_RUNNING) return;
  tdcurl.multi_remove_handle(lp->multi, r->easy);
  if (r->prev) r->prev->next = r->next;
  else lp->active = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
  lp->nactive--;
  r->state = REQ_DONE;
  /* drop it from the touched list too: it may be about to be freed */
  for (size_t i = 0; i < lp->ntouched; i++) {
    if (lp->touched[i] == r) {
      lp->touched[i] = lp->touched[--lp->ntouched];
      break;
    }
  }
  r->touched = 0;
}

/* Move finished transfers to REQ_DONE and mark them touched. */
static void collect(tdloop *lp) {
  CURLMsg *msg;
  int left;
  while ((msg = tdcurl.multi_info_read(lp->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    tdreq *r = NULL;
    tdcurl.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    if (!r) continue;
    CURLcode res = msg->data.result;
    tdcurl.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    td_loop_detach(lp, r); /* also clears r->touched */
    r->result = (r->overflow && res == CURLE_WRITE_ERROR) ? CURLE_FILESIZE_EXCEEDED : res;
    td_loop_touch(lp, r); /* a finished request is reported exactly once */
  }
}

static void perform(tdloop *lp) {
  int running;
  tdcurl.multi_perform(lp->multi, &running);
  collect(lp);
}

/* core.poll([timeout]) -> array of requests with news | nil, "interrupted"
 * Waits at most `timeout` seconds, and only when nothing is ready. */
static int l_poll(lua_State *L) {
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
  for (size_t i = 0; i < lp->ntouched; i++) {
    tdreq *r = lp->touched[i];
    r->touched = 0;
    if (r->ref == LUA_NOREF) continue;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref); /* the request userdata */
    lua_rawseti(L, -2, ++n);
    if (r->state == REQ_DONE) { /* no longer needs anchoring */
      luaL_unref(L, LUA_REGISTRYINDEX, r->ref);
      r->ref = LUA_NOREF;
    }
  }
  lp->ntouched = 0;
  return 1;
intr:
  drain_wakefd();
  lua_pushnil(L);
  lua_pushliteral(L, "interrupted");
  return 2;
}

/* core.now() -> monotonic seconds */
static int l_now(lua_State *L) {
  lua_pushnumber(L, td_now());
  return 1;
}

/* core.active() -> number of transfers in flight */
static int l_active(lua_State *L) {
  lua_pushinteger(L, td_getloop(L)->nactive);
  return 1;
}

/* core.interrupted() -> true once per pending interrupt */
static int l_interrupted(lua_State *L) {
  lua_pushboolean(L, td_core_take_interrupt());
  return 1;
}

/* core.isatty(fd) */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

static int loop_gc(lua_State *L) {
  tdloop *lp = (tdloop *)luaL_checkudata(L, 1, TD_LOOP_MT);
  while (lp->active) {
    tdreq *r = lp->active;
    td_loop_detach(lp, r);
    r->result = CURLE_ABORTED_BY_CALLBACK;
    r->loop = NULL;
  }
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
  if (luaL_newmetatable(L, TD_LOOP_MT)) {
    lua_pushcfunction(L, loop_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  open_wakefd();
  return 1;
}

/* stack: core loop -> core loop */
void td_loop_register(lua_State *L) {
  static const luaL_Reg fns[] = {{"poll", l_poll},
                                 {"now", l_now},
                                 {"active", l_active},
                                 {"interrupted", l_interrupted},
                                 {"isatty", l_isatty},
                                 {NULL, NULL}};
  for (const luaL_Reg *f = fns; f->name; f++) {
    lua_pushvalue(L, -1);             /* core loop loop */
    lua_pushcclosure(L, f->func, 1);  /* core loop fn */
    lua_setfield(L, -3, f->name);     /* core loop */
  }
}
