/* main.c - tdlua: command line handling in the manner of lua.c.
 *
 *   tdlua [options] [script [args]]
 *
 * Exit status: 0 success, 1 an error in the script, 2 bad usage, and the
 * statuses of lua/td/run.lua (job failed, killed, timeout, auth, rate
 * limited, declined, locked), 130 interrupted (Ctrl-C, SIGTERM). */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "host.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat     execute string 'stat'\n"
          "  -i          enter interactive mode after executing 'script'\n"
          "  -l mod      require library 'mod' into global 'mod'\n"
          "  -v          show version information\n"
          "  -E          ignore environment variables LUA_INIT, LUA_PATH, LUA_CPATH\n"
          "  --verbose   trace every request on stderr and show tracebacks\n"
          "  --dry-run   print mutating API calls instead of sending them\n"
          "  --yes       answer yes to td.confirm() questions (for cron)\n"
          "  --quiet     no progress lines; only warnings and errors are logged\n"
          "  --journal FILE      record finished td.step results; a re-run resumes\n"
          "  --lock FILE         exit at once (status 9) if another run holds FILE\n"
          "  --max-runtime DUR   stop the script after DUR (\"90s\", \"2h\"; status 5)\n"
          "  --log-level LEVEL   debug, info (default), warn or error\n"
          "  --log-format FMT    text (default) or json (one object per line)\n"
          "  --profile NAME      the account profile (as TD_PROFILE)\n"
          "  --no-strict  scripts may read and assign undeclared globals\n"
          "  -h, --help  show this help\n"
          "  --          stop handling options\n"
          "  -           stop handling options and execute stdin\n"
          "Environment: TD_API_KEY, TD_API_SERVER, TD_WORKFLOW_SERVER, TD_CONFIG_PATH, TD_PROFILE,\n"
          "  TDLUA_LUA_DIR (load lua/ from disk), TDLUA_HISTORY (REPL history file).\n",
          tdhost_progname);
}

static void print_version(void) {
  printf("tdlua %s (%s)\n", TDLUA_VERSION, LUA_RELEASE);
  fflush(stdout);
}

typedef struct parsed {
  int script;      /* index of the script in argv, 0 if none */
  int interactive; /* -i */
  int version;     /* -v */
  int exec;        /* -e seen */
  int no_env;      /* -E */
  int stdin_script;/* "-" */
  tdhost_opts host;
} parsed;

/* The slot of a value option ("journal" or "journal=x"); when val is not
 * NULL, stores it. NULL for an unknown name. */
static const char **value_option(parsed *p, const char *name, const char *val) {
  static const char *const names[] = {"journal", "lock", "log-level", "log-format", "profile", "max-runtime"};
  const char **slots[] = {&p->host.journal, &p->host.lock, &p->host.log_level,
                          &p->host.log_format, &p->host.profile, &p->host.max_runtime};
  size_t n = strcspn(name, "=");
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strlen(names[i]) == n && strncmp(names[i], name, n) == 0) {
      if (val) *slots[i] = val;
      return slots[i];
    }
  }
  return NULL;
}

/* returns 0 ok, -1 bad usage (message printed), 1 help printed */
static int parse(int argc, char **argv, parsed *p) {
  memset(p, 0, sizeof *p);
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-') break;
    if (strcmp(a, "--") == 0) { i++; break; }
    if (strcmp(a, "-") == 0) { p->stdin_script = 1; break; }
    if (strcmp(a, "--verbose") == 0) p->host.verbose = 1;
    else if (strcmp(a, "--dry-run") == 0) p->host.dry_run = 1;
    else if (strcmp(a, "--yes") == 0) p->host.yes = 1;
    else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) p->host.quiet = 1;
    else if (strcmp(a, "--no-strict") == 0) p->host.no_strict = 1;
    else if (strncmp(a, "--", 2) == 0 && value_option(p, a + 2, NULL) != NULL) {
      const char *eq = strchr(a, '=');
      if (!eq) {
        if (i + 1 >= argc) {
          fprintf(stderr, "%s: '%s' needs argument\n", tdhost_progname, a);
          usage(stderr);
          return -1;
        }
        eq = argv[++i];
      } else {
        eq++;
      }
      value_option(p, a + 2, eq);
    }
    else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); return 1; }
    else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) p->version = 1;
    else if (strcmp(a, "-i") == 0) { p->interactive = 1; p->version = 1; }
    else if (strcmp(a, "-E") == 0) p->no_env = 1;
    else if (strncmp(a, "-e", 2) == 0 || strncmp(a, "-l", 2) == 0) {
      if (a[2] == '\0') {
        if (i + 1 >= argc || argv[i + 1][0] == '-') {
          fprintf(stderr, "%s: '%s' needs argument\n", tdhost_progname, a);
          usage(stderr);
          return -1;
        }
        i++;
      }
      if (a[1] == 'e') p->exec = 1;
    } else {
      fprintf(stderr, "%s: unrecognized option '%s'\n", tdhost_progname, a);
      usage(stderr);
      return -1;
    }
  }
  if (i < argc && !p->stdin_script) p->script = i;
  else if (p->stdin_script) p->script = i; /* argv[i] == "-" */
  return 0;
}

