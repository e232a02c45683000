/* lurk: the io library, on raw syscalls (LuaJIT's uses the app's stdio).
** Files are userdata "lurk.file" with their own buffer. io.stdout and
** io.stderr are lurk's output (stderr or --output FILE), in the one buffer
** print also writes to (engine/log.c: log_out), so they keep their order
** with print and the engine's messages; io.stdin is fd 0 (the
** program's stdin: reading it takes input from the program).
*/
#define _GNU_SOURCE 1 /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <lualib.h>
#include "lb_int.h"
#include "../engine/log.h"
#include "../arch/x86_64/syscall.h"

#define LB_FILE "lurk.file"
#define LB_FILEBUF 4096

enum { F_READ = 1, F_WRITE = 2, F_STD = 4, F_LOG = 8, F_CLOSED = 16 };
enum { B_FULL, B_LINE, B_NO }; /* ORDER B_/LOG_BUF_ */
enum { M_IDLE, M_READING, M_WRITING };

struct lb_file {
  int fd;
  uint8_t flags, bufmode, mode, eof;
  size_t pos, len;          /* reading: buf[pos..len) unread; writing: buf[0..len) */
  char buf[LB_FILEBUF];
};

/* -- Buffering --------------------------------------------------------- */

/* Write all of s to fd; 0 or -errno. */
static long f_write_fd(int fd, const char *s, size_t n)
{
  while (n) {
    long r = sys_write(fd, s, n);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    s += r;
    n -= (size_t)r;
  }
  return 0;
}

/* Write out pending output, or give back read-ahead (seek back over it). */
static long f_sync(struct lb_file *f)
{
  long r = 0;
  if (f->mode == M_WRITING && f->len) r = f_write_fd(f->fd, f->buf, f->len);
  else if (f->mode == M_READING && f->len > f->pos)
    sys_call3(SYS_lseek, f->fd, -(long)(f->len - f->pos), 1 /* SEEK_CUR */);
  f->mode = M_IDLE;
  f->pos = f->len = 0;
  return r;
}

static long f_write(struct lb_file *f, const char *s, size_t n)
{
  if (f->flags & F_LOG) { log_out(s, n); return 0; }
  if (f->mode != M_WRITING) { long r = f_sync(f); if (r < 0) return r; f->mode = M_WRITING; }
  if (f->bufmode == B_NO || n >= LB_FILEBUF) {
    long r = f_sync(f);
    f->mode = M_WRITING;
    return r < 0 ? r : f_write_fd(f->fd, s, n);
  }
  if (f->len + n > LB_FILEBUF) { long r = f_sync(f); f->mode = M_WRITING; if (r < 0) return r; }
  lurk_memcpy(f->buf + f->len, s, n);
  f->len += n;
  if (f->bufmode == B_LINE)
    for (size_t i = 0; i < n; i++)
      if (s[i] == '\n') { long r = f_sync(f); f->mode = M_WRITING; return r; }
  return 0;
}

/* Make sure unread input is buffered: 1 if some is, 0 at end of file,
** -errno on error. */
static long f_fill(struct lb_file *f)
{
  if (f->mode == M_READING && f->pos < f->len) return 1;
  if (f->mode != M_READING) { long r = f_sync(f); if (r < 0) return r; f->mode = M_READING; }
  f->pos = f->len = 0;
  for (;;) {
    long r = sys_read(f->fd, f->buf, LB_FILEBUF);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    f->len = (size_t)r;
    if (!r) f->eof = 1;
    return r > 0;
  }
}

/* -- File objects ------------------------------------------------------ */

static struct lb_file *lb_tofile(lua_State *L, int i)
{
  return luaL_checkudata(L, i, LB_FILE);
}

/* The file at i, which must be open. */
static struct lb_file *lb_toopen(lua_State *L, int i)
{
  struct lb_file *f = lb_tofile(L, i);
  if (f->flags & F_CLOSED) luaL_error(L, "attempt to use a closed file");
  return f;
}

/* Push a new file object for fd (registered for the flush at exit). */
static struct lb_file *lb_newfile(lua_State *L, int fd, int flags)
{
  struct lb_file *f = lua_newuserdata(L, sizeof *f);
  f->fd = fd;
  f->flags = (uint8_t)flags;
  f->bufmode = (flags & F_LOG) ? B_NO : B_FULL;
  f->mode = M_IDLE;
  f->eof = 0;
  f->pos = f->len = 0;
  luaL_getmetatable(L, LB_FILE);
  lua_setmetatable(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, "lurk.files");
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return f;
}

