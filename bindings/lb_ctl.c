/* lurk: the control channel's requests (engine/ctl.h), and lurk.threads()
** and lurk.stats(). A request runs lua/lurk/repl.lua's serve on the
** channel's thread under the Lua lock, as an event handler would.
*/
#include <fcntl.h>
#include "lb_int.h"
#include "../engine/cache.h"
#include "../engine/ctl.h"
#include "../engine/lock.h"
#include "../engine/log.h"
#include "../engine/park.h"
#include "../engine/thr.h"
#include "../arch/x86_64/syscall.h"

#define LB_CTL_SERVE "lurk.ctl_serve"

extern char lurk_sys_app_done[];

/* send(kind, s): one message to the client. */
static int lb_ctl_send(lua_State *L)
{
  size_t n;
  const char *k = luaL_checkstring(L, 1);
  const char *s = luaL_checklstring(L, 2, &n);
  ctl_send(k[0], s, n);
  return 0;
}

/* interrupted(): has the client asked to stop the request (or gone)? */
static int lb_ctl_intr(lua_State *L)
{
  lua_pushboolean(L, ctl_interrupted());
  return 1;
}

/* serve(kind, payload), resolved on the first request. */
static const char lb_ctl_glue[] =
  "local send, intr = ...\n"
  "local serve\n"
  "return function(kind, payload)\n"
  "  if not serve then serve = require('lurk.repl').serve end\n"
  "  return serve(kind, payload, send, intr)\n"
  "end\n";

static void lb_ctl_request(int kind, const char *p, size_t n)
{
  lb_lock();
  lua_State *L = lb_L;
  int top = lua_gettop(L);
  char k = (char)kind;
  lua_pushcfunction(L, lb_traceback);
  lua_getfield(L, LUA_REGISTRYINDEX, LB_CTL_SERVE);
  lua_pushlstring(L, &k, 1);
  lua_pushlstring(L, p, n);
  if (lua_pcall(L, 2, 0, top + 1) != 0) {
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    if (!msg) msg = "(error object is not a string)", len = lurk_strlen(msg);
    ctl_send(CTL_ERR, msg, len);
  }
  lua_settop(L, top);
  lb_unlock();
}

void lb_ctl_init(lua_State *L)
{
  if (luaL_loadbuffer(L, lb_ctl_glue, sizeof lb_ctl_glue - 1, "=lb_ctl")) lb_fail(L);
  lua_pushcfunction(L, lb_ctl_send);
  lua_pushcfunction(L, lb_ctl_intr);
  lua_call(L, 2, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_CTL_SERVE);
  ctl_hooks.request = lb_ctl_request;
}

/* -- lurk.threads ------------------------------------------------------------ */

