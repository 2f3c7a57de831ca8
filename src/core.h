/* core.h - shared declarations of the td.core module.
 *
 * td.core is mechanism only: one libcurl multi handle per Lua state (the
 * "loop"), request userdata wrapping easy handles, the streaming
 * gzip+msgpack row decoder, the msgpack.gz encoder and the text writer
 * (rows as csv/tsv/json). All policy (retries, waiting, errors, scheduling
 * of Lua tasks) lives in lua/td/. */
#ifndef TD_CORE_H
#define TD_CORE_H

#include <lua.h>
#include <lauxlib.h>
#include <signal.h>

#include "buf.h"
#include "curlapi.h"

#ifndef TDLUA_VERSION
#error "TDLUA_VERSION must be defined by the build"
#endif

#define TD_LOOP_MT "td.core.loop"
#define TD_REQ_MT "td.core.request"
#define TD_DEC_MT "td.core.decoder"
#define TD_ENC_MT "td.core.encoder"
#define TD_TXT_MT "td.core.textwriter"

struct tdreq;

/* One per Lua state, owned by a userdata kept as an upvalue of every core
 * function (and in the registry). */
typedef struct tdloop {
  CURLM *multi;
  struct tdreq *active;   /* requests added to the multi handle */
  struct tdreq **touched; /* requests with news since the last poll */
  size_t ntouched, cap_touched;
  int nactive;
} tdloop;

enum { REQ_NEW, REQ_RUNNING, REQ_DONE };

typedef struct tdreq {
  CURL *easy;
  struct curl_slist *headers;
  tdloop *loop;                /* NULL once the loop is gone */
  struct tdreq *prev, *next;   /* in loop->active while running */
  int ref;                     /* registry anchor while running */
  int state;
  int touched;
  int paused;
  int stream;                  /* body is drained by the consumer */
  int overflow;                /* body exceeded max_body */
  size_t high_water;           /* stream: pause above this many bytes */
  size_t max_body;             /* buffered: fail above this many bytes */
  CURLcode result;
  long status;
  curl_off_t body_bytes;       /* body bytes received so far */
  double started;              /* monotonic seconds */
  tdbuf body;
  tdbuf head;                  /* raw response header lines */
  char errbuf[CURL_ERROR_SIZE];
} tdreq;

/* loop.c */
tdloop *td_getloop(lua_State *L); /* upvalue 1 of core functions */
void td_loop_touch(tdloop *lp, tdreq *r);
void td_loop_detach(tdloop *lp, tdreq *r);
int td_loop_open(lua_State *L); /* pushes the loop userdata */
void td_loop_register(lua_State *L); /* core functions into table at -2, loop at -1 */

/* request.c */
void td_request_register(lua_State *L); /* metatable + core.request */
tdreq *td_checkreq(lua_State *L, int idx);
/* Consumer drained some bytes: unpause the transfer if below low water. */
void td_req_drained(tdreq *r);

/* rows.c */
void td_rows_register(lua_State *L);
/* zutil.c */
void td_zutil_register(lua_State *L);
/* pack.c */
void td_pack_register(lua_State *L);
/* textout.c */
void td_textout_register(lua_State *L);
void td_fsutil_register(lua_State *L);  /* core.target, fsync, chmod, isopen */
void td_gzcheck_register(lua_State *L); /* core.gzcheck: msgpack.gz verification */

/* time and signals */
double td_now(void);
/* Async-signal-safe: flag an interrupt and wake the loop. */
void td_core_interrupt(void);
int td_core_take_interrupt(void);
int td_core_wakefd(void);

int luaopen_td_core(lua_State *L);

#endif
