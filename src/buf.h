/* buf.h - a growable byte buffer with a read offset.
 *
 * Bytes are appended at the end and consumed from the front; consumed space
 * is reclaimed lazily (when more than half the buffer is dead) so a stream
 * that is drained as fast as it fills never grows. */
#ifndef TD_BUF_H
#define TD_BUF_H

#include <stddef.h>

typedef struct tdbuf {
  char *data;
  size_t off; /* first unread byte */
  size_t len; /* end of valid bytes (data + off .. data + len is unread) */
  size_t cap;
} tdbuf;

/* Append n bytes; returns 0, or -1 when memory is exhausted (buffer intact). */
int tdbuf_append(tdbuf *b, const void *p, size_t n);
/* Make room for at least n more bytes; returns 0 or -1. */
int tdbuf_reserve(tdbuf *b, size_t n);
/* Number of unread bytes. */
static inline size_t tdbuf_size(const tdbuf *b) { return b->len - b->off; }
static inline const char *tdbuf_head(const tdbuf *b) { return b->data + b->off; }
/* Drop n unread bytes from the front. */
void tdbuf_consume(tdbuf *b, size_t n);
void tdbuf_reset(tdbuf *b);
void tdbuf_free(tdbuf *b);

#endif
