/* lurk: small system services for tools, on raw system calls (the engine's
** own calls: never raised as the program's syscall events):
** lurk.now, lurk.sleep, lurk.ppid, lurk.mkdir, lurk.readlink, lurk.dir, lurk.kill,
** lurk.stat, lurk.chmod, lurk.symlink.
** Environmental failures return nil, "what: message", errno.
*/
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include "lb_int.h"
#include "../engine/hide.h"
#include "../arch/x86_64/syscall.h"

/* lurk.now(): wall-clock time in seconds, with nanoseconds (a number). */
static int lb_sys_now(lua_State *L)
{
  struct timespec ts;
  sys_call2(SYS_clock_gettime, CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* lurk.sleep(seconds): wait (the calling thread only; a signal for the
** program may end it early). */
static int lb_sys_sleep(lua_State *L)
{
  lua_Number s = luaL_checknumber(L, 1);
  if (s < 0) return luaL_argerror(L, 1, "negative time");
  struct timespec ts = { (time_t)s, (long)((s - (lua_Number)(time_t)s) * 1e9) };
  sys_call2(SYS_nanosleep, &ts, NULL);
  return 0;
}

/* lurk.ppid(): the parent's process id. */
static int lb_sys_ppid(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)sys_call0(SYS_getppid));
  return 1;
}

static int lb_sys_result(lua_State *L, long r, const char *what)
{
  if (SYS_FAILED(r)) return lb_fileresult(L, what, r);
  lua_pushboolean(L, 1);
  return 1;
}

/* lurk.mkdir(path [, mode]): one directory (mode default 0777, less umask). */
static int lb_sys_mkdir(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  long mode = (long)luaL_optinteger(L, 2, 0777);
  return lb_sys_result(L, sys_call3(SYS_mkdirat, AT_FDCWD, path, mode), path);
}

/* lurk.readlink(path): the target of a symbolic link (/proc/PID/cwd,
** /proc/PID/fd/N included; /proc/self/exe is the program, also where the
** kernel's link names lurk's launcher: --early). */
static int lb_sys_readlink(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  if (hide_exe[0] && hide_exe_link(path)) {
    lua_pushstring(L, hide_exe);
    return 1;
  }
  char buf[4096];
  long r = sys_call4(SYS_readlinkat, AT_FDCWD, path, buf, sizeof buf);
  if (SYS_FAILED(r)) return lb_fileresult(L, path, r);
  lua_pushlstring(L, buf, (size_t)r);
  return 1;
}

/* lurk.dir(path): the names in a directory (without . and ..), unsorted. */
static int lb_sys_dir(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return lb_fileresult(L, path, fd);
  lua_newtable(L);
  int n = 0;
  char buf[4096];
  for (;;) {
    long r = sys_call3(SYS_getdents64, fd, buf, sizeof buf);
    if (r <= 0) {
      if (SYS_FAILED(r)) { sys_close(fd); return lb_fileresult(L, path, r); }
      break;
    }
    for (long off = 0; off < r;) {
      unsigned short reclen;
      __builtin_memcpy(&reclen, buf + off + 16, 2);
      const char *name = buf + off + 19;
      if (!(name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))) {
        lua_pushstring(L, name);
        lua_rawseti(L, -2, ++n);
      }
      off += reclen;
    }
  }
  sys_close(fd);
  return 1;
}

/* lurk.stat(path): lstat's facts {type, mode, size, mtime, uid, gid} (type:
** "file", "dir", "link", "other"; mode: the permission bits). */
static int lb_sys_stat(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  long r = sys_call4(SYS_newfstatat, AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW);
  if (SYS_FAILED(r)) return lb_fileresult(L, path, r);
  lua_createtable(L, 0, 6);
  unsigned t = st.st_mode & S_IFMT;
  lua_pushstring(L, t == S_IFREG ? "file" : t == S_IFDIR ? "dir" : t == S_IFLNK ? "link" : "other");
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  lua_setfield(L, -2, "mode");
  lua_pushnumber(L, (lua_Number)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushnumber(L, (lua_Number)st.st_mtim.tv_sec + (lua_Number)st.st_mtim.tv_nsec / 1e9);
  lua_setfield(L, -2, "mtime");
  lua_pushinteger(L, (lua_Integer)st.st_uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)st.st_gid);
  lua_setfield(L, -2, "gid");
  return 1;
}

/* lurk.chmod(path, mode) */
static int lb_sys_chmod(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  long mode = (long)luaL_checkinteger(L, 2);
  return lb_sys_result(L, sys_call4(SYS_fchmodat, AT_FDCWD, path, mode, 0), path);
}

/* lurk.symlink(target, path) */
static int lb_sys_symlink(lua_State *L)
{
  const char *target = luaL_checkstring(L, 1);
  const char *path = luaL_checkstring(L, 2);
  return lb_sys_result(L, sys_call3(SYS_symlinkat, target, AT_FDCWD, path), path);
}

/* lurk.kill(pid, sig): send a signal (sig 0: does pid exist?). */
static int lb_sys_kill(lua_State *L)
{
  long pid = (long)luaL_checkinteger(L, 1);
  long sig = (long)luaL_checkinteger(L, 2);
  if (sig < 0 || sig > 64) return luaL_argerror(L, 2, "signal out of range");
  return lb_sys_result(L, sys_kill(pid, sig), "kill");
}

static const luaL_Reg lb_sys_funcs[] = {
  { "now", lb_sys_now }, { "ppid", lb_sys_ppid }, { "mkdir", lb_sys_mkdir },
  { "readlink", lb_sys_readlink }, { "dir", lb_sys_dir }, { "kill", lb_sys_kill },
  { "sleep", lb_sys_sleep }, { "stat", lb_sys_stat }, { "chmod", lb_sys_chmod },
  { "symlink", lb_sys_symlink },
  { NULL, NULL }
};

void lb_sys_open(lua_State *L)
{
  luaL_register(L, NULL, lb_sys_funcs);
}
