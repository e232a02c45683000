/* lurk: the lurk module (global `lurk`, also require "lurk"): output,
** version, threads; events (lb_event.c) and decoding (lb_insn.c) add to it.
*/
#include "lb_int.h"
#include "../engine/log.h"
#include "../arch/arch.h"
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

/* lurk.app_state(f, ...): f(...) (a Lua function or an FFI function pointer) with the app's thread pointer loaded, so
** that app code f calls (an FFI pointer to the app's __errno_location, say)
** finds the app's thread-local data; DynamoRIO's dr_switch_to_app_state.
** With --early, lurk's own libc is not usable inside f. */
static int lb_lurk_app_state(lua_State *L)
{
  int t = lua_type(L, 1);
  luaL_argcheck(L, t == LUA_TFUNCTION || t == 10 /* LUA_TCDATA: an FFI function pointer */, 1,
                "function expected");
  uint64_t was = arch_fs_app();
  int err = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  arch_fs_restore(was);
  if (err) lua_error(L);
  return lua_gettop(L);
}

static const luaL_Reg lb_lurk_funcs[] = {
  { "log", lb_lurk_log }, { "tid", lb_lurk_tid }, { "pid", lb_lurk_pid },
  { "app_state", lb_lurk_app_state },
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
