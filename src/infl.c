/* infl.c - gzip inflation, inline or on a worker thread (see infl.h). */
#define _POSIX_C_SOURCE 200809L
#include "infl.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef TD_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

#define STEP_OUT (256 * 1024)      /* worker: inflated bytes per hand-over */
#define OUTQ_MAX (4 * 1024 * 1024) /* worker: pause while this much waits */

struct tdinfl {
#ifdef TD_HAVE_ISAL
  struct inflate_state s;
#else
  z_stream z;
  int zinit;
#endif
  int member_open; /* inside a gzip member */
  int more;        /* the engine may hold output without new input */
  int started;
  int failed, oom;
  char err[160];
  tdbuf in;        /* queued wire bytes (under mu when threaded) */
  /* threaded mode */
  int threaded, stop, busy;
  tdbuf work;      /* worker: the input it is inflating */
  tdbuf prod;      /* worker: inflated bytes not yet handed over */
  tdbuf outq;      /* inflated bytes for the consumer (under mu) */
  pthread_mutex_t mu;
  pthread_cond_t cond_work, cond_out;
  pthread_t th;
  td_infl_sink sink;
  void *sink_ud;
};

const char *td_infl_engine(void) {
#ifdef TD_HAVE_ISAL
  return "isa-l";
#else
  return "zlib";
#endif
}

/* Record why step() failed; whoever ran it sets z->failed (the worker under
 * the lock). */
static void fail(tdinfl *z, const char *msg) {
  snprintf(z->err, sizeof z->err, "%s", msg);
}

/* --- the engines ---------------------------------------------------------- */

/* Start a gzip member. 0 or -1. */
static int engine_begin(tdinfl *z) {
#ifdef TD_HAVE_ISAL
  isal_inflate_reset(&z->s);
  z->s.crc_flag = ISAL_GZIP;
  return 0;
#else
  if (!z->zinit) {
    memset(&z->z, 0, sizeof z->z);
    if (inflateInit2(&z->z, 16 + MAX_WBITS) != Z_OK) return -1;
    z->zinit = 1;
    return 0;
  }
  return inflateReset(&z->z) == Z_OK ? 0 : -1;
#endif
}

/* Inflate: *used input bytes, *got output bytes, *end when the member
 * ended. 0, or -1 with the error set. */
static int engine_run(tdinfl *z, const unsigned char *in, size_t n, unsigned char *out,
                      size_t cap, size_t *used, size_t *got, int *end) {
  if (n > 0x40000000u) n = 0x40000000u;
  if (cap > 0x40000000u) cap = 0x40000000u;
  *end = 0;
#ifdef TD_HAVE_ISAL
  z->s.next_in = (uint8_t *)(uintptr_t)in;
  z->s.avail_in = (uint32_t)n;
  z->s.next_out = out;
  z->s.avail_out = (uint32_t)cap;
  int rc = isal_inflate(&z->s);
  *used = n - z->s.avail_in;
  *got = cap - z->s.avail_out;
  z->more = z->s.avail_out == 0;
  if (rc < 0) {
    fail(z, rc == ISAL_INCORRECT_CHECKSUM ? "a gzip checksum does not match"
            : rc == ISAL_INVALID_WRAPPER  ? "not gzip data (bad header)"
                                          : "invalid deflate data");
    return -1;
  }
  if (z->s.block_state == ISAL_BLOCK_FINISH) *end = 1;
  return 0;
#else
  z->z.next_in = (unsigned char *)(uintptr_t)in;
  z->z.avail_in = (uInt)n;
  z->z.next_out = out;
  z->z.avail_out = (uInt)cap;
  int rc = inflate(&z->z, Z_NO_FLUSH);
  *used = n - z->z.avail_in;
  *got = cap - z->z.avail_out;
  z->more = z->z.avail_out == 0;
  if (rc == Z_STREAM_END) *end = 1;
  else if (rc != Z_OK && rc != Z_BUF_ERROR) {
    fail(z, z->z.msg ? z->z.msg : "inflate error");
    return -1;
  }
  return 0;
#endif
}

static void engine_end(tdinfl *z) {
#ifndef TD_HAVE_ISAL
  if (z->zinit) inflateEnd(&z->z);
  z->zinit = 0;
#else
  (void)z;
#endif
}

/* Inflate from src into dst until about `want` bytes came out or the input
 * is used up. Returns the bytes produced or -1. Touches only the engine,
 * src and dst (the worker calls it without the lock). */
