/* lurk: modules in Lua: lurk.modules() and lurk.module_at(pc), over the
** engine's module tracker (engine/mod.h). A module is a table {path, name,
** base, size, end, entry, main}, the same the module events carry.
*/
#include "lb_int.h"
#include "../engine/mem.h"
#include "../engine/mod.h"

void lb_module_fields(lua_State *L, const struct lb_module *m)
{
  const char *path = m->path ? m->path : "";
  const char *name = path;
  for (const char *p = path; *p; p++)
    if (*p == '/') name = p + 1;
  lua_pushstring(L, path);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "name");
  lua_pushnumber(L, (lua_Number)m->base);
  lua_setfield(L, -2, "base");
  lua_pushnumber(L, (lua_Number)m->size);
  lua_setfield(L, -2, "size");
  lua_pushnumber(L, (lua_Number)(m->base + m->size));
  lua_setfield(L, -2, "end");
  lua_pushnumber(L, (lua_Number)m->entry);
  lua_setfield(L, -2, "entry");
  lua_pushboolean(L, m->main);
  lua_setfield(L, -2, "main");
  lb_module_setmeta(L);
}

static void lb_mod_push(lua_State *L, const struct mod_info *mi)
{
  struct lb_module m = { mi->path, mi->base, mi->end - mi->base, mi->entry, mi->main };
  lua_createtable(L, 0, 7);
  lb_module_fields(L, &m);
}

/* lurk.modules(): the loaded modules, in address order (a new array). */
static int lb_lurk_modules(lua_State *L)
{
  size_t n = mod_list(NULL, 0), cap = n + 16;
  const struct mod_info **v = mem_alloc(cap * sizeof *v);
  n = mod_list(v, cap);
  if (n > cap) n = cap;
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lb_mod_push(L, v[i]);
    lua_rawseti(L, -2, (int)i + 1);
  }
  mem_free(v, cap * sizeof *v);
  return 1;
}

/* lurk.module_at(pc): the module holding pc, or nil. */
static int lb_lurk_module_at(lua_State *L)
{
  const struct mod_info *m = mod_find(lb_ffi_check_u64(L, 1));
  if (m) lb_mod_push(L, m);
  else lua_pushnil(L);
  return 1;
}

static const luaL_Reg lb_mod_funcs[] = {
  { "modules", lb_lurk_modules }, { "module_at", lb_lurk_module_at }, { NULL, NULL }
};

void lb_mod_open(lua_State *L) { luaL_register(L, NULL, lb_mod_funcs); }