static long f_close(struct lb_file *f)
{
  long r = f_sync(f);
  long c = sys_close(f->fd);
  f->flags |= F_CLOSED;
  return r < 0 ? r : (SYS_FAILED(c) ? c : 0);
}

/* Flush every open file the scripts wrote to (at exit and on errors). */
void lb_io_flush_all(lua_State *L)
{
  log_flush();
  lua_getfield(L, LUA_REGISTRYINDEX, "lurk.files");
  if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    struct lb_file *f = luaL_testudata(L, -1, LB_FILE);
    if (f && !(f->flags & F_CLOSED) && f->mode == M_WRITING) f_sync(f);
  }
  lua_pop(L, 1);
}

/* -- Reading ----------------------------------------------------------- */

/* Read a line (with its newline if keep). Pushes it; 0 at end of file with
** nothing read, 1 if something, -errno. */
static long r_line(lua_State *L, struct lb_file *f, int keep)
{
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int any = 0;
  for (;;) {
    long r = f_fill(f);
    if (r < 0) { luaL_pushresult(&b); return r; }
    if (r == 0) break;
    size_t i = f->pos;
    while (i < f->len && f->buf[i] != '\n') i++;
    int nl = i < f->len;
    luaL_addlstring(&b, f->buf + f->pos, i - f->pos + (nl && keep));
    any = 1;
    f->pos = i + nl;
    if (nl) break;
  }
  luaL_pushresult(&b);
  return any;
}

/* Read up to n bytes (all of it if n is (size_t)-1). */
static long r_chars(lua_State *L, struct lb_file *f, size_t n)
{
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t got = 0;
  while (got < n) {
    long r = f_fill(f);
    if (r < 0) { luaL_pushresult(&b); return r; }
    if (r == 0) break;
    size_t k = f->len - f->pos;
    if (k > n - got) k = n - got;
    luaL_addlstring(&b, f->buf + f->pos, k);
    f->pos += k;
    got += k;
  }
  luaL_pushresult(&b);
  return got > 0 || n == (size_t)-1;
}

/* Read a number (the characters a numeral can have, then tonumber). */
static long r_number(lua_State *L, struct lb_file *f)
{
  char tmp[201];
  size_t n = 0;
  long r;
  while ((r = f_fill(f)) > 0 && (f->buf[f->pos] == ' ' || (f->buf[f->pos] >= '\t' && f->buf[f->pos] <= '\r')))
    f->pos++;
  while (n < 200 && (r = f_fill(f)) > 0) {
    char c = f->buf[f->pos];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
          c == 'x' || c == 'X' || c == '.' || c == '+' || c == '-' || c == 'p' || c == 'P'))
      break;
    tmp[n++] = c;
    f->pos++;
  }
  if (r < 0) return r;
  lua_pushlstring(L, tmp, n);
  if (lua_isnumber(L, -1)) { lua_pushnumber(L, lua_tonumber(L, -1)); lua_remove(L, -2); return 1; }
  lua_pop(L, 1);
  lua_pushnil(L);
  return 0;
}

/* file:read(...) core: formats from index first; liolib's results. */
static int lb_read_fmts(lua_State *L, struct lb_file *f, int first)
{
  int nargs = lua_gettop(L) - first + 1;
  if (nargs <= 0) { lua_pushliteral(L, "l"); nargs = 1; first = lua_gettop(L); }
  luaL_checkstack(L, nargs + 20, "too many arguments");
  int n;
  long ok = 1;
  for (n = first; nargs-- && ok > 0; n++) {
    if (lua_type(L, n) == LUA_TNUMBER) {
      lua_Number k = lua_tonumber(L, n);
      if (k == 0) {
        ok = f_fill(f);
        if (ok >= 0) lua_pushliteral(L, "");
      } else {
        ok = r_chars(L, f, k < 0 ? 0 : (size_t)k);
      }
    } else {
      const char *p = luaL_checkstring(L, n);
      if (*p == '*') p++;
      switch (*p) {
      case 'n': ok = r_number(L, f); break;
      case 'l': ok = r_line(L, f, 0); break;
      case 'L': ok = r_line(L, f, 1); break;
      case 'a': ok = r_chars(L, f, (size_t)-1); ok = ok < 0 ? ok : 1; break;
      default: return luaL_argerror(L, n, "invalid format");
      }
    }
  }
  if (ok < 0) return lb_fileresult(L, NULL, ok);
  if (ok == 0) { lua_pop(L, 1); lua_pushnil(L); }
  return n - first;
}

