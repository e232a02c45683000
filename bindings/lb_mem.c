/* lurk: reading the program's memory from Lua: lurk.read(addr, n) and
** lurk.cstring(addr [, max]). Reads never fault: an unreadable address
** gives nil and a message (process_vm_readv on ourselves, as the
** translator fetches code).
*/
#include <sys/uio.h>
#include "lb_int.h"
#include "../arch/arch.h"
#include "../arch/x86_64/syscall.h"
#include "../engine/log.h"
#include "../engine/mem.h"
#include "../engine/shadow.h"

/* Copy up to n bytes at addr; the count copied (short at an unreadable
** page). */
static size_t lb_mem_copy(void *dst, uint64_t addr, size_t n)
{
  if (!n) return 0;
  struct iovec local = { dst, n }, remote = { (void *)addr, n };
  long r = sys_call6(SYS_process_vm_readv, sys_gettid(), (sys_word)&local, 1, (sys_word)&remote, 1,
                     0);
  if (r == -38 || r == -1) /* ENOSYS/EPERM (seccomp): a copy that faults softly */
    return arch_copy_in(dst, addr, n) ? 0 : n;
  return SYS_FAILED(r) ? 0 : (size_t)r;
}

/* Push nil and "cannot read <what> at 0x<addr>"; returns 2. */
static int lb_mem_fail(lua_State *L, const char *what, uint64_t addr)
{
  char msg[96];
  log_snprintf(msg, sizeof msg, "cannot read %s at 0x%lx", what, (unsigned long)addr);
  lua_pushnil(L);
  lua_pushstring(L, msg);
  return 2;
}

static uint64_t lb_mem_addr(lua_State *L, int i)
{
  return lb_ffi_check_u64(L, i);
}

/* lurk.read(addr, n): n bytes at addr as a string, or nil, message. */
static int lb_lurk_read(lua_State *L)
{
  uint64_t addr = lb_mem_addr(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "negative count");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t done = 0;
  while (done < (size_t)n) {
    char *p = luaL_prepbuffer(&b);
    size_t want = (size_t)n - done < LUAL_BUFFERSIZE ? (size_t)n - done : LUAL_BUFFERSIZE;
    size_t got = lb_mem_copy(p, addr + done, want);
    luaL_addsize(&b, got);
    done += got;
    if (got < want) {
      char what[32];
      log_snprintf(what, sizeof what, "%ld bytes", (long)n);
      return lb_mem_fail(L, what, addr + done);
    }
  }
  luaL_pushresult(&b);
  return 1;
}

/* lurk.cstring(addr [, max]): the NUL-terminated string at addr (without
** the NUL), at most max bytes (default 4096); a second result true when it
** was cut at max. nil, message when addr is not readable. */
static int lb_lurk_cstring(lua_State *L)
{
  uint64_t addr = lb_mem_addr(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, 4096);
  luaL_argcheck(L, max >= 0, 2, "negative length");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t done = 0;
  for (;;) {
    if (done >= (size_t)max) {
      luaL_pushresult(&b);
      lua_pushboolean(L, 1);
      return 2;
    }
    /* Up to the end of the page, so a string ending before an unreadable
    ** page is read whole. */
    uint64_t at = addr + done;
    size_t want = 4096 - (size_t)(at & 4095);
    if (want > (size_t)max - done) want = (size_t)max - done;
    if (want > LUAL_BUFFERSIZE) want = LUAL_BUFFERSIZE;
    char *p = luaL_prepbuffer(&b);
    size_t got = lb_mem_copy(p, at, want);
    size_t k = 0;
    while (k < got && p[k]) k++;
    luaL_addsize(&b, k);
    done += k;
    if (k < got) break;
    if (got < want) return lb_mem_fail(L, "a string", addr + done);
  }
  luaL_pushresult(&b);
  return 1;
}

/* liblurk.so's image, from its ELF header to the end of its bss (the
** linker's symbols for this object, not the program's). */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern char _end[] __attribute__((visibility("hidden")));

/* Push { lo =, hi =, kind = } as entry i of the table on top. */
static void lb_mem_push_range(lua_State *L, int i, uint64_t lo, uint64_t hi, const char *kind)
{
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, (lua_Number)lo);
  lua_setfield(L, -2, "lo");
  lua_pushnumber(L, (lua_Number)hi);
  lua_setfield(L, -2, "hi");
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_rawseti(L, -2, i);
}

/* lurk.engine_ranges(): lurk's own memory, a list of { lo, hi, kind }:
** "lurk" (liblurk.so's image), "cache" (code cache chunks), "engine" (the
** engine allocator's mappings: thread blocks, tables), "shadow" (the
** lurk.shadow reservation, once used). XXX: LuaJIT's heap is not listed. */
static int lb_lurk_engine_ranges(lua_State *L)
{
  static uint64_t r[1024][3];  /* under the Lua lock */
  size_t n = mem_ranges(r, sizeof r / sizeof r[0]);
  int i = 0;
  lua_createtable(L, (int)n + 2, 0);
  lb_mem_push_range(L, ++i, (uint64_t)__ehdr_start, ((uint64_t)_end + 4095) & ~4095ull, "lurk");
  for (size_t k = 0; k < n; k++)
    lb_mem_push_range(L, ++i, r[k][0], r[k][1], r[k][2] == MEM_KIND_CACHE ? "cache" : "engine");
  if (shadow_ready()) lb_mem_push_range(L, ++i, SHADOW_OFFSET, SHADOW_END, "shadow");
  return 1;
}

static const luaL_Reg lb_mem_funcs[] = {
  { "read", lb_lurk_read }, { "cstring", lb_lurk_cstring }, { "engine_ranges", lb_lurk_engine_ranges },
  { NULL, NULL }
};

void lb_mem_open(lua_State *L) { luaL_register(L, NULL, lb_mem_funcs); }
