/* host.h - the tdlua program around the td module. */
#ifndef TD_HOST_H
#define TD_HOST_H

#include <lua.h>

typedef struct tdhost_opts {
  int verbose;  /* --verbose: request trace, tracebacks */
  int dry_run;  /* --dry-run: mutating requests are printed, not sent */
  int yes;      /* --yes: td.confirm() answers yes without asking */
  int interactive;
  int quiet;    /* --quiet: no progress lines, only warnings and errors */
  int no_strict;/* --no-strict: scripts may read undefined globals */
  /* value options, NULL when absent (read by lua/td/run.lua via td.host) */
  const char *journal;     /* --journal FILE */
  const char *lock;        /* --lock FILE */
  const char *log_level;   /* --log-level debug|info|warn|error */
  const char *log_format;  /* --log-format text|json */
  const char *profile;     /* --profile NAME */
  const char *max_runtime; /* --max-runtime DURATION */
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

/* Call td.run's hook `name` (start/finish/repl) under the message handler;
 * returns an exit status like tdhost_call. */
int tdhost_phase(lua_State *L, const char *name);

/* The REPL (repl.c). */
int tdhost_repl(lua_State *L);

extern const char *tdhost_progname;

#endif
