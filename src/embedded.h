/* embedded.h - the Lua sources under lua/, compiled into the binary by
 * scripts/lua2c (build/embedded.c). */
#ifndef TD_EMBEDDED_H
#define TD_EMBEDDED_H

#include <stddef.h>

typedef struct td_embedded_file {
  const char *module;    /* "td.job" */
  const char *chunkname; /* "@td/job.lua" */
  const char *source;
  size_t length;
} td_embedded_file;

extern const td_embedded_file td_embedded[];
extern const size_t td_embedded_count;

#endif
