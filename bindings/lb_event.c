/* lurk: the event registry (lurk.on / lurk.off) and the entry points the
** engine calls to raise events. Handlers of one event run in drmgr's order:
** stage (bb only: app2app, analysis, insertion, cleanup), then priority
** (lower first, default 0), then registration order. All Lua runs under one
** lock (a futex mutex), so handlers never run concurrently.
*/
#include <linux/futex.h>
#include "lb_int.h"
#include "../engine/park.h"
#include "../engine/thr.h"
#include "lb_events.h"
#include "../engine/lock.h"
#include "../engine/log.h"
#include "../arch/x86_64/syscall.h"
#include "../arch/sysinfo.h"

static const char *const lb_event_names[] = {
#define LB_EVNAME(name) #name,
  LB_EVENTDEF(LB_EVNAME)
#undef LB_EVNAME
  NULL
};

static const char *const lb_stage_names[] = {
#define LB_STNAME(name) #name,
  LB_STAGEDEF(LB_STNAME)
#undef LB_STNAME
  NULL
};

/* Handlers per event (read without the lock by lb_event_wanted). */
static int lb_count[LB_EV__MAX];
static double lb_seq;
/* Every bb handler took `superblocks = true` (lb_event_bb_superblocks). */
static int lb_bb_sb;

/* The syscall filter (lurk.on's `only`): per syscall event, the numbers some
** handler wants (bit nr), or all of them (a handler without `only`). Read
** without the lock by lb_event_syscall_wanted. */
#define LB_SC_BITS 512
static uint64_t lb_sc_bits[2][LB_SC_BITS / 64];
static int lb_sc_all[2];
#define LB_SC_SLOT(ev) ((ev) == LB_EV_syscall_post)

/* -- The lock ---------------------------------------------------------- */

static struct lurk_lock lb_lk = LOCK_INIT;

/* Taking the lock is where Lua is about to run: the counters of inlined
** clean calls are folded in first. */
void lb_lock(void)
{
  lock_acquire(&lb_lk);
  lb_inl_sync();
}
void lb_unlock(void) { lock_release(&lb_lk); }

/* The Lua lock for Lua run on behalf of app thread t at app pc: while a
** stop is in force, t waits without the lock first, so no handler runs
** between lurk.stop() and lurk.cont() (it may have been waiting for the
** lock the stopping evaluation held). */
void lb_lock_app(struct lurk_thread *t, uint64_t pc)
{
  lb_lock();
  while (park_hold_wanted()) {
    lb_unlock();
    park_hold(t, pc);
    lb_lock();
  }
}

/* Held across fork by the forking thread: the child's copy of the Lua
** state is then consistent, and the child releases it (lb_event_fork). */
/* The child must not write the parent's pending output a second time. */
void lb_fork_prepare(void) { lb_lock(); lb_hc_fork_prepare(); if (lb_L) lb_io_flush_all(lb_L); }
void lb_fork_finish(void) { lb_unlock(); }

/* -- Registry ---------------------------------------------------------- */

/* registry["lurk.handlers"][ev+1]: entries {fn, stage, priority, seq} in
** run order; registry["lurk.handler_fns"][ev+1]: just the functions,
** rebuilt (never edited in place) on every change, so a handler may call
** lurk.on/off while its event is being raised. */
#define LB_HANDLERS "lurk.handlers"
#define LB_FNS "lurk.handler_fns"
#define LB_FILTERS "lurk.handler_filters" /* per ev: the entries' `only` sets (or false) */

static int lb_event_check(lua_State *L, int arg)
{
  const char *name = luaL_checkstring(L, arg);
  for (int i = 0; lb_event_names[i]; i++)
    if (!lurk_strcmp(name, lb_event_names[i])) return i;
  return luaL_argerror(L, arg, lua_pushfstring(L, "unknown event '%s'", name));
}

/* Push registry[key][ev+1], creating it. */
static void lb_event_list(lua_State *L, const char *key, int ev)
{
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  lua_rawgeti(L, -1, ev + 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, ev + 1);
  }
  lua_remove(L, -2);
}