static long step(tdinfl *z, tdbuf *src, tdbuf *dst, size_t want) {
  size_t produced = 0;
  while ((tdbuf_size(src) > 0 || z->more) && produced < want) {
    if (!z->member_open) {
      if (tdbuf_size(src) == 0) { z->more = 0; break; }
      /* the gzip magic, at once (an engine may wait for a whole header) */
      const unsigned char *h = (const unsigned char *)tdbuf_head(src);
      if (h[0] != 0x1f || (tdbuf_size(src) > 1 && h[1] != 0x8b)) {
        fail(z, "not gzip data (bad header)");
        return -1;
      }
      if (engine_begin(z) != 0) {
        z->oom = 1;
        fail(z, "out of memory");
        return -1;
      }
      z->member_open = 1;
    }
    if (tdbuf_reserve(dst, 64 * 1024) != 0) {
      z->oom = 1;
      fail(z, "out of memory");
      return -1;
    }
    size_t used, got;
    int end;
    if (engine_run(z, (const unsigned char *)tdbuf_head(src), tdbuf_size(src),
                   (unsigned char *)dst->data + dst->len, dst->cap - dst->len, &used, &got,
                   &end) != 0)
      return -1;
    tdbuf_consume(src, used);
    dst->len += got;
    produced += got;
    if (end) {
      z->member_open = 0;
      z->more = 0;
    } else if (used == 0 && got == 0) {
      z->more = 0;
      break; /* wants more input */
    }
  }
  return (long)produced;
}

/* Append (or hand over whole) the unread bytes of from to to. */
static int move_bytes(tdbuf *to, tdbuf *from) {
  size_t n = tdbuf_size(from);
  if (n == 0) return 0;
  if (tdbuf_size(to) == 0 && to->cap <= from->cap) {
    tdbuf t = *to;
    *to = *from;
    *from = t;
    tdbuf_reset(from);
    return 0;
  }
  if (tdbuf_append(to, tdbuf_head(from), n) != 0) return -1;
  tdbuf_reset(from);
  return 0;
}

/* Pass the bytes of buf to the sink (if any): 0, or -1 with the error. */
static int to_sink(tdinfl *z, tdbuf *buf) {
  if (!z->sink || tdbuf_size(buf) == 0) return 0;
  int r = z->sink(z->sink_ud, tdbuf_head(buf), tdbuf_size(buf), z->err, sizeof z->err);
  tdbuf_reset(buf);
  return r;
}

void td_infl_set_sink(tdinfl *z, td_infl_sink fn, void *ud) {
  z->sink = fn;
  z->sink_ud = ud;
}

/* --- the worker ----------------------------------------------------------- */

static void *worker(void *arg) {
  tdinfl *z = (tdinfl *)arg;
  pthread_mutex_lock(&z->mu);
  for (;;) {
    while (!z->stop && !z->failed &&
           ((tdbuf_size(&z->in) == 0 && tdbuf_size(&z->work) == 0 && !z->more) ||
            tdbuf_size(&z->outq) >= OUTQ_MAX)) {
      z->busy = 0;
      pthread_cond_broadcast(&z->cond_out);
      pthread_cond_wait(&z->cond_work, &z->mu);
    }
    if (z->stop || z->failed) break;
    z->busy = 1;
    if (tdbuf_size(&z->work) == 0 && tdbuf_size(&z->in) > 0) move_bytes(&z->work, &z->in);
    pthread_mutex_unlock(&z->mu);
    long r = step(z, &z->work, &z->prod, STEP_OUT);
    if (r >= 0 && to_sink(z, &z->prod) != 0) r = -1;
    pthread_mutex_lock(&z->mu);
    if (r < 0) z->failed = 1;
    else if (move_bytes(&z->outq, &z->prod) != 0) {
      z->oom = 1;
      fail(z, "out of memory");
      z->failed = 1;
    }
    pthread_cond_broadcast(&z->cond_out);
  }
  z->busy = 0;
  pthread_cond_broadcast(&z->cond_out);
  pthread_mutex_unlock(&z->mu);
  return NULL;
}

/* --- the interface -------------------------------------------------------- */

tdinfl *td_infl_new(int threaded) {
  tdinfl *z = (tdinfl *)calloc(1, sizeof *z);
  if (!z) return NULL;
#ifdef TD_HAVE_ISAL
  isal_inflate_init(&z->s);
  z->s.crc_flag = ISAL_GZIP;
#endif
  if (threaded) {
    if (pthread_mutex_init(&z->mu, NULL) != 0) return z;
    if (pthread_cond_init(&z->cond_work, NULL) != 0) {
      pthread_mutex_destroy(&z->mu);
      return z;
    }
    if (pthread_cond_init(&z->cond_out, NULL) != 0) {
      pthread_cond_destroy(&z->cond_work);
      pthread_mutex_destroy(&z->mu);
      return z;
    }
    if (pthread_create(&z->th, NULL, worker, z) != 0) {
      pthread_cond_destroy(&z->cond_out);
      pthread_cond_destroy(&z->cond_work);
      pthread_mutex_destroy(&z->mu);
      return z;
    }
    z->threaded = 1;
  }
  return z;
}

