/* lurk: require and the package table, without LuaJIT's package library
** (it reads LUA_PATH with getenv and loads C modules with dlopen).
** Modules are Lua files found along package.path ("dir/?.lua;dir/?/init.lua"
** for every directory of LURK_PATH, lua/ and scripts/), or loaders in
** package.preload. loadfile and dofile read files with raw syscalls.
*/
#include <fcntl.h>
#include "lb_int.h"
#include "../arch/x86_64/syscall.h"

/* Marks a module whose loader is running (a require loop). */
static char lb_sentinel;

/* Is path a readable file? */
static int lb_readable(const char *path)
{
  long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return 0;
  sys_close(fd);
  return 1;
}

/* Search path's templates for name (its '.' as '/'). Pushes the file name,
** or nil and the list of names tried. */
static int lb_search(lua_State *L, const char *name, const char *path)
{
  int base = lua_gettop(L);
  luaL_gsub(L, name, ".", "/");          /* base+1: the name as a path */
  lua_pushliteral(L, "");                /* base+2: the names tried */
  for (const char *p = path; *p; ) {
    const char *end = p;
    while (*end && *end != ';') end++;
    if (end > p) {
      lua_pushlstring(L, p, (size_t)(end - p));
      const char *file = luaL_gsub(L, lua_tostring(L, -1), "?", lua_tostring(L, base + 1));
      if (lb_readable(file)) {
        lua_replace(L, base + 1);
        lua_settop(L, base + 1);
        return 1;
      }
      lua_pushfstring(L, "\n\tno file '%s'", file);
      lua_replace(L, base + 3);
      lua_settop(L, base + 3);
      lua_concat(L, 2);
    }
    p = *end ? end + 1 : end;
  }
  lua_pushnil(L);
  lua_replace(L, base + 1);
  return 2;
}

/* The package table is upvalue 1 of require, searchpath and the loaders. */
#define LB_PKG lua_upvalueindex(1)

/* package.searchpath(name, path): the file name or nil, names tried. */
static int lb_package_searchpath(lua_State *L)
{
  const char *name = luaL_checkstring(L, 1);
  const char *path = luaL_checkstring(L, 2);
  return lb_search(L, name, path);
}

/* require(name): package.loaded[name], else load it from package.preload
** or a file along package.path, run it with (name, file) and record its
** result (true if none). */
static int lb_require(lua_State *L)
{
  const char *name = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_getfield(L, LB_PKG, "loaded");               /* 2 */
  lua_getfield(L, 2, name);
  if (lua_toboolean(L, -1)) {
    if (lua_touserdata(L, -1) == &lb_sentinel)
      return luaL_error(L, "loop or previous error loading module '%s'", name);
    return 1;
  }
  lua_pop(L, 1);
  lua_getfield(L, LB_PKG, "preload");
  if (lua_istable(L, -1)) lua_getfield(L, -1, name); else lua_pushnil(L);
  lua_remove(L, -2);                                /* 3: loader or nil */
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, LB_PKG, "path");
    const char *path = lua_tostring(L, -1);
    if (!path) return luaL_error(L, "'package.path' must be a string");
    if (lb_search(L, name, path) == 2)
      return luaL_error(L, "module '%s' not found:\n\tno field package.preload['%s']%s",
                        name, name, lua_tostring(L, -1));
    const char *file = lua_tostring(L, -1);         /* 4: file */
    lua_pushfstring(L, "@%s", file);
    if (lb_loadfile(L, file, lua_tostring(L, -1)) != 0)
      return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s",
                        name, file, lua_tostring(L, -1));
    lua_remove(L, -2);
    lua_replace(L, 3);                              /* 3: loader, 4: file */
  } else {
    lua_pushstring(L, ":preload:");
  }
  lua_pushlightuserdata(L, &lb_sentinel);
  lua_setfield(L, 2, name);
  lua_pushvalue(L, 1);
  lua_insert(L, 4);                                 /* loader(name, file) */
  lua_call(L, 2, 1);
  if (!lua_isnil(L, -1)) lua_setfield(L, 2, name);
  else lua_pop(L, 1);
  lua_getfield(L, 2, name);
  if (lua_touserdata(L, -1) == &lb_sentinel) {
    lua_pushboolean(L, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);
  }
  return 1;
}

/* loadfile(path): the chunk, or nil and a message. */
static int lb_loadfile_fn(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  lua_pushfstring(L, "@%s", path);
  if (lb_loadfile(L, path, lua_tostring(L, -1)) == 0) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

/* dofile(path): run the file and return its results; errors propagate. */
static int lb_dofile(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_pushfstring(L, "@%s", path);
  if (lb_loadfile(L, path, lua_tostring(L, -1)) != 0) return lua_error(L);
  lua_call(L, 0, LUA_MULTRET);
  return lua_gettop(L) - 2;
}

/* package.path from opt.path: "d/?.lua;d/?/init.lua" for each directory. */
static void lb_push_path(lua_State *L, const char *dirs)
{
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int first = 1;
  for (const char *p = dirs ? dirs : ""; *p; ) {
    const char *end = p;
    while (*end && *end != ':') end++;
    if (end > p) {
      if (!first) luaL_addchar(&b, ';');
      first = 0;
      luaL_addlstring(&b, p, (size_t)(end - p));
      luaL_addstring(&b, "/?.lua;");
      luaL_addlstring(&b, p, (size_t)(end - p));
      luaL_addstring(&b, "/?/init.lua");
    }
    p = *end ? end + 1 : end;
  }
  luaL_pushresult(&b);
}

/* LPeg, linked in statically (cmake/LPeg.cmake). Its 5.1 luaL_register
** also sets a global "lpeg": taken back out, require's result is the module. */
int luaopen_lpeg(lua_State *L);

static int lb_open_lpeg(lua_State *L)
{
  lua_getglobal(L, "lpeg");
  int had = !lua_isnil(L, -1);
  lua_pop(L, 1);
  luaopen_lpeg(L);
  if (!had) {
    lua_pushnil(L);
    lua_setglobal(L, "lpeg");
  }
  return 1;
}

void lb_open_package(lua_State *L, const char *path)
{
  lua_newtable(L);                                  /* package */
  luaL_findtable(L, LUA_REGISTRYINDEX, "_LOADED", 16);
  lua_setfield(L, -2, "loaded");
  luaL_findtable(L, LUA_REGISTRYINDEX, "_PRELOAD", 4);
  /* jit.profile installs a process-wide SIGPROF handler: not in lurk. */
  lua_pushnil(L);
  lua_setfield(L, -2, "jit.profile");
  lua_pushcfunction(L, lb_open_lpeg);
  lua_setfield(L, -2, "lpeg");
  lua_setfield(L, -2, "preload");
  lb_push_path(L, path);
  lua_setfield(L, -2, "path");
  lua_pushliteral(L, "/\n;\n?\n!\n-");
  lua_setfield(L, -2, "config");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, lb_package_searchpath, 1);
  lua_setfield(L, -2, "searchpath");
  lua_getfield(L, -1, "loaded");
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "package");
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, lb_require, 1);
  lua_setglobal(L, "require");
  lua_setglobal(L, "package");
  lua_pushcfunction(L, lb_loadfile_fn);
  lua_setglobal(L, "loadfile");
  lua_pushcfunction(L, lb_dofile);
  lua_setglobal(L, "dofile");
}
