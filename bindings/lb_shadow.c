/* lurk: shadow memory from Lua (#14): lurk.shadow.set/get/check/find/stats
** over engine/shadow.h, and its layout constants. The shadow is reserved
** on first use; a kernel that refuses the reservation makes every
** function return nil, message.
*/
#include "lb_int.h"
#include "../engine/shadow.h"

/* ORDER SHADOW_*: state names as Lua sees them. */
static const char *const lb_shadow_names[] = { "noaccess", "undefined", "defined", "partial", NULL };

/* Reserve the shadow, or push nil, message and return 2. */
static int lb_shadow_need(lua_State *L)
{
  if (!LURK_FAILED(shadow_init())) return 0;
  lua_pushnil(L);
  lua_pushliteral(L, "cannot reserve shadow memory (the kernel refused a 32 TiB MAP_NORESERVE mapping)");
  return 2;
}

/* The range at (i, i + 1): an address and a non-negative count. */
static uint64_t lb_shadow_range(lua_State *L, int i, uint64_t *n)
{
  uint64_t a = lb_ffi_check_u64(L, i);
  lua_Number k = luaL_checknumber(L, i + 1);
  luaL_argcheck(L, k >= 0 && k == (lua_Number)(uint64_t)k, i + 1, "non-negative integer expected");
  *n = (uint64_t)k;
  return a;
}

/* shadow.set(addr, n, state): bytes [addr, addr + n) to state. */
static int lb_shadow_set(lua_State *L)
{
  uint64_t n, a = lb_shadow_range(L, 1, &n);
  int s = luaL_checkoption(L, 3, NULL, lb_shadow_names);
  if (lb_shadow_need(L)) return 2;
  shadow_set(a, n, (unsigned)s);
  lua_pushboolean(L, 1);
  return 1;
}

/* shadow.get(addr): the state name of the byte at addr. */
static int lb_shadow_get(lua_State *L)
{
  uint64_t a = lb_ffi_check_u64(L, 1);
  if (lb_shadow_need(L)) return 2;
  lua_pushstring(L, lb_shadow_names[shadow_get(a)]);
  return 1;
}

/* shadow.check(addr, n): nil when all n bytes are addressable, else the
** first unaddressable address and how many bytes are addressable. */
static int lb_shadow_check(lua_State *L)
{
  uint64_t n, a = lb_shadow_range(L, 1, &n), bad;
  if (lb_shadow_need(L)) return 2;
  uint64_t good = shadow_check(a, n, &bad);
  if (good == n) {
    lua_pushnil(L);
    return 1;
  }
  lb_ffi_push_u64(L, bad);
  lua_pushnumber(L, (lua_Number)good);
  return 2;
}

/* shadow.find(addr, n, what): the first byte of [addr, addr + n) that is
** "addressable" or "noaccess" (what), or nil. */
static int lb_shadow_find(lua_State *L)
{
  static const char *const what[] = { "noaccess", "addressable", NULL };
  uint64_t n, a = lb_shadow_range(L, 1, &n);
  int want = luaL_checkoption(L, 3, NULL, what);
  if (lb_shadow_need(L)) return 2;
  uint64_t x = shadow_find(a, n, want);
  if (x >= a + n) lua_pushnil(L);
  else lb_ffi_push_u64(L, x);
  return 1;
}

/* shadow.stats(): { special_pages, private_pages, set_calls }. */
static int lb_shadow_stats(lua_State *L)
{
  if (lb_shadow_need(L)) return 2;
  shadow_stats st;
  shadow_get_stats(&st);
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, (lua_Number)st.special_pages);
  lua_setfield(L, -2, "special_pages");
  lua_pushnumber(L, (lua_Number)st.private_pages);
  lua_setfield(L, -2, "private_pages");
  lua_pushnumber(L, (lua_Number)st.set_calls);
  lua_setfield(L, -2, "set_calls");
  return 1;
}

static const luaL_Reg lb_shadow_funcs[] = {
  { "set", lb_shadow_set }, { "get", lb_shadow_get }, { "check", lb_shadow_check },
  { "find", lb_shadow_find }, { "stats", lb_shadow_stats }, { NULL, NULL }
};

void lb_shadow_open(lua_State *L)
{
  lua_createtable(L, 0, 9);
  luaL_register(L, NULL, lb_shadow_funcs);
  lb_ffi_push_u64(L, SHADOW_OFFSET);
  lua_setfield(L, -2, "offset");
  lua_pushinteger(L, SHADOW_SHIFT);
  lua_setfield(L, -2, "shift");
  lb_ffi_push_u64(L, SHADOW_APP_END);
  lua_setfield(L, -2, "app_end");
  lua_setfield(L, -2, "shadow");
}
