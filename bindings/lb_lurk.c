/* lurk: the lurk module (global `lurk`, also require "lurk"): output,
** version, threads; events (lb_event.c) and decoding (lb_insn.c) add to it.
*/
#include "lb_int.h"
#include "../engine/log.h"
#include "../arch/x86_64/syscall.h"

/* lurk.log(fmt, ...): string.format(fmt, ...) and a newline to lurk's
** output. */
static int lb_lurk_log(lua_State *L)
{
  luaL_checkstring(L, 1);
  lua_getglobal(L, "string");
  lua_getfield(L, -1, "format");
  lua_insert(L, 1);
  lua_pop(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  log_out(s, n);
  log_out("\n", 1);
  return 0;
}

/* lurk.tid(): the calling thread's id (the kernel's tid). */
static int lb_lurk_tid(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)sys_gettid());
  return 1;
}

/* lurk.pid(): the process id. */
static int lb_lurk_pid(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)sys_getpid());
  return 1;
}

static const luaL_Reg lb_lurk_funcs[] = {
  { "log", lb_lurk_log }, { "tid", lb_lurk_tid }, { "pid", lb_lurk_pid },
  { NULL, NULL }
};

void lb_open_lurk(lua_State *L)
{
  luaL_register(L, "lurk", lb_lurk_funcs);
  lua_pushliteral(L, LURK_VERSION);
  lua_setfield(L, -2, "version");
  lb_event_open(L);
  lb_insn_open(L);
  lb_asm_open(L);
  lb_bb_open(L);
  lb_guard_open(L);
  lb_inl_open(L);
  lb_syscall_open(L);
  lb_mem_open(L);
  lb_mod_open(L);
  lb_prof_open(L);
  lb_wrap_open(L);
  lb_sym_open(L);
  lb_ctl_open(L);
  lb_shadow_open(L);
  lb_sys_open(L);
  lb_hc_open(L); /* last: the compiler knows lurk's functions by identity */
  lua_pop(L, 1);
}
