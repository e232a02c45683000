/* lurk: LuaJIT's FFI inside lurk: the engine's own handle on it, the
** `ffi` module scripts get (without ffi.C and ffi.load), and 64-bit values.
**
** 64-bit values (registers, addresses, syscall arguments) cross into Lua as
** a number when |v| <= 2^53 (a double holds them exactly) and as a LuaJIT
** 64-bit integer cdata (uint64_t, or int64_t for signed values) above, so
** nothing is rounded. Every setter takes either, and refuses a number that
** is not an integer (docs/decisions.md, "64-bit values in Lua").
*/
#include "lb_int.h"

#define LB_FFI "lurk.ffi"        /* registry: the full ffi module (internal) */
#define LB_U64NEW "lurk.u64new"  /* registry: (hi, lo, signed) -> cdata */
#define LB_U64BITS "lurk.u64bits" /* registry: cdata -> hi, lo (or nothing) */

#define LB_2P53 9007199254740992.0

extern int luaopen_ffi(lua_State *L);

void lb_ffi_get(lua_State *L)
{
  lua_getfield(L, LUA_REGISTRYINDEX, LB_FFI);
}

/* Push v as a number or, past 2^53, a 64-bit cdata. */
static void lb_ffi_push64(lua_State *L, uint64_t v, int is_signed)
{
  lua_getfield(L, LUA_REGISTRYINDEX, LB_U64NEW);
  lua_pushnumber(L, (lua_Number)(uint32_t)(v >> 32));
  lua_pushnumber(L, (lua_Number)(uint32_t)v);
  lua_pushboolean(L, is_signed);
  lua_call(L, 3, 1);
}

void lb_ffi_push_u64(lua_State *L, uint64_t v)
{
  if (v <= (uint64_t)1 << 53) lua_pushnumber(L, (lua_Number)v);
  else lb_ffi_push64(L, v, 0);
}

void lb_ffi_push_u64cdata(lua_State *L, uint64_t v) { lb_ffi_push64(L, v, 0); }

void lb_ffi_push_i64(lua_State *L, int64_t v)
{
  if (v <= (int64_t)1 << 53 && v >= -((int64_t)1 << 53)) lua_pushnumber(L, (lua_Number)v);
  else lb_ffi_push64(L, (uint64_t)v, 1);
}

int lb_ffi_to_u64(lua_State *L, int i, uint64_t *out)
{
  if (lua_type(L, i) == LUA_TNUMBER) {
    lua_Number d = lua_tonumber(L, i);
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      int64_t k = (int64_t)d;
      if ((lua_Number)k != d) return 0;             /* not an integer */
      *out = (uint64_t)k;
      return 1;
    }
    if (d >= 9223372036854775808.0 && d < 18446744073709551616.0) {
      *out = (uint64_t)d;                           /* an integer at this size */
      return 1;
    }
    return 0;                                       /* NaN, inf, out of range */
  }
  if (lua_type(L, i) != 10 /* LUA_TCDATA */) return 0;
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LB_U64BITS);
  lua_pushvalue(L, i < 0 && i > LUA_REGISTRYINDEX ? i - 1 : i);
  lua_call(L, 1, 2);
  int ok = lua_type(L, -2) == LUA_TNUMBER;
  if (ok) *out = (uint64_t)lua_tonumber(L, -2) << 32 | (uint64_t)lua_tonumber(L, -1);
  lua_settop(L, top);
  return ok;
}

uint64_t lb_ffi_check_u64(lua_State *L, int i)
{
  uint64_t v;
  if (!lb_ffi_to_u64(L, i, &v))
    luaL_argerror(L, i, lua_pushfstring(L, "integer expected (a number or a 64-bit cdata), got %s",
                                        lua_type(L, i) == LUA_TNUMBER ? lua_tostring(L, i) : luaL_typename(L, i)));
  return v;
}

/* The helpers, and the module scripts get: ffi without C (the program's
** libc) and load (dlopen), which raise with the reason. */
static const char lb_ffi_src[] =
  "local ffi, loaded = ...\n"
  "local u64, i64 = ffi.typeof('uint64_t'), ffi.typeof('int64_t')\n"
  "local istype, tonumber, B = ffi.istype, tonumber, 4294967296ULL\n"
  "local function new(hi, lo, signed)\n"
  "  local v = u64(hi) * B + lo\n"
  "  if signed then return ffi.cast(i64, v) end\n"
  "  return v\n"
  "end\n"
  "local function bits(v)\n"
  "  if istype(u64, v) or istype(i64, v) then\n"
  "    local u = ffi.cast(u64, v)\n"
  "    return tonumber(u / B), tonumber(u % B)\n"
  "  end\n"
  "end\n"
  "local pub = {}\n"
  "for k, v in pairs(ffi) do if k ~= 'C' and k ~= 'load' then pub[k] = v end end\n"
  "setmetatable(pub, { __index = function(_, k)\n"
  "  if k == 'C' or k == 'load' then\n"
  "    error('ffi.' .. k .. ' is not available in lurk: calls into the program\\'s libc or '\n"
  "      .. 'dlopen from inside the program are not safe (docs/lua-api.md, FFI)', 2)\n"
  "  end\n"
  "end })\n"
  "loaded.ffi = pub\n"
  "return new, bits\n";

void lb_ffi_open(lua_State *L)
{
  lua_pushcfunction(L, luaopen_ffi);
  lua_call(L, 0, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_FFI);
  if (luaL_loadbuffer(L, lb_ffi_src, sizeof lb_ffi_src - 1, "=lurk.ffi")) lb_fail(L);
  lb_ffi_get(L);
  luaL_findtable(L, LUA_REGISTRYINDEX, "_LOADED", 16);
  lua_call(L, 2, 2);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_U64BITS);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_U64NEW);
}