static lua_Number lb_entry_num(lua_State *L, int t, int i)
{
  lua_rawgeti(L, t, i);
  lua_Number v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Does entry a run before entry b? */
static int lb_entry_before(lua_State *L, int a, int b)
{
  for (int k = 2; k <= 4; k++) {
    lua_Number x = lb_entry_num(L, a, k), y = lb_entry_num(L, b, k);
    if (x != y) return x < y;
  }
  return 0;
}

/* Rebuild the function array of ev from its entries (on top). */
static void lb_event_rebuild(lua_State *L, int ev)
{
  int entries = lua_gettop(L);
  int n = (int)lua_objlen(L, entries);
  lua_getfield(L, LUA_REGISTRYINDEX, LB_FNS);
  lua_createtable(L, n, 0);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, entries, i);
    lua_rawgeti(L, -1, 1);
    lua_rawseti(L, -3, i);
    lua_pop(L, 1);
  }
  lua_rawseti(L, -2, ev + 1);
  lua_pop(L, 1);
  if (ev == LB_EV_bb) {
    int all = n > 0;
    for (int i = 1; i <= n && all; i++) {
      lua_rawgeti(L, entries, i);
      lua_rawgeti(L, -1, 6);
      all = lua_toboolean(L, -1);
      lua_pop(L, 2);
    }
    __atomic_store_n(&lb_bb_sb, all, __ATOMIC_RELAXED);
  }
  if (ev == LB_EV_syscall_pre || ev == LB_EV_syscall_post) {
    int k = LB_SC_SLOT(ev), all = 0;
    uint64_t bits[LB_SC_BITS / 64] = { 0 };
    lua_getfield(L, LUA_REGISTRYINDEX, LB_FILTERS);
    lua_createtable(L, n, 0);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, entries, i);
      lua_rawgeti(L, -1, 5);
      if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          long nr = (long)lua_tointeger(L, -2);
          if (nr >= 0 && nr < LB_SC_BITS) bits[nr / 64] |= 1ull << (nr % 64);
          lua_pop(L, 1);
        }
      } else {
        all = 1;
        lua_pop(L, 1);
        lua_pushboolean(L, 0);
      }
      lua_rawseti(L, -3, i);
      lua_pop(L, 1);
    }
    lua_rawseti(L, -2, ev + 1);
    lua_pop(L, 1);
    for (int i = 0; i < LB_SC_BITS / 64; i++) __atomic_store_n(&lb_sc_bits[k][i], bits[i], __ATOMIC_RELAXED);
    __atomic_store_n(&lb_sc_all[k], all, __ATOMIC_RELAXED);
  }
  lb_count[ev] = n;
}

/* The `only` option at index i: a set {nr = true} on top (names or numbers). */
static void lb_event_only(lua_State *L, int i)
{
  if (!lua_istable(L, i)) luaL_argerror(L, 3, "'only' must be a list of system call names or numbers");
  lua_newtable(L);
  int n = (int)lua_objlen(L, i);
  for (int k = 1; k <= n; k++) {
    lua_rawgeti(L, i, k);
    const struct sysinfo *si = NULL;
    if (lua_type(L, -1) == LUA_TNUMBER) si = sysinfo_get((long)lua_tointeger(L, -1));
    else if (lua_type(L, -1) == LUA_TSTRING) si = sysinfo_find(lua_tostring(L, -1));
    if (!si) {
      const char *w = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : "?";
      luaL_argerror(L, 3, lua_pushfstring(L, "unknown system call '%s' in 'only'", w));
    }
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
    lua_rawseti(L, -2, (int)si->nr);
  }
}

/* lurk.on(event, fn [, {priority = n, stage = s}]): add a handler. */
static int lb_lurk_on(lua_State *L)
{
  int ev = lb_event_check(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_Number prio = 0;
  int stage = ev == LB_EV_bb ? LB_STAGE_DEFAULT : 0;
  int only = LUA_NOREF; /* the `only` set, in the registry */
  int sb = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
      if (!lurk_strcmp(k, "priority")) {
        if (!lua_isnumber(L, -1)) luaL_argerror(L, 3, "priority must be a number");
        prio = lua_tonumber(L, -1);
      } else if (!lurk_strcmp(k, "stage")) {
        if (ev != LB_EV_bb) luaL_argerror(L, 3, "only 'bb' handlers have a stage");
        const char *s = lua_tostring(L, -1);
        int i = 0;
        while (lb_stage_names[i] && (!s || lurk_strcmp(s, lb_stage_names[i]))) i++;
        if (!lb_stage_names[i])
          luaL_argerror(L, 3, lua_pushfstring(L, "unknown stage '%s'", s ? s : "?"));
        stage = i;
      } else if (!lurk_strcmp(k, "superblocks")) {
        if (ev != LB_EV_bb) luaL_argerror(L, 3, "only 'bb' handlers take superblocks");
        sb = lua_toboolean(L, -1);
      } else if (!lurk_strcmp(k, "only")) {
        if (ev != LB_EV_syscall_pre && ev != LB_EV_syscall_post)
          luaL_argerror(L, 3, "only 'syscall_pre' and 'syscall_post' handlers have 'only'");
        if (only != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, only);
        lb_event_only(L, lua_gettop(L));
        only = luaL_ref(L, LUA_REGISTRYINDEX);
      } else {
        luaL_argerror(L, 3, lua_pushfstring(L, "unknown option '%s'", k));
      }
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 2);
  lb_event_list(L, LB_HANDLERS, ev);               /* 3: entries */
  lua_createtable(L, 4, 0);                         /* 4: the new entry */
  lua_pushvalue(L, 2); lua_rawseti(L, 4, 1);
  lua_pushinteger(L, stage); lua_rawseti(L, 4, 2);
  lua_pushnumber(L, prio); lua_rawseti(L, 4, 3);
  lua_pushnumber(L, ++lb_seq); lua_rawseti(L, 4, 4);
  if (only != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, only);
    lua_rawseti(L, 4, 5);
    luaL_unref(L, LUA_REGISTRYINDEX, only);
  }
  lua_pushboolean(L, sb); lua_rawseti(L, 4, 6);
  int n = (int)lua_objlen(L, 3), at = n + 1;
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 3, i);
    int before = lb_entry_before(L, 4, lua_gettop(L));
    lua_pop(L, 1);
    if (before) { at = i; break; }
  }
  for (int i = n; i >= at; i--) { lua_rawgeti(L, 3, i); lua_rawseti(L, 3, i + 1); }
  lua_pushvalue(L, 4);
  lua_rawseti(L, 3, at);
  lua_settop(L, 3);
  lb_event_rebuild(L, ev);
  return 0;
}