/* -- Methods ----------------------------------------------------------- */

/* file:read(...): formats "l", "L", "n", "a" (with or without '*') or a
** byte count. */
static int lb_file_read(lua_State *L)
{
  return lb_read_fmts(L, lb_toopen(L, 1), 2);
}

/* Write arguments from index arg on; returns the file or nil, msg. */
static int lb_write_args(lua_State *L, struct lb_file *f, int arg, int fidx)
{
  int n = lua_gettop(L);
  for (; arg <= n; arg++) {
    size_t len;
    const char *s;
    char num[64];
    if (lua_type(L, arg) == LUA_TNUMBER) {
      lua_pushvalue(L, arg);
      s = lua_tolstring(L, -1, &len);
      lurk_memcpy(num, s, len < 63 ? len : 63);
      lua_pop(L, 1);
      s = num;
    } else {
      s = luaL_checklstring(L, arg, &len);
    }
    long r = f_write(f, s, len);
    if (r < 0) return lb_fileresult(L, NULL, r);
  }
  lua_pushvalue(L, fidx);
  return 1;
}

static int lb_file_write(lua_State *L)
{
  return lb_write_args(L, lb_toopen(L, 1), 2, 1);
}

static int lb_file_close(lua_State *L)
{
  struct lb_file *f = lb_toopen(L, 1);
  if (f->flags & F_STD) {
    lua_pushnil(L);
    lua_pushliteral(L, "cannot close standard file");
    return 2;
  }
  long r = f_close(f);
  if (r < 0) return lb_fileresult(L, NULL, r);
  lua_pushboolean(L, 1);
  return 1;
}

static int lb_file_flush(lua_State *L)
{
  struct lb_file *f = lb_toopen(L, 1);
  if (f->flags & F_LOG) log_flush();
  long r = f->mode == M_WRITING ? f_sync(f) : 0;
  if (r < 0) return lb_fileresult(L, NULL, r);
  lua_pushvalue(L, 1);
  return 1;
}

/* file:seek([whence [, offset]]): the new position from the start. */
static int lb_file_seek(lua_State *L)
{
  static const char *const names[] = { "set", "cur", "end", NULL };
  struct lb_file *f = lb_toopen(L, 1);
  int whence = luaL_checkoption(L, 2, "cur", names);
  lua_Number off = luaL_optnumber(L, 3, 0);
  long r = f_sync(f);
  if (r >= 0) r = sys_call3(SYS_lseek, f->fd, (long)off, whence);
  if (r < 0) return lb_fileresult(L, NULL, r);
  f->eof = 0;
  lua_pushnumber(L, (lua_Number)r);
  return 1;
}

static int lb_file_setvbuf(lua_State *L)
{
  static const char *const names[] = { "full", "line", "no", NULL };
  struct lb_file *f = lb_toopen(L, 1);
  int mode = luaL_checkoption(L, 2, NULL, names);
  long r = f_sync(f);
  if (f->flags & F_LOG) { log_flush(); log_bufmode = mode; } /* ORDER B_/LOG_BUF_ */
  else f->bufmode = (uint8_t)mode;
  if (r < 0) return lb_fileresult(L, NULL, r);
  lua_pushboolean(L, 1);
  return 1;
}

/* The lines iterator: upvalues file, close-at-eof flag, formats. */
static int lb_lines_next(lua_State *L)
{
  struct lb_file *f = lua_touserdata(L, lua_upvalueindex(1));
  if (f->flags & F_CLOSED) return luaL_error(L, "file is already closed");
  int nf = (int)lua_tointeger(L, lua_upvalueindex(3));
  lua_settop(L, 0);
  for (int i = 1; i <= nf; i++) lua_pushvalue(L, lua_upvalueindex(3 + i));
  int n = lb_read_fmts(L, f, 1);
  if (!lua_isnil(L, -n)) return n;
  if (n > 1 && lua_isstring(L, -n + 1) && lua_isnumber(L, -n + 2))
    return luaL_error(L, "%s", lua_tostring(L, -n + 1));
  if (lua_toboolean(L, lua_upvalueindex(2))) f_close(f);
  return 0;
}

