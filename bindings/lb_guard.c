/* lurk: guarded lookups from Lua: lurk.guard(handler) makes a guard (an
** indirect-branch table of its own, engine/cache.h cache_guard_new), and
** bb:guard(g [, lo, hi]) sends the block's indirect exit through it. A
** target the handler validated (returned true for) is then found by the
** lookup itself and costs nothing more; any other runs the handler, from the
** dispatcher, with ctx as before the branch. docs/lua-api.md, "Guards".
*/
#include "lb_int.h"
#include "../engine/bb.h"
#include "../engine/cache.h"
#include "../engine/thr.h"

static struct cc_site *lb_guard_sites[ARCH_GUARDS]; /* the handler of each guard */
static int lb_nguards;

/* nil, msg: an environmental failure, as Lua's libraries report one. */
static int lb_guard_fail(lua_State *L, const char *msg)
{
  lua_pushnil(L);
  lua_pushstring(L, msg);
  return 2;
}

/* lurk.guard(handler [, g]) -> g: a new guard whose handler(ctx, target,
** pc) decides a target its table does not hold yet; nil, msg when all are
** taken. With g: guard g gets handler instead (a reloaded tool's). */
static int lb_lurk_guard(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (!lua_isnoneornil(L, 2)) {
    lua_Integer g = luaL_checkinteger(L, 2);
    if (g < 1 || g > lb_nguards) luaL_argerror(L, 2, "not a guard (lurk.guard)");
    lb_guard_sites[g - 1]->handler = cc_site_get(lb_bb_const_site(L, 1, 0))->handler;
    lua_pushinteger(L, g);
    return 1;
  }
  if (lb_nguards == ARCH_GUARDS)
    return lb_guard_fail(L, "all guards are in use (4)");
  int g = cache_guard_new();
  if (g < 0) return lb_guard_fail(L, "no guard table left");
  struct cc_site *s = cc_site_get(lb_bb_const_site(L, 1, 0));
  s->nargs = 2;
  s->args[1] = s->args[0];
  lb_guard_sites[g] = s;
  lb_nguards = g + 1;
  lua_pushinteger(L, g + 1);
  return 1;
}

/* bb:guard(g [, lo, hi]): the indirect branch or return ending this block
** goes only to targets guard g validated, or to [lo, hi) unchecked. */
static int lb_bb_guard(lua_State *L)
{
  struct bb_plan *p = lb_bb_plan(L, 1);
  lua_Integer g = luaL_checkinteger(L, 2);
  if (g < 1 || g > lb_nguards) luaL_argerror(L, 2, "not a guard (lurk.guard)");
  uint64_t lo = lua_isnoneornil(L, 3) ? 0 : lb_ffi_check_u64(L, 3);
  uint64_t hi = lua_isnoneornil(L, 4) ? 0 : lb_ffi_check_u64(L, 4);
  if (hi < lo) luaL_argerror(L, 4, "below lo");
  p->guard = (uint8_t)g;
  p->guard_lo = lo;
  p->guard_hi = hi;
  return 0;
}

int lb_guard_miss(struct lurk_thread *t, int g, uint64_t pc, uint64_t target, int64_t delta)
{
  struct cc_site *s = lb_guard_sites[g];
  uint64_t *rsp = &t->tls.mctx.gpr[MCTX_RSP], newpc, v[2] = { target, pc };
  lb_lock_app(t, pc);
  *rsp += (uint64_t)delta; /* ctx: the state before the branch, at its pc */
  s->pc = pc;
  int ok = lb_cc_run(t, s, v, &newpc);
  if (newpc) {
    t->tls.mctx.rip = newpc; /* from the state before the branch */
    ok = 0;
  } else {
    *rsp -= (uint64_t)delta;
  }
  lb_unlock();
  return ok;
}

void lb_guard_open(lua_State *L)
{
  lua_pushcfunction(L, lb_lurk_guard);
  lua_setfield(L, -2, "guard");
  luaL_getmetatable(L, "lurk.bb");
  lua_getfield(L, -1, "methods");
  lua_pushcfunction(L, lb_bb_guard);
  lua_setfield(L, -2, "guard");
  lua_pop(L, 2);
}
