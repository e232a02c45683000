/* lurk: the C side of lurk.asm: lurk._encode(req, pc), the encoder behind
** lua/lurk/asm.lua (arch/asm.h), and lurk.asm, which loads that module on
** first use. See docs/lua-api.md "Assembling instructions".
*/
#include "lb_int.h"
#include "../arch/asm.h"

/* An id by name through a cache table (upvalue u): mnemonic or register. */
static uint16_t lb_asm_id(lua_State *L, int u, const char *name, uint16_t (*look)(const char *))
{
  lua_getfield(L, lua_upvalueindex(u), name);
  uint16_t id = (uint16_t)lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (!id && (id = look(name))) {
    lua_pushinteger(L, id);
    lua_setfield(L, lua_upvalueindex(u), name);
  }
  return id;
}

/* Field k of the table at t: a register name (0 if absent); raises on an
** unknown one. */
static uint16_t lb_asm_reg(lua_State *L, int t, const char *k)
{
  lua_getfield(L, t, k);
  const char *s = lua_tostring(L, -1);
  uint16_t r = 0;
  if (s && !(r = lb_asm_id(L, 2, s, asm_reg_id)))
    luaL_error(L, "unknown register '%s'", s);
  lua_pop(L, 1);
  return r;
}

static uint64_t lb_asm_u64(lua_State *L, int t, const char *k)
{
  uint64_t v = 0;
  lua_getfield(L, t, k);
  if (!lua_isnil(L, -1) && !lb_ffi_to_u64(L, -1, &v))
    luaL_error(L, "operand field '%s': integer expected", k);
  lua_pop(L, 1);
  return v;
}

static int lb_asm_int(lua_State *L, int t, const char *k)
{
  lua_getfield(L, t, k);
  int v = (int)lua_tointeger(L, -1);
  if (lua_isboolean(L, -1)) v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static const char *const lb_asm_prefixes[] = {  /* ORDER ASM_PREFIX */
  "lock", "rep", "repe", "repne", "bnd", "xacquire", "xrelease", "notrack", NULL
};

/* lurk._encode(req, pc): the bytes of req encoded at pc, or nil and a
** message. req = { mnemonic = "add", prefixes = { "lock" },
** operands = { { kind = "reg", reg = "rax" }, { kind = "imm", value = 1 },
** { kind = "mem", size = 64, base =, index =, scale =, disp =, seg =,
** absolute = true }, { kind = "ptr", seg =, offset = } },
** zeroing, broadcast = N, rounding = 1..4, sae, far }. Upvalues: the
** mnemonic and register caches. */
static int lb_lurk_encode(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  uint64_t pc = lb_ffi_check_u64(L, 2);
  struct asm_req r;
  lurk_memset(&r, 0, sizeof r);
  lua_getfield(L, 1, "mnemonic");
  const char *m = luaL_checkstring(L, -1);
  if (!(r.mnemonic = lb_asm_id(L, 1, m, asm_mnemonic_id))) {
    lua_pushnil(L);
    lua_pushfstring(L, "unknown mnemonic '%s'", m);
    return 2;
  }
  lua_pop(L, 1);
  lua_getfield(L, 1, "prefixes");
  if (lua_istable(L, -1))
    for (int i = 1; lua_rawgeti(L, -1, i), !lua_isnil(L, -1); i++) {
      r.prefixes |= 1u << luaL_checkoption(L, -1, NULL, lb_asm_prefixes);
      lua_pop(L, 1);
    }
  lua_pop(L, 2);
  r.zeroing = (uint8_t)lb_asm_int(L, 1, "zeroing");
  r.broadcast = (uint8_t)lb_asm_int(L, 1, "broadcast");
  r.rounding = (uint8_t)lb_asm_int(L, 1, "rounding");
  r.sae = (uint8_t)lb_asm_int(L, 1, "sae");
  r.far = (uint8_t)lb_asm_int(L, 1, "far");
  lua_getfield(L, 1, "operands");
  int ops = lua_gettop(L);
  int n = lua_istable(L, ops) ? (int)lua_objlen(L, ops) : 0;
  if (n > ASM_MAX_OPNDS) {
    lua_pushnil(L);
    lua_pushfstring(L, "too many operands (%d)", n);
    return 2;
  }
  r.nopnds = (uint8_t)n;
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, ops, i + 1);
    int t = lua_gettop(L);
    luaL_checktype(L, t, LUA_TTABLE);
    struct asm_opnd *o = &r.op[i];
    lua_getfield(L, t, "kind");
    static const char *const kinds[] = { "none", "reg", "imm", "mem", "ptr", NULL };
    o->kind = (uint8_t)luaL_checkoption(L, -1, NULL, kinds);
    lua_pop(L, 1);
    o->reg = lb_asm_reg(L, t, "reg");
    o->base = lb_asm_reg(L, t, "base");
    o->index = lb_asm_reg(L, t, "index");
    o->scale = (uint8_t)lb_asm_int(L, t, "scale");
    o->size = (uint16_t)lb_asm_int(L, t, "size");
    o->rip_abs = (uint8_t)lb_asm_int(L, t, "absolute");
    if (o->kind == INSN_OPND_PTR) {
      o->ptr_seg = (uint16_t)lb_asm_int(L, t, "seg");
      o->ptr_off = (uint32_t)lb_asm_u64(L, t, "offset");
    } else {
      o->seg = lb_asm_reg(L, t, "seg");
    }
    o->disp = (int64_t)lb_asm_u64(L, t, "disp");
    o->imm = lb_asm_u64(L, t, "value");
    lua_settop(L, ops);
  }
  uint8_t buf[INSN_MAX_BYTES];
  unsigned len = 0;
  if (LURK_FAILED(asm_encode(&r, pc, buf, &len))) {
    lua_pushnil(L);
    lua_pushliteral(L, "no encoding for these operands");
    return 2;
  }
  lua_pushlstring(L, (const char *)buf, len);
  return 1;
}

/* lurk.asm(text [, syms [, pc]]): require("lurk.asm")._asm(text, syms, pc,
** where) with where the caller's "file:line: " for its errors. */
static int lb_lurk_asm(lua_State *L)
{
  lua_settop(L, 3);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lurk.asm");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "_asm");
  lua_insert(L, 1);
  lua_pop(L, 1);
  luaL_where(L, 1);
  lua_call(L, 4, LUA_MULTRET);
  return lua_gettop(L);
}

/* Add _encode and asm to the lurk table on top. */
void lb_asm_open(lua_State *L)
{
  lua_newtable(L);
  lua_newtable(L);
  lua_pushcclosure(L, lb_lurk_encode, 2);
  lua_setfield(L, -2, "_encode");
  lua_pushcfunction(L, lb_lurk_asm);
  lua_setfield(L, -2, "asm");
}
