/* request.c - one HTTP exchange: a libcurl easy handle in the loop's multi.
 *
 * core.request(spec) starts the transfer at once and returns a userdata.
 * The body is either buffered whole (JSON API calls, bounded by max_body) or
 * streamed: the consumer (the row decoder, a file writer) drains it and the
 * transfer is paused while more than high_water bytes wait unread, so memory
 * stays flat however large the response. */
#define _POSIX_C_SOURCE 200809L
#include "core.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_HIGH_WATER (1024 * 1024)
#define DEFAULT_MAX_BODY (512L * 1024 * 1024)

enum { REQ_NEW, REQ_RUNNING, REQ_DONE };

struct tdreq {
  CURL *easy;                  /* NULL once done (back in the loop's spares) */
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
  double total_time;           /* libcurl's figure, once done */
  curl_off_t body_bytes;       /* body bytes received so far */
  curl_off_t limit;            /* stream: keep at most this many body bytes (-1: all) */
  double started;              /* monotonic seconds */
  tdbuf body;
  tdbuf head;                  /* raw response header lines */
  char errbuf[CURL_ERROR_SIZE];
};

tdreq *td_checkreq(lua_State *L, int idx) {
  return (tdreq *)luaL_checkudata(L, idx, TD_REQ_MT);
}

/* --- the loop's lists (no Lua involved) ------------------------------------ */

static void touch(tdloop *lp, tdreq *r) {
  if (r->touched || !lp) return;
  /* capacity is reserved when the request is added, so this cannot fail */
  if (lp->ntouched < lp->cap_touched) {
    lp->touched[lp->ntouched++] = r;
    r->touched = 1;
  }
}

/* An easy handle no request uses any more: reset and kept for the next
 * request (its connections stay in the multi handle's pool either way). */
static void release_easy(tdloop *lp, tdreq *r) {
  if (!r->easy) return;
  if (lp && lp->nspare < TD_SPARE_EASY) {
    tdcurl.easy_reset(r->easy);
    lp->spare[lp->nspare++] = r->easy;
  } else tdcurl.easy_cleanup(r->easy);
  r->easy = NULL;
  if (r->headers) {
    tdcurl.slist_free_all(r->headers);
    r->headers = NULL;
  }
}

/* Remove r from the multi handle and the active list. */
static void detach(tdloop *lp, tdreq *r) {
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

void td_req_collect(tdloop *lp) {
  CURLMsg *msg;
  int left;
  while ((msg = tdcurl.multi_info_read(lp->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    tdreq *r = NULL;
    tdcurl.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    if (!r) continue;
    CURLcode res = msg->data.result;
    tdcurl.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    tdcurl.easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &r->total_time);
    detach(lp, r); /* also clears r->touched */
    release_easy(lp, r);
    r->result = (r->overflow && res == CURLE_WRITE_ERROR) ? CURLE_FILESIZE_EXCEEDED : res;
    touch(lp, r); /* a finished request is reported exactly once */
  }
}

int td_req_push(lua_State *L, tdreq *r) {
  r->touched = 0;
  if (r->ref == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref); /* the request userdata */
  if (r->state == REQ_DONE) { /* no longer needs anchoring */
    luaL_unref(L, LUA_REGISTRYINDEX, r->ref);
    r->ref = LUA_NOREF;
  }
  return 1;
}

void td_req_orphan_all(tdloop *lp) {
  while (lp->active) {
    tdreq *r = lp->active;
    detach(lp, r);
    r->result = CURLE_ABORTED_BY_CALLBACK;
    r->loop = NULL;
  }
}

/* --- the byte-source interface ---------------------------------------------- */

const char *td_req_peek(tdreq *r, size_t *n) {
  *n = tdbuf_size(&r->body);
  return tdbuf_head(&r->body);
}

static void drained(tdreq *r) {
  if (r->paused && r->state == REQ_RUNNING && tdbuf_size(&r->body) < r->high_water / 2) {
    r->paused = 0;
    tdcurl.easy_pause(r->easy, CURLPAUSE_CONT); /* may deliver data right away */
  }
}

void td_req_consume(tdreq *r, size_t n) {
  tdbuf_consume(&r->body, n);
  drained(r);
}

/* --- libcurl callbacks: no Lua in here, ever ---------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  tdreq *r = (tdreq *)ud;
  size_t len = size * nmemb;
  if (r->stream && tdbuf_size(&r->body) >= r->high_water) {
    r->paused = 1; /* libcurl keeps this chunk and offers it again later */
    return CURL_WRITEFUNC_PAUSE;
  }
  if (r->limit >= 0 && r->body_bytes + (curl_off_t)len > r->limit) {
    /* req:stop_at: keep the bytes up to the limit, then end the transfer */
    size_t keep = (size_t)(r->limit - r->body_bytes);
    if (keep > 0 && tdbuf_append(&r->body, p, keep) == 0) r->body_bytes += (curl_off_t)keep;
    touch(r->loop, r);
    return 0; /* -> CURLE_WRITE_ERROR: the transfer ends here */
  }
  if (!r->stream && (size_t)r->body_bytes + len > r->max_body) {
    r->overflow = 1;
    return 0;
  }
  if (tdbuf_append(&r->body, p, len) != 0) return 0; /* -> CURLE_WRITE_ERROR */
  r->body_bytes += (curl_off_t)len;
  touch(r->loop, r);
  return len;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  tdreq *r = (tdreq *)ud;
  size_t len = size * nmemb;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) tdbuf_reset(&r->head); /* a new response */
  if (tdbuf_append(&r->head, p, len) != 0) return 0;
  return len;
}

