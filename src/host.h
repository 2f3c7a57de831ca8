/* host.h - the tdlua program around the td module. */
#ifndef TD_HOST_H
#define TD_HOST_H

#include <lua.h>

typedef struct tdhost_opts {
  int verbose;  /* --verbose: request trace, tracebacks */
  int dry_run;  /* --dry-run: mutating requests are printed, not sent */
  int yes;      /* --yes: td.confirm() answers yes without asking */
  int interactive;
} tdhost_opts;

/* A new state with the standard libraries, cjson, td.core and the embedded
 * td modules preloaded, and the global `td`. NULL on failure (message on
 * stderr). */
lua_State *tdhost_new(const tdhost_opts *o);

/* Run the function on top of the stack with nargs arguments above it under
 * the message handler; prints a failure on stderr. Returns the exit status
 * (0 ok, 1 error, 130 interrupted). */
int tdhost_call(lua_State *L, int nargs, int nres);

/* Report a load/compile error (message on top of the stack). */
int tdhost_report(lua_State *L, int status);

/* The REPL (repl.c). */
int tdhost_repl(lua_State *L);

extern const char *tdhost_progname;

#endif