/* lurk.off(event, fn): remove fn's first registration; true if found. */
static int lb_lurk_off(lua_State *L)
{
  int ev = lb_event_check(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  lb_event_list(L, LB_HANDLERS, ev);
  int n = (int)lua_objlen(L, 3), found = 0;
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 3, i);
    lua_rawgeti(L, -1, 1);
    found = lua_rawequal(L, -1, 2);
    lua_pop(L, 2);
    if (found) {
      for (; i < n; i++) { lua_rawgeti(L, 3, i + 1); lua_rawseti(L, 3, i); }
      lua_pushnil(L);
      lua_rawseti(L, 3, n);
      break;
    }
  }
  lb_event_rebuild(L, ev);
  lua_pushboolean(L, found);
  return 1;
}

/* -- Raising events ---------------------------------------------------- */

/* Call every handler of ev with the event table on top (popped). An error
** in a handler ends the run: message, file:line, traceback, status 1. */
static void lb_fire_nr(lua_State *L, int ev, long nr);
void lb_fire(lua_State *L, int ev) { lb_fire_nr(L, ev, -1); }
void lb_fire_sc(lua_State *L, int ev, long nr) { lb_fire_nr(L, ev, nr); }

/* nr >= 0: a syscall event for call nr; handlers whose `only` leaves it
** out are not called. */
static void lb_fire_nr(lua_State *L, int ev, long nr)
{
  int t = lua_gettop(L);
  lua_pushstring(L, lb_event_names[ev]);
  lua_setfield(L, t, "event");
  lua_getfield(L, LUA_REGISTRYINDEX, LB_FNS);
  lua_rawgeti(L, -1, ev + 1);                        /* t+2: this snapshot */
  int n = lua_istable(L, -1) ? (int)lua_objlen(L, -1) : 0;
  lua_pushcfunction(L, lb_traceback);                /* t+3 */
  if (nr >= 0) {
    lua_getfield(L, LUA_REGISTRYINDEX, LB_FILTERS);
    lua_rawgeti(L, -1, ev + 1);                      /* t+5: the filters */
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  for (int i = 1; i <= n; i++) {
    if (nr >= 0 && lua_istable(L, t + 5)) {
      lua_rawgeti(L, t + 5, i);
      int skip = 0;
      if (lua_istable(L, -1)) {
        lua_rawgeti(L, -1, (int)nr);
        skip = nr > 0x7fffffff || lua_isnil(L, -1);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      if (skip) continue;
    }
    lua_rawgeti(L, t + 2, i);
    lua_pushvalue(L, t);
    if (lua_pcall(L, 1, 0, t + 3) != 0) {
      const char *msg = lua_tostring(L, -1);
      lua_pushfstring(L, "error in a '%s' handler: %s", lb_event_names[ev],
                      msg ? msg : "(error object is not a string)");
      lb_fail(L);
    }
  }
  lua_settop(L, t - 1);
}

/* Push a new event table with room for n more fields. */
lua_State *lb_event_new(int n)
{
  lua_createtable(lb_L, 0, n + 1);
  return lb_L;
}

/* Push the per-thread data table of tid (created on first use). */
static void lb_thread_data(lua_State *L, long tid)
{
  lua_getfield(L, LUA_REGISTRYINDEX, "lurk.threads");
  lua_rawgeti(L, -1, (int)tid);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, (int)tid);
  }
  lua_remove(L, -2);
}

