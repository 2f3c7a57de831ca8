/* fsutil.c - what the output code needs to know about a path before it
 * writes there: the kind of file a name leads to (following symbolic links
 * to their final target, even when that target does not exist yet), fsync
 * of an open Lua file, and chmod. Policy (what to do for each kind) lives
 * in td/output.lua. */
#define _POSIX_C_SOURCE 200809L
#include "core.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 40

static const char *kind_of(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "dir";
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISCHR(m)) return "char";
  if (S_ISBLK(m)) return "block";
  if (S_ISSOCK(m)) return "socket";
  return "other";
}

/* Join the directory part of `base` with the relative link target `rel`
 * into out (size PATH_MAX); returns 0, or -1 when too long. */
static int join_link(char *out, const char *base, const char *rel) {
  const char *slash = strrchr(base, '/');
  size_t dlen = slash ? (size_t)(slash - base) + 1 : 0;
  size_t rlen = strlen(rel);
  if (dlen + rlen + 1 > PATH_MAX) return -1;
  char tmp[PATH_MAX];
  memcpy(tmp, base, dlen);
  memcpy(tmp + dlen, rel, rlen + 1);
  memcpy(out, tmp, dlen + rlen + 1);
  return 0;
}

/* core.target(path) -> kind, final_path, mode
 * kind: "missing", "file", "dir", "fifo", "char", "block", "socket" or
 * "other"; final_path: the name the data ends up under once every symbolic
 * link is followed (the path itself when it is not a link); mode: the
 * permission bits of an existing file. Raises only for bad arguments;
 * returns nil, message for a link loop or an unreadable link. */
int td_l_target(lua_State *L) {
  size_t len;
  const char *path = luaL_checklstring(L, 1, &len);
  if (len == 0 || len >= PATH_MAX || memchr(path, '\0', len))
    return luaL_argerror(L, 1, "a file name expected");
  char cur[PATH_MAX];
  memcpy(cur, path, len + 1);
  for (int hops = 0;; hops++) {
    struct stat st;
    if (lstat(cur, &st) != 0) {
      if (errno != ENOENT) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", cur, strerror(errno));
        return 2;
      }
      lua_pushliteral(L, "missing");
      lua_pushstring(L, cur);
      return 2;
    }
    if (!S_ISLNK(st.st_mode)) {
      lua_pushstring(L, kind_of(st.st_mode));
      lua_pushstring(L, cur);
      lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
      return 3;
    }
    if (hops >= MAX_LINKS) {
      lua_pushnil(L);
      lua_pushfstring(L, "%s: too many levels of symbolic links", path);
      return 2;
    }
    char link[PATH_MAX];
    ssize_t n = readlink(cur, link, sizeof link - 1);
    if (n < 0) {
      lua_pushnil(L);
      lua_pushfstring(L, "%s: %s", cur, strerror(errno));
      return 2;
    }
    link[n] = '\0';
    if (link[0] == '/') {
      memcpy(cur, link, (size_t)n + 1);
    } else if (join_link(cur, cur, link) != 0) {
      lua_pushnil(L);
      lua_pushfstring(L, "%s: name too long", path);
      return 2;
    }
  }
}

/* core.fsync(file) -> true, or nil, message: flush a Lua file's buffers
 * and ask the kernel to put its data on disk. */
int td_l_fsync(lua_State *L) {
  luaL_Stream *s = (luaL_Stream *)luaL_checkudata(L, 1, LUA_FILEHANDLE);
  if (s->closef == NULL || s->f == NULL) return luaL_argerror(L, 1, "file is closed");
  if (fflush(s->f) != 0 || fsync(fileno(s->f)) != 0) {
    /* pipes, terminals and some devices cannot be synced: not an error */
    if (errno == EINVAL || errno == EROFS || errno == ENOTSUP) {
      lua_pushboolean(L, 1);
      return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* core.chmod(path, mode) -> true, or nil, message */
int td_l_chmod(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer mode = luaL_checkinteger(L, 2);
  if (chmod(path, (mode_t)(mode & 07777)) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* A path argument: a non-empty string without NUL bytes, shorter than
 * PATH_MAX (a NUL would silently cut the name short). */
static const char *path_arg(lua_State *L, int idx) {
  size_t len;
  const char *path = luaL_checklstring(L, idx, &len);
  if (len == 0 || len >= PATH_MAX || memchr(path, '\0', len))
    luaL_argerror(L, idx, "a file name expected (non-empty, no NUL byte)");
  return path;
}

/* core.listdir(path) -> { {name =, kind =}, ... } (no "." or "..", in the
 * order the system gives; kind as core.target names it, "link" for a
 * symbolic link, which is not followed), or nil, message. */
static int dir_gc(lua_State *L) {
  DIR **dp = (DIR **)luaL_checkudata(L, 1, TD_DIR_MT);
  if (*dp) closedir(*dp);
  *dp = NULL;
  return 0;
}

static const luaL_Reg dir_meta[] = {{"__gc", dir_gc}, {NULL, NULL}};
const tdclass td_dir_class = {TD_DIR_MT, NULL, dir_meta};

int td_l_listdir(lua_State *L) {
  const char *path = path_arg(L, 1);
  /* the open directory is owned by a userdata (closed by __gc if anything
   * below raises), the entries by the table */
  DIR **dp = (DIR **)lua_newuserdatauv(L, sizeof(DIR *), 0);
  *dp = NULL;
  luaL_setmetatable(L, TD_DIR_MT);
  lua_newtable(L);
  DIR *d = *dp = opendir(path);
  if (!d) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  lua_Integer n = 0;
  char full[PATH_MAX];
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) break;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    const char *kind = "other";
    struct stat st;
    int w = snprintf(full, sizeof full, "%s/%s", path, e->d_name);
    if (w > 0 && (size_t)w < sizeof full && lstat(full, &st) == 0)
      kind = S_ISLNK(st.st_mode) ? "link" : kind_of(st.st_mode);
    if (!lua_checkstack(L, 4)) break;
    lua_createtable(L, 0, 2);
    lua_pushstring(L, e->d_name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    lua_rawseti(L, -2, ++n);
  }
  int err = errno;
  closedir(d);
  *dp = NULL;
  if (err) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(err));
    return 2;
  }
  return 1;
}

/* core.mkdir(path [, mode = 0755]) -> true (also when it is a directory
 * already), or nil, message. One level: the parent must exist. */
int td_l_mkdir(lua_State *L) {
  const char *path = path_arg(L, 1);
  lua_Integer mode = luaL_optinteger(L, 2, 0755);
  if (mkdir(path, (mode_t)(mode & 07777)) != 0) {
    struct stat st;
    if (!(errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
      lua_pushnil(L);
      lua_pushfstring(L, "%s: %s", path, strerror(errno));
      return 2;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* core.isfile(file) -> true when a Lua file handle is open */
int td_l_isopen(lua_State *L) {
  luaL_Stream *s = (luaL_Stream *)luaL_testudata(L, 1, LUA_FILEHANDLE);
  lua_pushboolean(L, s != NULL && s->closef != NULL);
  return 1;
}