/* --- lifetime -------------------------------------------------------------- */

static void req_release(lua_State *L, tdreq *r) {
  if (r->state == REQ_RUNNING && r->loop) {
    detach(r->loop, r);
    release_easy(r->loop, r);
    r->result = CURLE_ABORTED_BY_CALLBACK;
  }
  if (r->ref != LUA_NOREF && r->ref != LUA_REFNIL) {
    luaL_unref(L, LUA_REGISTRYINDEX, r->ref);
    r->ref = LUA_NOREF;
  }
}

static int req_gc(lua_State *L) {
  tdreq *r = td_checkreq(L, 1);
  req_release(L, r);
  if (r->easy) { /* the loop is gone (or the request never started) */
    tdcurl.easy_cleanup(r->easy);
    r->easy = NULL;
  }
  if (r->headers) {
    tdcurl.slist_free_all(r->headers);
    r->headers = NULL;
  }
  tdbuf_free(&r->body);
  tdbuf_free(&r->head);
  return 0;
}

/* req:cancel() - stop the transfer (idempotent; also __close). */
static int req_cancel(lua_State *L) {
  tdreq *r = td_checkreq(L, 1);
  req_release(L, r);
  return 0;
}

/* --- spec reading ---------------------------------------------------------- */

static double opt_number(lua_State *L, int spec, const char *k, double def) {
  lua_getfield(L, spec, k);
  double v = lua_isnoneornil(L, -1) ? def : luaL_checknumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static int set_timeout_ms(tdreq *r, CURLoption opt, double secs) {
  if (secs <= 0) return 0;
  double ms = secs * 1000.0;
  if (ms > 2147483647.0) ms = 2147483647.0;
  return tdcurl.easy_setopt(r->easy, opt, (long)ms) != CURLE_OK;
}

static void ensure_multi(lua_State *L, tdloop *lp) {
  if (lp->multi) return;
  char err[256];
  if (tdcurl_load(err, sizeof err) != 0) td_error(L, "network", "%s", err);
  lp->multi = tdcurl.multi_init();
  if (!lp->multi) td_error(L, "memory", "curl_multi_init failed");
  tdcurl.multi_setopt(lp->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, lp->max_connections);
  tdcurl.multi_setopt(lp->multi, CURLMOPT_MAXCONNECTS, lp->max_connections);
}

/* core.request{url=, method=, headers={"K: v",...}, body=, stream=,
 *   high_water=, max_body=, connect_timeout=, timeout=, low_speed_time=,
 *   accept_encoding=, ca_file=, user_agent=, fresh_connect=} -> request
 * (already started) */
int td_l_request(lua_State *L) {
  tdloop *lp = td_getloop(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  ensure_multi(L, lp);

  /* own everything from here on: the userdata's __gc frees it */
  tdreq *r = (tdreq *)lua_newuserdatauv(L, sizeof *r, 1); /* spec req */
  memset(r, 0, sizeof *r);
  r->ref = LUA_NOREF;
  r->limit = -1;
  r->state = REQ_NEW;
  luaL_setmetatable(L, TD_REQ_MT);
  r->easy = lp->nspare > 0 ? lp->spare[--lp->nspare] : tdcurl.easy_init();
  if (!r->easy) return td_error(L, "memory", "curl_easy_init failed");
  r->loop = lp;
  CURL *e = r->easy;

  lua_getfield(L, 1, "url");
  const char *url = luaL_checkstring(L, -1);
  if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    return td_error(L, "usage", "request url must be http:// or https://");
  tdcurl.easy_setopt(e, CURLOPT_URL, url);
  lua_pop(L, 1);

  lua_getfield(L, 1, "method");
  const char *method = luaL_optstring(L, -1, "GET");
  if (strcmp(method, "GET") == 0) tdcurl.easy_setopt(e, CURLOPT_HTTPGET, 1L);
  else if (strcmp(method, "HEAD") == 0) tdcurl.easy_setopt(e, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "POST") == 0) tdcurl.easy_setopt(e, CURLOPT_POST, 1L);
  else tdcurl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, method); /* copied by libcurl */
  int is_post = strcmp(method, "POST") == 0;
  lua_pop(L, 1);

  size_t blen = 0;
  lua_getfield(L, 1, "body");
  const char *body = lua_isnil(L, -1) ? NULL : luaL_checklstring(L, -1, &blen);
  if (body || is_post) {
    tdcurl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    tdcurl.easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body ? body : "");
  }
  lua_pop(L, 1);

  /* headers: an array of "Name: value" strings. "Expect:" is always
   * suppressed: 100-continue round trips only add latency here. */
  lua_getfield(L, 1, "headers");
  if (!lua_isnil(L, -1)) {
    luaL_checktype(L, -1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      const char *h = luaL_checkstring(L, -1);
      struct curl_slist *nl = tdcurl.slist_append(r->headers, h);
      if (!nl) return td_error(L, "memory", "out of memory");
      r->headers = nl;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  struct curl_slist *nl = tdcurl.slist_append(r->headers, "Expect:");
  if (!nl) return td_error(L, "memory", "out of memory");
  r->headers = nl;
  tdcurl.easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);

  lua_getfield(L, 1, "stream");
  r->stream = lua_toboolean(L, -1);
  lua_pop(L, 1);
  r->high_water = (size_t)opt_number(L, 1, "high_water", DEFAULT_HIGH_WATER);
  if (r->high_water < 4096) r->high_water = 4096;
  r->max_body = (size_t)opt_number(L, 1, "max_body", (double)DEFAULT_MAX_BODY);

  set_timeout_ms(r, CURLOPT_CONNECTTIMEOUT_MS, opt_number(L, 1, "connect_timeout", 30));
  set_timeout_ms(r, CURLOPT_TIMEOUT_MS, opt_number(L, 1, "timeout", 0));
  double low = opt_number(L, 1, "low_speed_time", 0);
  if (low > 0) {
    tdcurl.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    tdcurl.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(low < 1 ? 1 : low));
  }

  lua_getfield(L, 1, "accept_encoding");
  if (lua_isstring(L, -1)) tdcurl.easy_setopt(e, CURLOPT_ACCEPT_ENCODING, lua_tostring(L, -1));
  lua_pop(L, 1);
  /* A request that must not be repeated gets a connection of its own:
   * libcurl silently re-sends a request whose reused connection died
   * before any answer, which would duplicate a non-idempotent POST. */
  lua_getfield(L, 1, "fresh_connect");
  if (lua_toboolean(L, -1)) tdcurl.easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  lua_pop(L, 1);
  lua_getfield(L, 1, "ca_file");
  if (lua_isstring(L, -1)) tdcurl.easy_setopt(e, CURLOPT_CAINFO, lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_getfield(L, 1, "user_agent");
  if (lua_isstring(L, -1)) tdcurl.easy_setopt(e, CURLOPT_USERAGENT, lua_tostring(L, -1));
  lua_pop(L, 1);

  /* fixed policy: TLS verification always on, only http(s), no redirects
   * (the Lua side follows them itself, deciding which headers go along) */
  tdcurl.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  tdcurl.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
#if LIBCURL_VERSION_NUM >= 0x075500
  tdcurl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  tdcurl.easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  tdcurl.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  tdcurl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  tdcurl.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  tdcurl.easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
  tdcurl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  tdcurl.easy_setopt(e, CURLOPT_WRITEDATA, r);
  tdcurl.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  tdcurl.easy_setopt(e, CURLOPT_HEADERDATA, r);
  tdcurl.easy_setopt(e, CURLOPT_PRIVATE, (char *)r);

  /* reserve a touched-list slot for this request before it can need one */
  if (lp->cap_touched < (size_t)lp->nactive + 1) {
    size_t cap = lp->cap_touched ? lp->cap_touched * 2 : 16;
    tdreq **t = (tdreq **)realloc(lp->touched, cap * sizeof *t);
    if (!t) return td_error(L, "memory", "out of memory");
    lp->touched = t;
    lp->cap_touched = cap;
  }
  CURLMcode mc = tdcurl.multi_add_handle(lp->multi, e);
  if (mc != CURLM_OK) return td_error(L, "network", "curl_multi_add_handle: %s", tdcurl.multi_strerror(mc));
  r->state = REQ_RUNNING;
  r->started = td_now();
  r->next = lp->active;
  if (lp->active) lp->active->prev = r;
  lp->active = r;
  lp->nactive++;
  lua_pushvalue(L, -1);
  r->ref = luaL_ref(L, LUA_REGISTRYINDEX); /* anchored while in flight */
  return 1;
}