/* lurk.thread_data([tid]): the data table of the calling thread (or tid),
** the same one the thread_init and thread_exit handlers get. */
static int lb_lurk_thread_data(lua_State *L)
{
  long tid = lua_isnoneornil(L, 1) ? sys_gettid() : (long)luaL_checkinteger(L, 1);
  lb_thread_data(L, tid);
  return 1;
}

static int lb_exit_done;

/* Raise `exit` once per process (the engine at exit_group, or os.exit). */
static void lb_exit_handlers(lua_State *L, int status)
{
  if (lb_exit_done) return;
  lb_exit_done = 1;
  if (lb_count[LB_EV_exit]) {
    lb_event_new(1);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lb_fire(L, LB_EV_exit);
  }
  lb_io_flush_all(L);
}

/* os.exit: runs on a thread that holds the lock (or before takeover). */
void lb_exit(lua_State *L, int status)
{
  lb_exit_handlers(L, status);
  sys_exit_group(status);
  __builtin_unreachable();
}

/* -- Entry points for the engine (lb.h) ---------------------------------- */

int lb_event_bb_superblocks(void)
{
  return lb_L && __atomic_load_n(&lb_bb_sb, __ATOMIC_RELAXED);
}

int lb_event_wanted(int ev)
{
  return lb_L && ev >= 0 && ev < LB_EV__MAX && __atomic_load_n(&lb_count[ev], __ATOMIC_RELAXED);
}

int lb_event_syscall_wanted(int ev, long nr)
{
  if (!lb_event_wanted(ev)) return 0;
  int k = LB_SC_SLOT(ev);
  if (__atomic_load_n(&lb_sc_all[k], __ATOMIC_RELAXED)) return 1;
  if (nr < 0 || nr >= LB_SC_BITS) return 0;
  return (__atomic_load_n(&lb_sc_bits[k][nr / 64], __ATOMIC_RELAXED) >> (nr % 64)) & 1;
}

void lb_event_init(void)
{
  if (!lb_L) return;
  lb_lock();
  if (lb_count[LB_EV_init]) lb_fire(lb_event_new(0), LB_EV_init);
  lb_unlock();
}

void lb_event_exit(int status)
{
  if (!lb_L) return;
  lb_lock();
  lb_buf_exit(); /* the records every thread still holds, before the handlers */
  lb_exit_handlers(lb_L, status);
  lb_hc_explain(lb_L);
  lb_unlock();
}

/* thread_init/thread_exit: {tid, data}; data is dropped after thread_exit. */
static void lb_event_thread(int ev, long tid)
{
  lua_State *L = lb_L;
  lb_lock();
  if (ev == LB_EV_thread_exit) lb_buf_thread_exit(thr_self()); /* its records first */
  else lb_hash_thread_init(thr_self());
  if (lb_count[ev]) {
    lb_event_new(2);
    lua_pushinteger(L, (lua_Integer)tid);
    lua_setfield(L, -2, "tid");
    lb_thread_data(L, tid);
    lua_setfield(L, -2, "data");
    lb_fire(L, ev);
  }
  if (ev == LB_EV_thread_exit) {
    lb_hc_retire(thr_self()); /* its counter cells outlive it */
    lua_getfield(L, LUA_REGISTRYINDEX, "lurk.threads");
    lua_pushnil(L);
    lua_rawseti(L, -2, (int)tid);
    lua_pop(L, 1);
  }
  lb_unlock();
}

void lb_event_thread_init(long tid)
{
  if (lb_L) lb_event_thread(LB_EV_thread_init, tid);
}

void lb_event_thread_exit(long tid)
{
  if (lb_L) lb_event_thread(LB_EV_thread_exit, tid);
}

void lb_event_fork(long parent_tid)
{
  lb_hc_fork_child();
  if (!lb_L) return;
  lua_State *L = lb_L;
  lb_exit_done = 0;
  lb_lock();
  long tid = sys_gettid();
  lb_thread_data(L, parent_tid);
  lua_newtable(L);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, (int)tid);
  lua_setfield(L, LUA_REGISTRYINDEX, "lurk.threads");
  lua_pop(L, 1);
  if (lb_count[LB_EV_fork]) {
    lb_event_new(2);
    lua_pushinteger(L, (lua_Integer)sys_getpid());
    lua_setfield(L, -2, "pid");
    lua_pushinteger(L, (lua_Integer)sys_call0(SYS_getppid));
    lua_setfield(L, -2, "ppid");
    lb_fire(L, LB_EV_fork);
  }
  lb_unlock();
}

