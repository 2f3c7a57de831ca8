/* buf.c - growable byte buffer (see buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

int tdbuf_reserve(tdbuf *b, size_t n) {
  if (b->cap - b->len >= n) return 0;
  /* reclaim consumed space first */
  if (b->off > 0) {
    memmove(b->data, b->data + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
    if (b->cap - b->len >= n) return 0;
  }
  size_t need = b->len + n;
  if (need < b->len) return -1; /* overflow */
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < need) {
    if (cap > ((size_t)-1) / 2) { cap = need; break; }
    cap *= 2;
  }
  char *p = realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int tdbuf_append(tdbuf *b, const void *p, size_t n) {
  if (n == 0) return 0;
  if (tdbuf_reserve(b, n) != 0) return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void tdbuf_consume(tdbuf *b, size_t n) {
  size_t avail = b->len - b->off;
  if (n >= avail) {
    b->off = b->len = 0;
    return;
  }
  b->off += n;
  if (b->off > b->cap / 2) {
    memmove(b->data, b->data + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
  }
}

void tdbuf_reset(tdbuf *b) { b->off = b->len = 0; }

void tdbuf_free(tdbuf *b) {
  free(b->data);
  b->data = NULL;
  b->off = b->len = b->cap = 0;
}