/* /proc/self/task/TID/syscall: -1 "running", else the syscall number, and
** the user pc it was made from in *pc. */
static long lb_ctl_task_syscall(int tid, uint64_t *pc)
{
  char path[64], buf[256];
  log_snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
  long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return -2;
  long n = sys_read(fd, buf, sizeof buf - 1);
  sys_close(fd);
  if (n <= 0) return -2;
  buf[n] = 0;
  if (buf[0] < '0' || buf[0] > '9') return -1;
  long nr = 0;
  const char *s = buf;
  while (*s >= '0' && *s <= '9') nr = nr * 10 + (*s++ - '0');
  const char *last = s;
  for (; *s; s++) if (*s == ' ') last = s + 1;
  uint64_t v = 0;
  if (last[0] == '0' && last[1] == 'x') last += 2;
  for (; *last && *last != '\n'; last++) {
    int c = *last;
    v = v * 16 + (uint64_t)(c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
  }
  *pc = v;
  return nr;
}

/* lurk.threads(): {tid, state, pc, syscall} for each app thread. state:
** "running" (pc unknown, except the calling thread's inside a clean call),
** "syscall" (blocked in the app's system call; pc is the app pc after it),
** "engine" (blocked inside lurk, e.g. waiting for the Lua lock). */
static int lb_ctl_threads(lua_State *L)
{
  int tids[1024];
  uint64_t rips[1024];
  int parked[1024];
  int n = 0;
  thr_lock();
  for (struct lurk_thread *t = thr_list; t && n < 1024; t = t->next) {
    tids[n] = t->tid;
    int ps = __atomic_load_n(&t->park_state, __ATOMIC_SEQ_CST);
    parked[n] = ps == PARK_PARKED || ps == PARK_HELD;
    rips[n++] = ps == PARK_HELD ? t->park_pc : t->tls.mctx.rip;
  }
  thr_unlock();
  int self = (int)sys_gettid();
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    /* oldest first: the list is newest first */
    int k = n - 1 - i;
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, tids[k]);
    lua_setfield(L, -2, "tid");
    uint64_t upc = 0, pc;
    long nr = tids[k] == self ? -1 : lb_ctl_task_syscall(tids[k], &upc);
    if (parked[k]) { /* lurk.stop: at rips[k] (its app state whole, unless held in a call) */
      lua_pushliteral(L, "stopped");
      lua_setfield(L, -2, "state");
      lb_ffi_push_u64(L, rips[k]);
      lua_setfield(L, -2, "pc");
    } else if (nr == -1) {
      lua_pushliteral(L, "running");
      lua_setfield(L, -2, "state");
      if (tids[k] == self && lb_cc_context(&pc)) {
        lb_ffi_push_u64(L, pc);
        lua_setfield(L, -2, "pc");
      }
    } else if (nr >= 0) {
      int app = upc == (uint64_t)lurk_sys_app_done;
      lua_pushstring(L, app ? "syscall" : "engine");
      lua_setfield(L, -2, "state");
      if (app) {
        lb_ffi_push_u64(L, rips[k]);
        lua_setfield(L, -2, "pc");
        lua_getglobal(L, "lurk");
        lua_getfield(L, -1, "syscall");
        lua_pushinteger(L, nr);
        lua_call(L, 1, 1);
        if (lua_istable(L, -1)) lua_getfield(L, -1, "name");
        else lua_pushinteger(L, nr);
        lua_setfield(L, -4, "syscall");
        lua_pop(L, 2);
      }
    } else {
      lua_pushliteral(L, "gone");
      lua_setfield(L, -2, "state");
    }
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* lurk.stats(): the engine's counters (those --stats prints), now. */
static int lb_ctl_stats(lua_State *L)
{
  lua_createtable(L, 0, 16);
#define STATSET(f, d)                                                          \
  lb_ffi_push_u64(L, __atomic_load_n(&stats.f, __ATOMIC_RELAXED) +            \
                         (&stats.f == &stats.ibl_lookups ? thr_ibl_count() : 0)); \
  lua_setfield(L, -2, #f);
  STATDEF(STATSET)
#undef STATSET
  uint64_t contended, slept;
  lock_counts(&contended, &slept);
  lb_ffi_push_u64(L, contended);
  lua_setfield(L, -2, "lock_contended");
  lb_ffi_push_u64(L, slept);
  lua_setfield(L, -2, "lock_sleeps");
  return 1;
}

/* -- lurk.flush ---------------------------------------------------------------- */

/* lurk.flush([lo, hi] | module): blocks built from [lo, hi) (a module's
** [base, end), or all code) are translated again when next reached. */
static int lb_ctl_flush(lua_State *L)
{
  uint64_t lo = 0, hi = ~0ull;
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "base");
    lua_getfield(L, 1, "end");
    if (!lb_ffi_to_u64(L, -2, &lo) || !lb_ffi_to_u64(L, -1, &hi))
      return luaL_argerror(L, 1, "table without 'base' and 'end' (a module, or an address range)");
    lua_pop(L, 2);
  } else if (!lua_isnoneornil(L, 1)) {
    lo = lb_ffi_check_u64(L, 1);
    hi = lb_ffi_check_u64(L, 2);
  }
  luaL_argcheck(L, lo < hi, lua_istable(L, 1) ? 1 : 2, "empty range");
  cache_flush_request(lo, hi);
  return 0;
}

/* -- lurk.stop / lurk.cont / lurk.detach ----------------------------------------- */

/* lurk.stop(): park every app thread; true, or nil and how many did not stop. */
static int lb_ctl_stop(lua_State *L)
{
  if (park_detached()) { lua_pushnil(L); lua_pushliteral(L, "detached"); return 2; }
  int left = park_stop();
  if (!left) { lua_pushboolean(L, 1); return 1; }
  lua_pushnil(L);
  lua_pushfstring(L, "%d thread%s did not stop (signal %d blocked?)", left, left == 1 ? "" : "s", PARK_SIG);
  return 2;
}

static int lb_ctl_cont(lua_State *L)
{
  park_cont();
  (void)L;
  return 0;
}

static int lb_ctl_stopped(lua_State *L)
{
  lua_pushboolean(L, park_stopped() && !park_detached());
  return 1;
}

/* lurk.detach(): every thread back to native execution. Only from the
** control channel (the caller must not be an app thread in the cache). */
static int lb_ctl_detach(lua_State *L)
{
  if (!ctl_is_self()) return luaL_error(L, "lurk.detach: only from the control channel (lurk nudge, lurk repl)");
  if (park_detached()) { lua_pushboolean(L, 1); return 1; }
  log_flush();
  /* Without the Lua lock meanwhile: a thread waiting for it in a clean
  ** call would otherwise step to its park point after the program's
  ** signal dispositions are back (park_detach waits for it). Nothing of
  ** this call's Lua is touched until the lock is taken again. */
  lb_unlock();
  int left = park_detach();
  lb_lock();
  if (!left) { lua_pushboolean(L, 1); return 1; }
  lua_pushnil(L);
  lua_pushfstring(L, "%d thread%s did not stop: not detached", left, left == 1 ? "" : "s");
  return 2;
}

static const luaL_Reg lb_ctl_funcs[] = {
  { "stop", lb_ctl_stop }, { "cont", lb_ctl_cont }, { "stopped", lb_ctl_stopped },
  { "detach", lb_ctl_detach },
  { "threads", lb_ctl_threads }, { "stats", lb_ctl_stats }, { "flush", lb_ctl_flush }, { NULL, NULL }
};

/* Into the lurk table on top; lurk.keep: a script's state kept across
** reloads (lua/lurk/repl.lua gives each loaded script its own). */
void lb_ctl_open(lua_State *L)
{
  luaL_register(L, NULL, lb_ctl_funcs);
  lua_newtable(L);
  lua_setfield(L, -2, "keep");
}