void lb_event_entry(uint64_t pc)
{
  if (!lb_L) return;
  lua_State *L = lb_L;
  lb_lock();
  if (lb_count[LB_EV_entry]) {
    lb_event_new(1);
    lua_pushnumber(L, (lua_Number)pc);
    lua_setfield(L, -2, "pc");
    lb_fire(L, LB_EV_entry);
  }
  lb_unlock();
}

void lb_event_exec(const char *path, char *const argv[])
{
  if (!lb_L) return;
  lua_State *L = lb_L;
  lb_lock();
  if (lb_count[LB_EV_exec]) {
    lb_event_new(2);
    lua_pushstring(L, path);
    lua_setfield(L, -2, "path");
    lua_newtable(L);
    for (int i = 0; argv && argv[i]; i++) {
      lua_pushstring(L, argv[i]);
      lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "argv");
    lb_fire(L, LB_EV_exec);
  }
  lb_io_flush_all(L);
  lb_unlock();
}

/* -- signal ---------------------------------------------------------------- */

/* e:suppress(): the signal is not delivered (not for a fault). */
static int lb_sig_suppress(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "sync");
  if (lua_toboolean(L, -1))
    luaL_error(L, "a fault cannot be suppressed (the instruction would fault again)");
  lua_pushboolean(L, 1);
  lua_setfield(L, 1, "suppressed");
  return 0;
}

int lb_event_signal(int sig, const void *info, long tid, uint64_t pc, int action, int sync)
{
  static const char *const actions[] = { "default", "ignore", "handler" };
  lua_State *L = lb_L;
  if (!L) return 0;
  const int32_t *si = info;
  uint64_t addr;
  lurk_memcpy(&addr, (const uint8_t *)info + 16, 8);
  lb_lock();
  lb_event_new(9);
  lua_pushinteger(L, sig);
  lua_setfield(L, -2, "signal");
  lua_pushinteger(L, si[2]);
  lua_setfield(L, -2, "code");
  lua_pushinteger(L, (lua_Integer)tid);
  lua_setfield(L, -2, "tid");
  lua_pushnumber(L, (lua_Number)pc);
  lua_setfield(L, -2, "pc");
  if (sig == 4 || sig == 7 || sig == 8 || sig == 11 || sig == 5) { /* si_addr: faults */
    lua_pushnumber(L, (lua_Number)addr);
    lua_setfield(L, -2, "addr");
  }
  lua_pushstring(L, actions[action]);
  lua_setfield(L, -2, "action");
  lua_pushboolean(L, sync);
  lua_setfield(L, -2, "sync");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "suppressed");
  lua_pushcfunction(L, lb_sig_suppress);
  lua_setfield(L, -2, "suppress");
  lua_pushvalue(L, -1); /* kept below the one lb_fire pops */
  lb_fire(L, LB_EV_signal);
  lua_getfield(L, -1, "suppressed");
  int r = lua_toboolean(L, -1) && !sync;
  lua_pop(L, 2);
  lb_unlock();
  return r;
}

/* module_load/module_unload: the module's table (lb_mod.c). */
static void lb_event_module(int ev, const struct lb_module *m)
{
  if (!lb_event_wanted(ev)) return;
  lua_State *L = lb_L;
  lb_lock();
  lb_event_new(7);
  lb_module_fields(L, m);
  lb_fire(L, ev);
  lb_unlock();
}

void lb_event_module_load(const struct lb_module *m) { lb_event_module(LB_EV_module_load, m); }
void lb_event_module_unload(const struct lb_module *m) { lb_event_module(LB_EV_module_unload, m); }

/* -- Opening ------------------------------------------------------------- */

static const luaL_Reg lb_event_funcs[] = {
  { "on", lb_lurk_on }, { "off", lb_lurk_off }, { "thread_data", lb_lurk_thread_data },
  { NULL, NULL }
};

/* Add on/off/thread_data/events/stages to the lurk table on top. */
void lb_event_open(lua_State *L)
{
  luaL_register(L, NULL, lb_event_funcs);
  lua_newtable(L);
  for (int i = 0; lb_event_names[i]; i++) {
    lua_pushstring(L, lb_event_names[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "events");
  lua_newtable(L);
  for (int i = 0; lb_stage_names[i]; i++) {
    lua_pushstring(L, lb_stage_names[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "stages");
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_HANDLERS);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_FNS);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_FILTERS);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "lurk.threads");
}