/* --- accessors --------------------------------------------------------- */

static int req_done(lua_State *L) {
  lua_pushboolean(L, td_checkreq(L, 1)->state == REQ_DONE);
  return 1;
}

static int req_status(lua_State *L) {
  tdreq *r = td_checkreq(L, 1);
  long st = r->status;
  if (r->state == REQ_RUNNING && r->easy) tdcurl.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
  lua_pushinteger(L, st);
  return 1;
}

static const char *code_name(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return "resolve";
    case CURLE_COULDNT_CONNECT: return "connect";
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_SEND_ERROR: return "send";
    case CURLE_RECV_ERROR: return "recv";
    case CURLE_GOT_NOTHING: return "empty_reply";
    case CURLE_PARTIAL_FILE: return "partial";
    case CURLE_WRITE_ERROR: return "write";
    case CURLE_FILESIZE_EXCEEDED: return "too_large";
    case CURLE_ABORTED_BY_CALLBACK: return "aborted";
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return "http2";
    case CURLE_WEIRD_SERVER_REPLY: return "protocol";
    case CURLE_BAD_CONTENT_ENCODING: return "decoding";
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return "bad_url";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE: return "tls";
    default: return "curl";
  }
}

/* req:result() -> true | false, code, message  (nil while running) */
static int req_result(lua_State *L) {
  tdreq *r = td_checkreq(L, 1);
  if (r->state != REQ_DONE) {
    lua_pushnil(L);
    return 1;
  }
  if (r->result == CURLE_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_pushstring(L, code_name(r->result));
  if (r->result == CURLE_FILESIZE_EXCEEDED)
    lua_pushfstring(L, "response body larger than %I bytes", (lua_Integer)r->max_body);
  else if (r->errbuf[0]) {
    size_t n = strlen(r->errbuf);
    while (n > 0 && (r->errbuf[n - 1] == '\n' || r->errbuf[n - 1] == '\r')) n--;
    lua_pushlstring(L, r->errbuf, n);
  } else lua_pushstring(L, tdcurl.easy_strerror(r->result));
  return 3;
}

/* req:headers() -> { lower-case name = value } of the last response;
 * repeated headers are joined with ", " */
static int req_headers(lua_State *L) {
  tdreq *r = td_checkreq(L, 1);
  const char *p = tdbuf_head(&r->head), *end = p + tdbuf_size(&r->head);
  lua_newtable(L); /* t */
  luaL_Buffer name;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (colon && colon > p && memcmp(p, "HTTP/", 5) != 0) {
      luaL_buffinit(L, &name); /* t buf.. */
      for (const char *q = p; q < colon; q++) luaL_addchar(&name, (char)tolower((unsigned char)*q));
      luaL_pushresult(&name); /* t name */
      const char *v = colon + 1, *ve = eol;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      lua_pushvalue(L, -1);
      lua_rawget(L, -3); /* t name old */
      if (lua_isstring(L, -1)) {
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, (size_t)(ve - v));
        lua_concat(L, 3); /* t name old..", "..v */
      } else {
        lua_pop(L, 1);
        lua_pushlstring(L, v, (size_t)(ve - v)); /* t name v */
      }
      lua_rawset(L, -3); /* t */
    }
    p = eol + 1;
  }
  return 1;
}

