/* lurk: file loading, errno messages and the captured environment for the
** Lua bindings. Raw syscalls only: these run on engine paths.
*/
#include <errno.h>
#include <fcntl.h>
#include "lb_int.h"
#include "../engine/log.h"
#include "../engine/mem.h"
#include "../arch/x86_64/syscall.h"

/* -- errno messages ---------------------------------------------------- */

/* ORDER: errno values (asm-generic/errno-base.h, then the common others). */
static const char *const lb_errmsg[] = {
  "Success", "Operation not permitted", "No such file or directory",
  "No such process", "Interrupted system call", "Input/output error",
  "No such device or address", "Argument list too long", "Exec format error",
  "Bad file descriptor", "No child processes", "Resource temporarily unavailable",
  "Cannot allocate memory", "Permission denied", "Bad address",
  "Block device required", "Device or resource busy", "File exists",
  "Invalid cross-device link", "No such device", "Not a directory",
  "Is a directory", "Invalid argument", "Too many open files in system",
  "Too many open files", "Inappropriate ioctl for device", "Text file busy",
  "File too large", "No space left on device", "Illegal seek",
  "Read-only file system", "Too many links", "Broken pipe",
  "Numerical argument out of domain", "Numerical result out of range",
  "Resource deadlock avoided", "File name too long", "No locks available",
  "Function not implemented", "Directory not empty",
  "Too many levels of symbolic links",
};

const char *lb_strerror(long err)
{
  static char other[32];
  if (err < 0) err = -err;
  if (err < (long)(sizeof lb_errmsg / sizeof *lb_errmsg)) return lb_errmsg[err];
  if (err == EDQUOT) return "Disk quota exceeded";
  if (err == ENOTSUP) return "Operation not supported";
  log_snprintf(other, sizeof other, "Unknown error %ld", err);
  return other;
}

int lb_fileresult(lua_State *L, const char *what, long err)
{
  if (err < 0) err = -err;
  lua_pushnil(L);
  if (what) lua_pushfstring(L, "%s: %s", what, lb_strerror(err));
  else lua_pushstring(L, lb_strerror(err));
  lua_pushinteger(L, err);
  return 3;
}

/* -- Loading files ----------------------------------------------------- */

/* Read all of fd into a Lua string on the stack; 0 or -errno. */
static long lb_read_all(lua_State *L, int fd)
{
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (;;) {
    char *p = luaL_prepbuffer(&b);
    long r = sys_read(fd, p, LUAL_BUFFERSIZE);
    if (r == -EINTR) continue;
    if (r < 0) { luaL_pushresult(&b); lua_pop(L, 1); return r; }
    if (r == 0) break;
    luaL_addsize(&b, (size_t)r);
  }
  luaL_pushresult(&b);
  return 0;
}

int lb_loadfile(lua_State *L, const char *path, const char *chunkname)
{
  long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) {
    lua_pushfstring(L, "cannot open %s: %s", path, lb_strerror(fd));
    return LUA_ERRFILE;
  }
  long r = lb_read_all(L, (int)fd);
  sys_close(fd);
  if (r < 0) {
    lua_pushfstring(L, "cannot read %s: %s", path, lb_strerror(r));
    return LUA_ERRFILE;
  }
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  /* A first line starting with '#' (a shebang) is skipped, as luaL_loadfile
  ** does; its newline stays so line numbers are right. */
  size_t skip = 0;
  if (n && s[0] == '#')
    while (skip < n && s[skip] != '\n') skip++;
  int st = luaL_loadbuffer(L, s + skip, n - skip, chunkname);
  lua_remove(L, -2);
  return st;
}

/* -- Environment ------------------------------------------------------- */

static char **lb_env;

void lb_env_capture(char **envp)
{
  size_t n = 0;
  while (envp && envp[n]) n++;
  lb_env = mem_alloc((n + 1) * sizeof *lb_env);
  for (size_t i = 0; i < n; i++) lb_env[i] = lurk_strdup(envp[i]);
}

const char *lb_env_get(const char *name, size_t n)
{
  for (char **e = lb_env; e && *e; e++)
    if (lurk_strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}

void lb_class(lua_State *L, const char *name, const luaL_Reg *mm)
{
  luaL_newmetatable(L, name);
  luaL_register(L, NULL, mm);
}

const char *lb_hex(char buf[24], uint64_t v)
{
  log_snprintf(buf, 24, "0x%lx", (unsigned long)v);
  return buf;
}