/* Push an iterator over f (at index i) with the formats from index fmt on. */
static int lb_push_lines(lua_State *L, int i, int fmt, int close)
{
  int n = lua_gettop(L) - fmt + 1;
  if (n < 0) n = 0;
  luaL_argcheck(L, n <= 250, 250, "too many arguments");
  lua_pushvalue(L, i);
  lua_pushboolean(L, close);
  lua_pushinteger(L, n);
  for (int k = 0; k < n; k++) lua_pushvalue(L, fmt + k);
  lua_pushcclosure(L, lb_lines_next, 3 + n);
  return 1;
}

static int lb_file_lines(lua_State *L)
{
  lb_toopen(L, 1);
  return lb_push_lines(L, 1, 2, 0);
}

static int lb_file_gc(lua_State *L)
{
  struct lb_file *f = lb_tofile(L, 1);
  if (!(f->flags & (F_CLOSED | F_STD))) f_close(f);
  return 0;
}

static int lb_file_tostring(lua_State *L)
{
  struct lb_file *f = lb_tofile(L, 1);
  if (f->flags & F_CLOSED) lua_pushliteral(L, "file (closed)");
  else lua_pushfstring(L, "file (%p)", (void *)f);
  return 1;
}

/* -- The io table ------------------------------------------------------ */

#define LB_IN "lurk.io.input"
#define LB_OUT "lurk.io.output"

/* Move a new file descriptor up, next to lurk's output (1000+), so the
** program's own open() gets the numbers it gets natively; stays where it
** is when the fd limit is too low for that. */
static long lb_fd_high(long fd)
{
  long hi = sys_fcntl(fd, F_DUPFD_CLOEXEC, 1010);
  if (SYS_FAILED(hi)) return fd;
  sys_close(fd);
  return hi;
}

/* Open fname with an fopen-style mode; pushes the file or nil, msg, errno. */
static int lb_open_path(lua_State *L, const char *fname, const char *mode)
{
  int fl, ff;
  const char *m = mode;
  switch (*m++) {
  case 'r': fl = O_RDONLY; ff = F_READ; break;
  case 'w': fl = O_WRONLY | O_CREAT | O_TRUNC; ff = F_WRITE; break;
  case 'a': fl = O_WRONLY | O_CREAT | O_APPEND; ff = F_WRITE; break;
  default: return luaL_argerror(L, 2, "invalid mode");
  }
  if (*m == '+') { fl = (fl & ~(O_RDONLY | O_WRONLY)) | O_RDWR; ff = F_READ | F_WRITE; m++; }
  if (*m == 'b') m++;
  if (*m) return luaL_argerror(L, 2, "invalid mode");
  long fd = sys_openat(AT_FDCWD, fname, fl | O_CLOEXEC, 0666);
  if (SYS_FAILED(fd)) return lb_fileresult(L, fname, fd);
  lb_newfile(L, (int)lb_fd_high(fd), ff);
  return 1;
}

/* io.open(fname [, mode]): a file, or nil, "fname: message", errno. */
static int lb_io_open(lua_State *L)
{
  const char *fname = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  return lb_open_path(L, fname, mode);
}