void td_infl_free(tdinfl *z) {
  if (!z) return;
  if (z->threaded) {
    pthread_mutex_lock(&z->mu);
    z->stop = 1;
    pthread_cond_broadcast(&z->cond_work);
    pthread_mutex_unlock(&z->mu);
    pthread_join(z->th, NULL);
    pthread_cond_destroy(&z->cond_out);
    pthread_cond_destroy(&z->cond_work);
    pthread_mutex_destroy(&z->mu);
  }
  engine_end(z);
  tdbuf_free(&z->in);
  tdbuf_free(&z->work);
  tdbuf_free(&z->prod);
  tdbuf_free(&z->outq);
  free(z);
}

int td_infl_put(tdinfl *z, const void *p, size_t n) {
  if (n == 0) return 0;
  int rc;
  if (!z->threaded) {
    rc = tdbuf_append(&z->in, p, n);
  } else {
    pthread_mutex_lock(&z->mu);
    rc = tdbuf_append(&z->in, p, n);
    pthread_cond_signal(&z->cond_work);
    pthread_mutex_unlock(&z->mu);
  }
  if (rc == 0) z->started = 1;
  return rc;
}

size_t td_infl_queued(tdinfl *z) {
  if (!z->threaded) return tdbuf_size(&z->in);
  pthread_mutex_lock(&z->mu);
  size_t n = tdbuf_size(&z->in) + tdbuf_size(&z->work);
  pthread_mutex_unlock(&z->mu);
  return n;
}

long td_infl_get(tdinfl *z, tdbuf *out, size_t want) {
  if (!z->threaded) {
    if (z->failed) return -1;
    long r = step(z, &z->in, out, want);
    if (r < 0) z->failed = 1;
    return r;
  }
  pthread_mutex_lock(&z->mu);
  for (;;) {
    if (tdbuf_size(&z->outq) > 0) break;
    if (z->failed) {
      pthread_mutex_unlock(&z->mu);
      return -1;
    }
    if (!z->busy && tdbuf_size(&z->in) == 0 && tdbuf_size(&z->work) == 0) {
      pthread_mutex_unlock(&z->mu);
      return 0;
    }
    if (!z->busy) pthread_cond_signal(&z->cond_work);
    pthread_cond_wait(&z->cond_out, &z->mu);
  }
  long n = (long)tdbuf_size(&z->outq);
  if (move_bytes(out, &z->outq) != 0) {
    pthread_mutex_unlock(&z->mu);
    z->oom = 1;
    snprintf(z->err, sizeof z->err, "out of memory");
    return -1;
  }
  pthread_cond_signal(&z->cond_work);
  pthread_mutex_unlock(&z->mu);
  (void)want;
  return n;
}

long td_infl_take(tdinfl *z, tdbuf *out) {
  if (!z->threaded) return td_infl_get(z, out, (size_t)1 << 20);
  pthread_mutex_lock(&z->mu);
  long n = (long)tdbuf_size(&z->outq);
  if (n == 0 && z->failed) n = -1;
  else if (n > 0 && move_bytes(out, &z->outq) != 0) {
    z->oom = 1;
    snprintf(z->err, sizeof z->err, "out of memory");
    n = -1;
  }
  if (n > 0) pthread_cond_signal(&z->cond_work);
  pthread_mutex_unlock(&z->mu);
  return n;
}

int td_infl_wait(tdinfl *z, size_t limit) {
  if (!z->threaded) {
    while (!z->failed && (tdbuf_size(&z->in) > limit || z->more)) {
      long r = step(z, &z->in, &z->prod, STEP_OUT);
      if (r >= 0 && to_sink(z, &z->prod) != 0) r = -1;
      if (r < 0) z->failed = 1;
      if (r == 0 && !z->more) break; /* a partial header: needs more input */
    }
    return z->failed ? -1 : 0;
  }
  pthread_mutex_lock(&z->mu);
  for (;;) {
    if (z->failed) break;
    size_t q = tdbuf_size(&z->in) + tdbuf_size(&z->work);
    if (q <= limit && (limit > 0 || !z->busy)) break;
    if (!z->busy) pthread_cond_signal(&z->cond_work);
    pthread_cond_wait(&z->cond_out, &z->mu);
  }
  int r = z->failed ? -1 : 0;
  pthread_mutex_unlock(&z->mu);
  return r;
}

int td_infl_at_end(tdinfl *z) {
  if (!z->threaded) return !z->member_open;
  pthread_mutex_lock(&z->mu);
  int r = !z->member_open && !z->busy;
  pthread_mutex_unlock(&z->mu);
  return r;
}

int td_infl_started(tdinfl *z) { return z->started; }

int td_infl_failed(tdinfl *z) {
  if (!z->threaded) return z->failed;
  pthread_mutex_lock(&z->mu);
  int r = z->failed;
  pthread_mutex_unlock(&z->mu);
  return r;
}
const char *td_infl_error(tdinfl *z) { return z->err; }
int td_infl_oom(tdinfl *z) { return z->oom; }
