/* core.h - what the files of the td.core module share.
 *
 * td.core is mechanism only: one libcurl multi handle per Lua state (the
 * "loop"), request userdata wrapping easy handles, the streaming
 * gzip+msgpack row decoder, the msgpack.gz encoder and the text writer
 * (rows as csv/tsv/json). All policy (retries, waiting, errors, scheduling
 * of Lua tasks) lives in lua/td/.
 *
 * The module is assembled in core.c from one table of functions and one
 * table of userdata classes; each file keeps its structs to itself and
 * exports only the functions declared here. */
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
#define TD_ZJOB_MT "td.core.zjob"
#define TD_ERR_MT "td.core.error"
#define TD_DIR_MT "td.core.dir"

/* A userdata class: core.c makes its metatable (methods as __index, the
 * meta entries such as __gc, and __name). */
typedef struct tdclass {
  const char *name;
  const luaL_Reg *methods; /* may be NULL */
  const luaL_Reg *meta;    /* may be NULL */
} tdclass;

/* core.c: raise a structured error {kind=, message=} (a td.errors object
 * when td.errors is loaded). Never returns. */
int td_error(lua_State *L, const char *kind, const char *fmt, ...);

/* --- the loop (loop.c) and requests (request.c) ---------------------------- */

typedef struct tdreq tdreq; /* private to request.c */

#define TD_SPARE_EASY 16

/* One per Lua state, owned by a userdata kept as upvalue 1 of every core
 * function (and as core._loop). */
typedef struct tdloop {
  CURLM *multi;
  tdreq *active;          /* requests added to the multi handle */
  tdreq **touched;        /* requests with news since the last poll */
  size_t ntouched, cap_touched;
  int nactive;
  long max_connections;   /* client-wide cap (CURLMOPT_MAX_TOTAL_CONNECTIONS) */
  CURL *spare[TD_SPARE_EASY]; /* reset easy handles kept for the next request */
  int nspare;
} tdloop;

tdloop *td_getloop(lua_State *L); /* upvalue 1 of core functions */

/* request.c, for loop.c: finished transfers become done and touched; push
 * a touched request's userdata (1) or nothing (0); the loop is going away. */
void td_req_collect(tdloop *lp);
int td_req_push(lua_State *L, tdreq *r);
void td_req_orphan_all(tdloop *lp);

/* request.c, the byte-source interface of a streamed request (what the
 * decoder reads): the unread body bytes, and dropping n of them (which
 * resumes a transfer paused on a full buffer). */
tdreq *td_checkreq(lua_State *L, int idx);
const char *td_req_peek(tdreq *r, size_t *n);
void td_req_consume(tdreq *r, size_t n);

/* textout.c, for the decoder's text path: format the n values at stack
 * indices first..first+n-1 as one row of the writer at widx. */
size_t td_txt_put_row(lua_State *L, int widx, int first, int n);

/* --- module functions and classes (listed once, in core.c) ---------------- */

int td_l_poll(lua_State *L);
int td_l_now(lua_State *L);
int td_l_active(lua_State *L);
int td_l_interrupted(lua_State *L);
int td_l_isatty(lua_State *L);
int td_l_configure(lua_State *L);
int td_l_request(lua_State *L);
int td_l_decoder(lua_State *L);
int td_l_gunzip(lua_State *L);
int td_l_gzip(lua_State *L);
int td_l_packer(lua_State *L);
int td_l_textwriter(lua_State *L);
int td_l_json_encode(lua_State *L);
int td_l_target(lua_State *L);   /* fsutil.c */
int td_l_fsync(lua_State *L);
int td_l_chmod(lua_State *L);
int td_l_isopen(lua_State *L);
int td_l_listdir(lua_State *L);
int td_l_mkdir(lua_State *L);
int td_l_gzcheck(lua_State *L);  /* gzcheck.c */
int td_l_csvreader(lua_State *L); /* csv.c */
int td_l_json_decode(lua_State *L); /* json.c */

extern const tdclass td_loop_class, td_request_class, td_decoder_class, td_packer_class,
    td_textwriter_class, td_zjob_class, td_gzcheck_class, td_csv_class, td_dir_class;

int td_loop_open(lua_State *L); /* pushes the loop userdata */

/* time and signals (loop.c) */
double td_now(void);
/* Async-signal-safe: flag an interrupt and wake the loop. */
void td_core_interrupt(void);
int td_core_take_interrupt(void);
int td_core_wakefd(void);

int luaopen_td_core(lua_State *L);

#endif