/* req:read([max]) -> unread body bytes (at most max) or nil when none */
static int req_read(lua_State *L) {
  tdreq *r = td_checkreq(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, 0);
  size_t n = tdbuf_size(&r->body);
  if (max > 0 && (size_t)max < n) n = (size_t)max;
  if (n == 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, tdbuf_head(&r->body), n);
  td_req_consume(r, n);
  return 1;
}

/* req:buffered() -> unread body bytes;  req:bytes() -> body bytes received */
static int req_buffered(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tdbuf_size(&td_checkreq(L, 1)->body));
  return 1;
}

static int req_bytes(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)td_checkreq(L, 1)->body_bytes);
  return 1;
}

/* req:stop_at(n) -> true, or false when more than n body bytes already
 * came: keep only the first n body bytes and end the transfer there (a
 * ranged fetch cut short; req:result() then reports the "write" code). */
static int req_stop_at(lua_State *L) {
  tdreq *r = td_checkreq(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n < 0 || (curl_off_t)n < r->body_bytes) {
    lua_pushboolean(L, 0);
    return 1;
  }
  r->limit = (curl_off_t)n;
  if (r->state == REQ_RUNNING && r->paused && r->body_bytes >= r->limit) {
    r->paused = 0; /* let libcurl offer the next chunk, which ends it */
    tdcurl.easy_pause(r->easy, CURLPAUSE_CONT);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* req:elapsed() -> seconds since the request started */
static int req_elapsed(lua_State *L) {
  tdreq *r = td_checkreq(L, 1);
  double t = 0;
  if (r->state == REQ_DONE && r->total_time > 0) t = r->total_time;
  else if (r->started > 0) t = td_now() - r->started;
  lua_pushnumber(L, t);
  return 1;
}

static const luaL_Reg req_methods[] = {{"done", req_done},     {"status", req_status},
                                       {"result", req_result}, {"headers", req_headers},
                                       {"read", req_read},     {"buffered", req_buffered},
                                       {"bytes", req_bytes},   {"elapsed", req_elapsed},
                                       {"cancel", req_cancel}, {"stop_at", req_stop_at},
                                       {NULL, NULL}};
static const luaL_Reg req_meta[] = {{"__gc", req_gc}, {"__close", req_cancel}, {NULL, NULL}};
const tdclass td_request_class = {TD_REQ_MT, req_methods, req_meta};
