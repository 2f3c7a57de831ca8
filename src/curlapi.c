/* curlapi.c - resolve libcurl lazily (see curlapi.h). */
#include "curlapi.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

tdcurl_api tdcurl;
static int loaded; /* process-wide: the library is loaded once */

/* dlsym returns void*; converting it to a function pointer goes through a
 * union so that -Wpedantic stays quiet (POSIX guarantees this works). */
static int sym(void *h, const char *name, void *slot, size_t size, char *err,
               size_t errlen) {
  union { void *obj; void (*fn)(void); } u;
  u.obj = dlsym(h, name);
  if (!u.obj) {
    snprintf(err, errlen, "libcurl lacks %s", name);
    return -1;
  }
  memcpy(slot, &u.fn, size);
  return 0;
}

int tdcurl_load(char *err, size_t errlen) {
  static const char *const names[] = {"libcurl.so.4", "libcurl-gnutls.so.4",
                                      "libcurl.so", NULL};
  if (loaded) return 0;
  void *h = NULL;
  for (int i = 0; names[i] && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(err, errlen, "cannot load libcurl (%s); install the libcurl4 package",
             dlerror());
    return -1;
  }
  tdcurl_api a;
#define SYM(field, name) \
  if (sym(h, name, &a.field, sizeof a.field, err, errlen)) goto fail
  SYM(global_init, "curl_global_init");
  SYM(easy_init, "curl_easy_init");
  SYM(easy_setopt, "curl_easy_setopt");
  SYM(easy_getinfo, "curl_easy_getinfo");
  SYM(easy_cleanup, "curl_easy_cleanup");
  SYM(easy_strerror, "curl_easy_strerror");
  SYM(easy_pause, "curl_easy_pause");
  SYM(easy_reset, "curl_easy_reset");
  SYM(multi_init, "curl_multi_init");
  SYM(multi_add_handle, "curl_multi_add_handle");
  SYM(multi_remove_handle, "curl_multi_remove_handle");
  SYM(multi_perform, "curl_multi_perform");
  SYM(multi_poll, "curl_multi_poll");
  SYM(multi_info_read, "curl_multi_info_read");
  SYM(multi_cleanup, "curl_multi_cleanup");
  SYM(multi_setopt, "curl_multi_setopt");
  SYM(multi_strerror, "curl_multi_strerror");
  SYM(slist_append, "curl_slist_append");
  SYM(slist_free_all, "curl_slist_free_all");
  SYM(version_info, "curl_version_info");
#undef SYM
  if (a.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(err, errlen, "curl_global_init failed");
    goto fail;
  }
  tdcurl = a;
  loaded = 1;
  return 0; /* the handle stays open for the life of the process */
fail:
  dlclose(h);
  return -1;
}
