/* lurk: the engine's LuaJIT state and the scripts of the command line.
** One state per process, created before takeover. Opened: base, table,
** string, math, bit, jit and debug (without debug.debug), lurk's own
** package/require, io and os (engine-safe, raw syscalls), ffi (as a module
** for require, without ffi.C and ffi.load: lb_ffi.c) and the lurk module.
** Not opened: LuaJIT's io/os/package (stdio, dlopen, getenv).
*/
#include <lualib.h>
#include "lb_int.h"
#include "../engine/log.h"
#include "../engine/opt.h"
#include "../arch/x86_64/syscall.h"

lua_State *lb_L;

/* print(...): tostring each argument, tab-separated, to lurk's output. */
static int lb_print(lua_State *L)
{
  int n = lua_gettop(L);
  lua_getglobal(L, "tostring");
  for (int i = 1; i <= n; i++) {
    size_t len;
    lua_pushvalue(L, -1);
    lua_pushvalue(L, i);
    lua_call(L, 1, 1);
    const char *s = lua_tolstring(L, -1, &len);
    if (!s) return luaL_error(L, "'tostring' must return a string to 'print'");
    if (i > 1) log_out("\t", 1);
    log_out(s, len);
    lua_pop(L, 1);
  }
  log_out("\n", 1);
  return 0;
}

/* -- Errors ------------------------------------------------------------ */

int lb_traceback(lua_State *L)
{
  const char *msg = lua_tostring(L, 1);
  if (!msg && luaL_callmeta(L, 1, "__tostring") && lua_isstring(L, -1)) msg = lua_tostring(L, -1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

void lb_fail(lua_State *L)
{
  const char *msg = lua_tostring(L, -1);
  log_printf("lurk: %s\n", msg ? msg : "(error object is not a string)");
  lb_io_flush_all(L);
  sys_exit_group(1);
  __builtin_unreachable();
}


void lb_call(lua_State *L, int nargs, int nresults)
{
  int fn = lua_gettop(L) - nargs;
  lua_pushcfunction(L, lb_traceback);
  lua_insert(L, fn);
  if (lua_pcall(L, nargs, nresults, fn) != 0) lb_fail(L);
  lua_remove(L, fn);
}

/* An error outside any protected call: never return into LuaJIT. */
static int lb_panic(lua_State *L)
{
  log_fatal("Lua panic: %s", lua_tostring(L, -1));
}

/* -- The state --------------------------------------------------------- */

static const luaL_Reg lb_libs[] = {
  { "", luaopen_base }, { LUA_TABLIBNAME, luaopen_table },
  { LUA_STRLIBNAME, luaopen_string }, { LUA_MATHLIBNAME, luaopen_math },
  { LUA_BITLIBNAME, luaopen_bit }, { LUA_JITLIBNAME, luaopen_jit },
  { LUA_DBLIBNAME, luaopen_debug },
  { NULL, NULL }
};

static lua_State *lb_newstate(void)
{
  lua_State *L = luaL_newstate();
  if (!L) log_fatal("cannot create the Lua state");
  lua_atpanic(L, lb_panic);
  for (const luaL_Reg *l = lb_libs; l->func; l++) {
    lua_pushcfunction(L, l->func);
    lua_pushstring(L, l->name);
    lua_call(L, 1, 0);
  }
  /* debug.debug reads stdin through stdio. */
  lua_getglobal(L, "debug");
  lua_pushnil(L);
  lua_setfield(L, -2, "debug");
  lua_pop(L, 1);
  lua_pushcfunction(L, lb_print);
  lua_setglobal(L, "print");
  lb_open_package(L, opt.path);
  lb_open_io(L);
  lb_open_os(L);
  lb_ffi_open(L);
  lb_open_lurk(L);
  return L;
}

/* -- Scripts ----------------------------------------------------------- */

/* Push the fields of one script entry ("<kind>main", display, args...)
** from s[0..n) as strings; returns how many. */
static int lb_push_fields(lua_State *L, const char *s, size_t n)
{
  int k = 0;
  const char *end = s + n;
  while (s <= end) {
    const char *f = s;
    while (f < end && *f != OPT_FIELD_SEP) f++;
    luaL_checkstack(L, 2, "too many script arguments");
    lua_pushlstring(L, s, (size_t)(f - s));
    k++;
    s = f + 1;
  }
  return k;
}

/* Run one script: load it, set `arg`, run its top level with its arguments
** in `...`; a returned table with a start function gets them too. */
static void lb_run_script(lua_State *L, const char *s, size_t n)
{
  int base = lua_gettop(L);
  char kind = *s;
  int nf = lb_push_fields(L, s + 1, n - 1);       /* base+1 main, +2 name, args */
  if (nf < 2) log_fatal("bad script entry in LURK_OPTIONS");
  int nargs = nf - 2;
  int st;
  if (kind == 'e') {
    size_t len;
    const char *code = lua_tolstring(L, base + 1, &len);
    st = luaL_loadbuffer(L, code, len, "=(command line)");
  } else {
    lua_pushfstring(L, "@%s", lua_tostring(L, base + 2));
    st = lb_loadfile(L, lua_tostring(L, base + 1), lua_tostring(L, -1));
    lua_remove(L, -2);
  }
  if (st != 0) lb_fail(L);
  int fn = lua_gettop(L);
  lua_createtable(L, nargs, 1);                    /* arg */
  lua_pushvalue(L, base + 2);
  lua_rawseti(L, -2, 0);
  for (int i = 1; i <= nargs; i++) {
    lua_pushvalue(L, base + 2 + i);
    lua_rawseti(L, -2, i);
  }
  lua_setglobal(L, "arg");
  if (kind != 'e' && opt.ctl) {
    /* Reachable by the channel: loaded as a unit that %reload and --watch
    ** can load again (lua/lurk/repl.lua; it reads the file once more). */
    lua_pop(L, 1); /* the chunk */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "lurk.repl");
    lb_call(L, 1, 1);
    lua_getfield(L, -1, "load");
    lua_remove(L, -2);
    lua_pushvalue(L, base + 1);
    for (int i = 1; i <= nargs; i++) lua_pushvalue(L, base + 2 + i);
    lb_call(L, nargs + 1, 0);
    lua_settop(L, base);
    return;
  }
  for (int i = 1; i <= nargs; i++) lua_pushvalue(L, base + 2 + i);
  lb_call(L, nargs, 1);
  (void)fn;
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "start");
    if (lua_isfunction(L, -1)) {
      for (int i = 1; i <= nargs; i++) lua_pushvalue(L, base + 2 + i);
      lb_call(L, nargs, 0);
    } else {
      lua_pop(L, 1);
    }
  }
  lua_settop(L, base);
}

/* Run every script of opt.scripts in order. */
static void lb_run_scripts(lua_State *L)
{
  const char *s = opt.scripts;
  while (s && *s) {
    const char *end = s;
    while (*end && *end != OPT_SCRIPT_SEP) end++;
    lb_run_script(L, s, (size_t)(end - s));
    s = *end ? end + 1 : end;
  }
}

void lb_start(char **envp)
{
  if (!opt.scripts && !opt.ctl) return; /* the null tool: no Lua state at all */
  lb_env_capture(envp);
  lb_L = lb_newstate();
  if (opt.ctl) lb_ctl_init(lb_L);
  lb_run_scripts(lb_L);
  lb_event_init();
}