/* io.tmpfile(): an anonymous file in /tmp (O_TMPFILE), gone when closed. */
static int lb_io_tmpfile(lua_State *L)
{
  long fd = sys_openat(AT_FDCWD, "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (SYS_FAILED(fd)) return lb_fileresult(L, "/tmp", fd);
  lb_newfile(L, (int)lb_fd_high(fd), F_READ | F_WRITE);
  return 1;
}

/* io.input([file | fname]) and io.output: get or set the default file. */
static int lb_io_default(lua_State *L, const char *key, const char *mode)
{
  if (!lua_isnoneornil(L, 1)) {
    if (lua_type(L, 1) == LUA_TSTRING) {
      if (lb_open_path(L, lua_tostring(L, 1), mode) != 1)
        return luaL_error(L, "%s", lua_tostring(L, -2));
    } else {
      lb_toopen(L, 1);
      lua_pushvalue(L, 1);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, key);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  return 1;
}

static int lb_io_input(lua_State *L) { return lb_io_default(L, LB_IN, "r"); }
static int lb_io_output(lua_State *L) { return lb_io_default(L, LB_OUT, "w"); }

/* The default file for io.read/io.write/io.lines/io.close, pushed. */
static struct lb_file *lb_default(lua_State *L, const char *key)
{
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  struct lb_file *f = lua_touserdata(L, -1);
  if (f->flags & F_CLOSED)
    luaL_error(L, "default %s file is closed", key[8] == 'i' ? "input" : "output");
  return f;
}

static int lb_io_read(lua_State *L)
{
  int n = lua_gettop(L);
  struct lb_file *f = lb_default(L, LB_IN);
  lua_insert(L, 1);
  (void)n;
  return lb_read_fmts(L, f, 2);
}

static int lb_io_write(lua_State *L)
{
  struct lb_file *f = lb_default(L, LB_OUT);
  lua_insert(L, 1);
  return lb_write_args(L, f, 2, 1);
}

static int lb_io_close(lua_State *L)
{
  if (lua_isnone(L, 1)) lb_default(L, LB_OUT);
  return lb_file_close(L);
}

/* io.lines([fname, ...]): lines of fname (closed at the end) or of the
** default input. */
static int lb_io_lines(lua_State *L)
{
  if (lua_isnoneornil(L, 1)) {
    if (lua_gettop(L) == 0) lua_pushnil(L);
    lb_default(L, LB_IN);
    lua_replace(L, 1);
    return lb_push_lines(L, 1, 2, 0);
  }
  const char *fname = luaL_checkstring(L, 1);
  if (lb_open_path(L, fname, "r") != 1) return luaL_error(L, "%s", lua_tostring(L, -2));
  lua_replace(L, 1);
  return lb_push_lines(L, 1, 2, 1);
}

static int lb_io_type(lua_State *L)
{
  luaL_checkany(L, 1);
  struct lb_file *f = luaL_testudata(L, 1, LB_FILE);
  if (!f) lua_pushnil(L);
  else if (f->flags & F_CLOSED) lua_pushliteral(L, "closed file");
  else lua_pushliteral(L, "file");
  return 1;
}

/* io.popen would fork and exec from inside the program being run. */
static int lb_io_popen(lua_State *L)
{
  return luaL_error(L, "io.popen is not available in lurk (it would run a command inside the program)");
}

static const luaL_Reg lb_file_methods[] = {
  { "read", lb_file_read }, { "write", lb_file_write }, { "lines", lb_file_lines },
  { "close", lb_file_close }, { "flush", lb_file_flush }, { "seek", lb_file_seek },
  { "setvbuf", lb_file_setvbuf }, { NULL, NULL }
};

static const luaL_Reg lb_io_funcs[] = {
  { "open", lb_io_open }, { "close", lb_io_close }, { "read", lb_io_read },
  { "write", lb_io_write }, { "lines", lb_io_lines }, { "input", lb_io_input },
  { "output", lb_io_output }, { "type", lb_io_type }, { "tmpfile", lb_io_tmpfile },
  { "popen", lb_io_popen }, { NULL, NULL }
};

void lb_open_io(lua_State *L)
{
  static const luaL_Reg mm[] = { { "__gc", lb_file_gc }, { "__tostring", lb_file_tostring }, { NULL, NULL } };
  lb_class(L, LB_FILE, mm);
  lua_newtable(L);
  luaL_register(L, NULL, lb_file_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_newtable(L);                                  /* weak set of files */
  lua_newtable(L);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "lurk.files");

  luaL_register(L, LUA_IOLIBNAME, lb_io_funcs);
  lb_newfile(L, 0, F_READ | F_STD);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_IN);
  lua_setfield(L, -2, "stdin");
  lb_newfile(L, -1, F_WRITE | F_STD | F_LOG);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_OUT);
  lua_setfield(L, -2, "stdout");
  lb_newfile(L, -1, F_WRITE | F_STD | F_LOG);
  lua_setfield(L, -2, "stderr");
  lua_pop(L, 1);
}
