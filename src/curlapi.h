/* curlapi.h - libcurl, loaded on first use.
 *
 * libcurl and the ~30 libraries it pulls in cost ~10 ms of dynamic loading,
 * three times the rest of start-up. Scripts that never touch the network
 * (and `tdlua -e ''`) should not pay that, so the core resolves the handful
 * of libcurl entry points it needs with dlopen/dlsym the first time a
 * request is made. The prototypes come from <curl/curl.h>, so the compiler
 * still checks every call. */
#ifndef TD_CURLAPI_H
#define TD_CURLAPI_H

#include <curl/curl.h>

typedef struct tdcurl_api {
  CURLcode (*global_init)(long);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  void (*easy_cleanup)(CURL *);
  const char *(*easy_strerror)(CURLcode);
  CURLcode (*easy_pause)(CURL *, int);
  void (*easy_reset)(CURL *);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_add_handle)(CURLM *, CURL *);
  CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
  CURLMcode (*multi_perform)(CURLM *, int *);
  CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
  CURLMsg *(*multi_info_read)(CURLM *, int *);
  CURLMcode (*multi_cleanup)(CURLM *);
  CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
  const char *(*multi_strerror)(CURLMcode);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  curl_version_info_data *(*version_info)(CURLversion);
} tdcurl_api;

/* The resolved entry points; valid once tdcurl_load() returned 0. */
extern tdcurl_api tdcurl;

/* Load libcurl (once per process). Returns 0, or -1 with a message in err. */
int tdcurl_load(char *err, size_t errlen);

#endif
