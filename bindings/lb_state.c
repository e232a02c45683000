/* lurk: the engine's LuaJIT state.
** One state per process, created before takeover. The base, string, table,
** math, bit and jit libraries are opened; io, os, package and ffi are not
** (engine-safe replacements come with the scripting issue, #4). print writes
** to lurk's output, never through the app's stdio.
*/
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include "lb.h"
#include "../engine/log.h"
#include "../arch/x86_64/syscall.h"

static lua_State *lb_L;

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
    if (i > 1) log_write("\t", 1);
    log_write(s, len);
    lua_pop(L, 1);
  }
  log_write("\n", 1);
  return 0;
}

static int lb_traceback(lua_State *L)
{
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

/* An error outside any protected call: never return into LuaJIT. */
static int lb_panic(lua_State *L)
{
  log_fatal("Lua panic: %s", lua_tostring(L, -1));
}

static const luaL_Reg lb_libs[] = {
  { "", luaopen_base }, { LUA_TABLIBNAME, luaopen_table },
  { LUA_STRLIBNAME, luaopen_string }, { LUA_MATHLIBNAME, luaopen_math },
  { LUA_BITLIBNAME, luaopen_bit }, { LUA_JITLIBNAME, luaopen_jit },
  { NULL, NULL }
};

static lua_State *lb_state(void)
{
  if (lb_L) return lb_L;
  lua_State *L = luaL_newstate();
  if (!L) log_fatal("cannot create the Lua state");
  lua_atpanic(L, lb_panic);
  for (const luaL_Reg *l = lb_libs; l->func; l++) {
    lua_pushcfunction(L, l->func);
    lua_pushstring(L, l->name);
    lua_call(L, 1, 0);
  }
  /* The base library's file loaders would read through stdio. */
  lua_pushnil(L); lua_setglobal(L, "dofile");
  lua_pushnil(L); lua_setglobal(L, "loadfile");
  lua_pushcfunction(L, lb_print);
  lua_setglobal(L, "print");
  lb_L = L;
  return L;
}

void lb_run_eval(const char *code)
{
  lua_State *L = lb_state();
  lua_pushcfunction(L, lb_traceback);
  if (luaL_loadbuffer(L, code, lurk_strlen(code), "=(command line)") != 0 ||
      lua_pcall(L, 0, 0, -2) != 0) {
    const char *msg = lua_tostring(L, -1);
    log_printf("lurk: %s\n", msg ? msg : "(error object is not a string)");
    sys_exit_group(1);
  }
  lua_pop(L, 1);
}
