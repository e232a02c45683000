/* lurk: sampling from Lua: lurk.sampling(hz) and the `sample` event
** (engine/prof.h). */
#include "lb_int.h"
#include "../engine/prof.h"

static struct lurk_thread *lb_prof_cur; /* the thread whose sample event runs */

/* e:backtrace([n]): the sampled thread's call stack (as ctx:backtrace). */
static int lb_prof_backtrace(lua_State *L)
{
  struct lurk_thread *t = lb_prof_cur;
  if (!t) return luaL_error(L, "sample used outside its event");
  return lb_backtrace_push(L, &t->tls.mctx, t->tls.mctx.rip, 2);
}

/* The engine's hook: raise `sample` on thread t (app state in its mctx). */
static void lb_prof_sample(struct lurk_thread *t)
{
  if (!lb_event_wanted(LB_EV_sample)) return;
  const struct arch_mctx *m = &t->tls.mctx;
  lb_lock();
  lua_State *L = lb_event_new(4);
  lua_pushcfunction(L, lb_prof_backtrace);
  lua_setfield(L, -2, "backtrace");
  lua_pushinteger(L, t->tid);
  lua_setfield(L, -2, "tid");
  lua_pushnumber(L, (lua_Number)m->rip);
  lua_setfield(L, -2, "pc");
  lua_pushnumber(L, (lua_Number)m->gpr[MCTX_RSP]);
  lua_setfield(L, -2, "sp");
  lb_prof_cur = t;
  lb_fire(L, LB_EV_sample);
  lb_prof_cur = NULL;
  lb_unlock();
}

/* lurk.sampling([hz [, "perf"|"timer"]]): sample every thread hz times per
** second of its CPU time (0 stops); returns the rate in effect. Without
** argument: the rate, and how many ticks were dropped in lurk's own code. */
static int lb_lurk_sampling(lua_State *L)
{
  if (lua_isnoneornil(L, 1)) {
    lua_pushinteger(L, prof_rate());
    lua_pushnumber(L, (lua_Number)prof_dropped());
    return 2;
  }
  lua_Number hz = luaL_checknumber(L, 1);
  luaL_argcheck(L, hz >= 0 && hz <= 100000 && hz == (lua_Number)(unsigned)hz, 1,
                "rate must be an integer from 0 to 100000");
  static const char *const srcs[] = { "perf", "timer", NULL };
  int timer = luaL_checkoption(L, 2, "perf", srcs);
  long r = prof_start((unsigned)hz, timer);
  if (r < 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot start the sampling timers: %s", lb_strerror(r));
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)hz);
  return 1;
}

void lb_prof_open(lua_State *L)
{
  prof_set_hook(lb_prof_sample);
  lua_pushcfunction(L, lb_lurk_sampling);
  lua_setfield(L, -2, "sampling");
}
