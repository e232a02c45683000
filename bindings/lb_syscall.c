/* lurk: the syscall_pre / syscall_post events and lurk.syscall(x), the
** table of system calls (arch/sysinfo.h) as scripts see it.
** Values cross into Lua as signed 64-bit integers: a number when |v| <=
** 2^53 (every user address, -1, -errno), an int64_t cdata beyond (lb_ffi.c),
** so every value goes back bit for bit; handlers may assign numbers or
** 64-bit cdata.
*/
#include "lb_int.h"
#include "../engine/thr.h"
#include "../arch/sysinfo.h"

#define LB_SC_META "lurk.syscall_event"


/* e:skip([result]): do not make the call; the app sees result (default 0). */
static int lb_sc_skip(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  uint64_t r = lua_isnoneornil(L, 2) ? 0 : lb_ffi_check_u64(L, 2);
  lua_pushboolean(L, 1);
  lua_setfield(L, 1, "skipped");
  lb_ffi_push_i64(L, (int64_t)r);
  lua_setfield(L, 1, "result");
  return 0;
}

/* Push the event table {number, name, tid, args}. */
static lua_State *lb_sc_event(long nr, uint64_t *const args[6], long tid)
{
  lua_State *L = lb_event_new(6);
  lua_pushinteger(L, (lua_Integer)nr);
  lua_setfield(L, -2, "number");
  const struct sysinfo *si = sysinfo_get(nr);
  if (si) lua_pushstring(L, si->name);
  else lua_pushfstring(L, "syscall_%d", (int)nr);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, (lua_Integer)tid);
  lua_setfield(L, -2, "tid");
  lua_createtable(L, 6, 0);
  for (int i = 0; i < 6; i++) {
    lb_ffi_push_i64(L, (int64_t)*args[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "args");
  return L;
}

/* After the handlers: write back the arguments they changed. The event
** table is on top. */
static void lb_sc_writeback(lua_State *L, uint64_t *const args[6])
{
  lua_getfield(L, -1, "args");
  if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
  for (int i = 0; i < 6; i++) {
    uint64_t v;
    lua_rawgeti(L, -1, i + 1);
    if (lb_ffi_to_u64(L, -1, &v)) *args[i] = v;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

int lb_event_syscall_pre(long nr, uint64_t *const args[6], long tid, uint64_t *result)
{
  if (!lb_event_syscall_wanted(LB_EV_syscall_pre, nr)) return 0;
  lb_lock_app(thr_self(), thr_self()->tls.mctx.rip);
  lua_State *L = lb_sc_event(nr, args, tid);
  luaL_getmetatable(L, LB_SC_META); /* e:skip */
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1); /* kept below the one lb_fire pops */
  lb_fire_sc(L, LB_EV_syscall_pre, nr);
  lb_sc_writeback(L, args);
  lua_getfield(L, -1, "skipped");
  int skip = lua_toboolean(L, -1);
  lua_getfield(L, -2, "result");
  if (skip && !lb_ffi_to_u64(L, -1, result)) *result = 0;
  lua_pop(L, 3);
  lb_unlock();
  return skip;
}

uint64_t lb_event_syscall_post(long nr, uint64_t *const args[6], long tid, uint64_t result,
                               int skipped)
{
  if (!lb_event_syscall_wanted(LB_EV_syscall_post, nr)) return result;
  lb_lock_app(thr_self(), thr_self()->tls.mctx.rip);
  lua_State *L = lb_sc_event(nr, args, tid);
  lb_ffi_push_i64(L, (int64_t)result);
  lua_setfield(L, -2, "result");
  if (skipped) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "skipped");
  }
  lua_pushvalue(L, -1);
  lb_fire_sc(L, LB_EV_syscall_post, nr);
  lua_getfield(L, -1, "result");
  uint64_t v;
  if (lb_ffi_to_u64(L, -1, &v)) result = v;
  lua_pop(L, 2);
  lb_unlock();
  return result;
}

/* -- lurk.syscall(x) ---------------------------------------------------- */

/* lurk.syscall(number | name): {number, name, args = {kinds}, ret = kind},
** or nil for a call the arch does not have. One table per call, cached. */
static int lb_lurk_syscall(lua_State *L)
{
  const struct sysinfo *si;
  if (lua_type(L, 1) == LUA_TNUMBER) si = sysinfo_get((long)lua_tointeger(L, 1));
  else if (lua_type(L, 1) == LUA_TSTRING) si = sysinfo_find(lua_tostring(L, 1));
  else return luaL_typerror(L, 1, "number or string");
  if (!si) { lua_pushnil(L); return 1; }
  lua_getfield(L, LUA_REGISTRYINDEX, "lurk.syscalls");
  lua_rawgeti(L, -1, si->nr);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, si->nr);
  lua_setfield(L, -2, "number");
  lua_pushstring(L, si->name);
  lua_setfield(L, -2, "name");
  lua_pushstring(L, sysinfo_kind_name(si->ret));
  lua_setfield(L, -2, "ret");
  int n = (int)lurk_strlen(si->args);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, sysinfo_kind_name(si->args[i]));
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "args");
  lua_pushvalue(L, -1);
  lua_rawseti(L, -3, si->nr);
  return 1;
}

void lb_syscall_open(lua_State *L)
{
  lua_pushcfunction(L, lb_lurk_syscall);
  lua_setfield(L, -2, "syscall");
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "lurk.syscalls");
  luaL_newmetatable(L, LB_SC_META);
  lua_newtable(L);
  lua_pushcfunction(L, lb_sc_skip);
  lua_setfield(L, -2, "skip");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