/* arg table: arg[0] = script, negative indices for what came before */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  int base = script ? script : argc;
  lua_createtable(L, argc - base, base + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - (script ? script : 0));
  }
  lua_setglobal(L, "arg");
}

static int run_chunk_string(lua_State *L, const char *code) {
  if (luaL_loadbuffer(L, code, strlen(code), "=(command line)") != LUA_OK) {
    tdhost_report(L, 1);
    return 1;
  }
  return tdhost_call(L, 0, 0);
}

static int run_lib(lua_State *L, const char *mod) {
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int st = tdhost_call(L, 1, 1);
  if (st != 0) return st;
  const char *eq = strchr(mod, '=');
  if (eq) { /* -l g=mod */
    lua_pushlstring(L, mod, (size_t)(eq - mod));
    lua_insert(L, -2);
    lua_setglobal(L, lua_tostring(L, -2));
    lua_pop(L, 1);
  } else {
    lua_setglobal(L, mod);
  }
  return 0;
}

/* keep: leave the script's results on the stack (for the REPL under -i) */
static int run_script(lua_State *L, char **argv, int argc, int script, int keep) {
  const char *fname = argv[script];
  if (strcmp(fname, "-") == 0 && (script == 0 || strcmp(argv[script - 1], "--") != 0)) fname = NULL;
  if (luaL_loadfile(L, fname) != LUA_OK) {
    tdhost_report(L, 1);
    return 1;
  }
  int n = 0;
  for (int i = script + 1; i < argc; i++, n++) lua_pushstring(L, argv[i]);
  return tdhost_call(L, n, keep ? LUA_MULTRET : 0);
}

static int handle_luainit(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (!init) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (!init) return 0;
  if (init[0] == '@') {
    if (luaL_loadfile(L, init + 1) != LUA_OK) return tdhost_report(L, 1), 1;
  } else if (luaL_loadbuffer(L, init, strlen(init), name) != LUA_OK) {
    return tdhost_report(L, 1), 1;
  }
  return tdhost_call(L, 0, 0);
}

int main(int argc, char **argv) {
  parsed p;
  if (argv[0] && argv[0][0]) {
    const char *slash = strrchr(argv[0], '/');
    tdhost_progname = slash ? slash + 1 : argv[0];
  }
  int pr = parse(argc, argv, &p);
  if (pr < 0) return 2;
  if (pr > 0) return 0;
  if (p.version && !p.interactive && !p.script && !p.exec) {
    print_version();
    return 0;
  }
  int tty_repl = !p.script && !p.exec && !p.version && isatty(0);
  p.host.interactive = p.interactive || tty_repl;
  if (p.no_env) {
    unsetenv("LUA_PATH");
    unsetenv("LUA_PATH_5_4");
    unsetenv("LUA_CPATH");
    unsetenv("LUA_CPATH_5_4");
  }
  lua_State *L = tdhost_new(&p.host);
  if (!L) return 1;
  create_arg_table(L, argv, argc, p.script);
  int status = 0;
  if (!p.no_env) status = handle_luainit(L);
  /* td.run: strict globals, log settings, --journal, --lock, --max-runtime */
  if (status == 0) status = tdhost_phase(L, tty_repl ? "repl" : "start");
  /* -e and -l, in order */
  for (int i = 1; status == 0 && i < argc && (p.script == 0 || i < p.script); i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0 || strcmp(a, "-") == 0) break;
    if (a[0] != '-' ) break;
    if (strncmp(a, "--", 2) == 0 && !strchr(a, '=') && value_option(&p, a + 2, NULL)) {
      i++; /* skip the option's value */
      continue;
    }
    if (a[1] == 'e' || a[1] == 'l') {
      const char *v = a[2] ? a + 2 : argv[++i];
      status = a[1] == 'e' ? run_chunk_string(L, v) : run_lib(L, v);
    }
  }
  if (status == 0 && p.script) status = run_script(L, argv, argc, p.script, p.interactive);
  /* loops started by td.every/td.cron keep running until they end or are stopped */
  if (status == 0 && (p.script || p.exec)) status = tdhost_phase(L, "finish");
  if (status == 0 || p.interactive) {
    if (p.interactive || tty_repl) {
      tdhost_phase(L, "repl");
      status = tdhost_repl(L); /* its banner has the version */
    } else if (!p.script && !p.exec && !p.version) {
      /* stdin is not a terminal: run it as a script */
      if (luaL_loadfile(L, NULL) != LUA_OK) status = (tdhost_report(L, 1), 1);
      else status = tdhost_call(L, 0, 0);
      if (status == 0) status = tdhost_phase(L, "finish");
    }
  }
  lua_close(L);
  return status;
}
