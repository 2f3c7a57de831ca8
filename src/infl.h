/* infl.h - gzip inflation for the result streams, optionally on a second
 * thread.
 *
 * One engine is chosen at build time: ISA-L's igzip (Debian libisal-dev,
 * about 2.5x zlib's speed on result data) when pkg-config finds it, else
 * zlib. Either way concatenated gzip members are one stream, and every
 * member's CRC-32 and length are checked.
 *
 * Wire bytes are queued with td_infl_put and inflated bytes collected with
 * td_infl_get. In threaded mode a worker thread inflates the queue while
 * the caller decodes what it already has, so inflation and decoding run on
 * two cores; the worker never touches Lua. Otherwise td_infl_get inflates
 * inline. Both modes produce the same bytes and the same errors. */
#ifndef TD_INFL_H
#define TD_INFL_H

#include <stddef.h>

#include "buf.h"

typedef struct tdinfl tdinfl;

/* A new inflater (threaded: inflate on a worker thread, falling back to
 * inline when no thread can be started). NULL when memory is exhausted. */
tdinfl *td_infl_new(int threaded);
/* Hand every inflated block to fn(ud, bytes, n) instead of keeping it for
 * td_infl_get; in threaded mode fn runs on the worker thread (it must not
 * touch Lua). fn returns 0, or -1 after writing why into err (errlen
 * bytes): the inflater then fails with that message. Set it before the
 * first td_infl_put, and use td_infl_wait instead of td_infl_get. */
typedef int (*td_infl_sink)(void *ud, const char *p, size_t n, char *err, size_t errlen);
void td_infl_set_sink(tdinfl *z, td_infl_sink fn, void *ud);
/* With a sink: wait until at most `limit` queued bytes are left (0: all
 * inflated and handed to the sink). 0, or -1 when the inflater failed. */
int td_infl_wait(tdinfl *z, size_t limit);
/* Stop the worker and free everything (NULL is fine). */
void td_infl_free(tdinfl *z);
/* Queue n wire bytes (copied). 0, or -1 when memory is exhausted. */
int td_infl_put(tdinfl *z, const void *p, size_t n);
/* Wire bytes queued and not yet inflated. */
size_t td_infl_queued(tdinfl *z);
/* Append inflated bytes to out (about `want` at most, waiting for the
 * worker while it is still inflating queued input). Returns the number of
 * bytes appended, 0 when the queued input is used up, -1 on corrupt data
 * or exhausted memory (td_infl_error says which). */
long td_infl_get(tdinfl *z, tdbuf *out, size_t want);
/* Like td_infl_get but never waits: what the worker has ready (inline:
 * inflates what is queued). */
long td_infl_take(tdinfl *z, tdbuf *out);
/* 1 when the bytes so far end exactly at the end of a gzip member (or no
 * byte came at all): the stream may end here. */
int td_infl_at_end(tdinfl *z);
/* Whether any wire byte was queued so far. */
int td_infl_started(tdinfl *z);
/* Whether the inflater failed (corrupt data, a sink's refusal, memory). */
int td_infl_failed(tdinfl *z);
/* The error of a failed td_infl_get ("memory" or a message about the data). */
const char *td_infl_error(tdinfl *z);
int td_infl_oom(tdinfl *z);
/* "isa-l" or "zlib" */
const char *td_infl_engine(void);

#endif
