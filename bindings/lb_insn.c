/* lurk: decoded instructions in Lua: userdata "lurk.insn" over struct insn
** (arch/insn.h), and lurk.decode(bytes [, pc]). Properties are fields
** (ins.pc, ins.text, ins.is_call, ins.operands, ...); see docs/lua-api.md.
*/
#include "lb_int.h"
#include "../arch/insn.h"

#define LB_INSN "lurk.insn"

/* Properties, dispatched through a name -> index table (upvalue of
** __index). ORDER LB_INSN_FIELDS */
#define LB_INSN_FIELDS(_)                                                 \
  _(pc) _(length) _(bytes) _(mnemonic) _(text) _(target) _(operands)      \
  _(all_operands) _(is_call) _(is_ret) _(is_branch) _(is_cbr)             \
  _(is_indirect) _(is_direct) _(is_far) _(reads_memory) _(writes_memory)  \
  _(is_syscall) _(lock) _(rep) _(mask) _(zeroing) _(opsize) _(rip_relative)

enum {
#define LB_IFENUM(n) LB_IF_##n,
  LB_INSN_FIELDS(LB_IFENUM)
#undef LB_IFENUM
};

static const char *const lb_insn_fields[] = {
#define LB_IFNAME(n) #n,
  LB_INSN_FIELDS(LB_IFNAME)
#undef LB_IFNAME
  NULL
};

struct insn *lb_toinsn(lua_State *L, int i)
{
  return luaL_checkudata(L, i, LB_INSN);
}

/* Push a new insn object (a copy of in). */
void lb_insn_push(lua_State *L, const struct insn *in)
{
  struct insn *u = lua_newuserdata(L, sizeof *u);
  lurk_memcpy(u, in, sizeof *u);
  luaL_getmetatable(L, LB_INSN);
  lua_setmetatable(L, -2);
}

static void lb_setbool(lua_State *L, const char *k, int v)
{
  lua_pushboolean(L, v);
  lua_setfield(L, -2, k);
}

static void lb_setnum(lua_State *L, const char *k, lua_Number v)
{
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void lb_setreg(lua_State *L, const char *k, uint16_t reg)
{
  if (!reg) return;
  lua_pushstring(L, insn_reg_name(reg));
  lua_setfield(L, -2, k);
}

/* One operand as a table: kind, size, read, write, and per kind reg /
** value, hex, relative, signed / base, index, scale, disp, seg, address /
** seg, offset. */
static void lb_push_opnd(lua_State *L, const struct insn *in, const struct insn_opnd *o)
{
  static const char *const kinds[] = { "none", "reg", "imm", "mem", "ptr" };
  lua_createtable(L, 0, 8);
  lua_pushstring(L, kinds[o->kind]);
  lua_setfield(L, -2, "kind");
  unsigned size = o->size;
  if (o->kind == INSN_OPND_REG && !size) size = insn_reg_bits(o->reg);
  lb_setnum(L, "size", size);
  lb_setbool(L, "read", (o->access & INSN_READ) != 0);
  lb_setbool(L, "write", (o->access & INSN_WRITE) != 0);
  if (o->access & INSN_COND) lb_setbool(L, "conditional", 1);
  if (o->flags & INSN_OPF_HIDDEN) lb_setbool(L, "hidden", 1);
  if (o->flags & INSN_OPF_IMPLICIT) lb_setbool(L, "implicit", 1);
  switch (o->kind) {
  case INSN_OPND_REG:
    lb_setreg(L, "reg", o->reg);
    if (o->flags & INSN_OPF_MASK) lb_setbool(L, "mask", 1);
    break;
  case INSN_OPND_IMM: {
    int64_t v = (int64_t)o->imm.value;
    int sgn = (o->flags & INSN_OPF_SIGNED) != 0;
    lb_setnum(L, "value", sgn ? (lua_Number)v : (lua_Number)o->imm.value);
    char hex[24];
    uint64_t bits = o->imm.value;
    if (o->size && o->size < 64) bits &= (1ull << o->size) - 1;
    lua_pushstring(L, lb_hex(hex, bits));
    lua_setfield(L, -2, "hex");
    if (sgn) lb_setbool(L, "signed", 1);
    if (o->flags & INSN_OPF_RELATIVE) {
      lb_setbool(L, "relative", 1);
      lb_setnum(L, "target", (lua_Number)(in->pc + in->len + o->imm.value));
    }
    break;
  }
  case INSN_OPND_MEM:
    lb_setreg(L, "base", o->mem.base);
    lb_setreg(L, "index", o->mem.index);
    lb_setnum(L, "scale", o->mem.scale);
    lb_setnum(L, "disp", (lua_Number)o->mem.disp);
    if (o->flags & INSN_OPF_SEGMENT) lb_setreg(L, "seg", o->mem.seg);
    if (o->flags & INSN_OPF_AGEN) lb_setbool(L, "agen", 1);
    if (o->mem.base && !lurk_strcmp(insn_reg_name(o->mem.base), "rip"))
      lb_setnum(L, "address", (lua_Number)(in->pc + in->len + (uint64_t)o->mem.disp));
    break;
  case INSN_OPND_PTR:
    lb_setnum(L, "seg", o->ptr.seg);
    lb_setnum(L, "offset", o->ptr.off);
    break;
  }
}

static void lb_push_opnds(lua_State *L, const struct insn *in, int n)
{
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lb_push_opnd(L, in, &in->op[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

/* The AVX-512 writemask register, or 0. */
static uint16_t lb_insn_mask(const struct insn *in)
{
  for (int i = 0; i < in->nopnds; i++)
    if (in->op[i].kind == INSN_OPND_REG && (in->op[i].flags & INSN_OPF_MASK) &&
        !(in->op[i].flags & INSN_OPF_HIDDEN))
      return in->op[i].reg;
  return 0;
}

static int lb_insn_index(lua_State *L)
{
  const struct insn *in = lb_toinsn(L, 1);
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  if (lua_isnil(L, -1)) {
    if (lua_type(L, 2) == LUA_TSTRING) {
      /* methods */
      luaL_getmetatable(L, LB_INSN);
      lua_getfield(L, -1, "methods");
      lua_pushvalue(L, 2);
      lua_rawget(L, -2);
      if (!lua_isnil(L, -1)) return 1;
    }
    return luaL_error(L, "insn has no field '%s'", lua_tostring(L, 2) ? lua_tostring(L, 2) : "?");
  }
  uint32_t f = in->flags;
  switch (lua_tointeger(L, -1)) {
  case LB_IF_pc: lua_pushnumber(L, (lua_Number)in->pc); break;
  case LB_IF_length: lua_pushinteger(L, in->len); break;
  case LB_IF_bytes: lua_pushlstring(L, (const char *)in->bytes, in->len); break;
  case LB_IF_mnemonic: lua_pushstring(L, insn_mnemonic(in)); break;
  case LB_IF_text: {
    char buf[256];
    insn_format(in, buf, sizeof buf);
    lua_pushstring(L, buf);
    break;
  }
  case LB_IF_target:
    if (f & INSN_F_DIRECT) lua_pushnumber(L, (lua_Number)in->target); else lua_pushnil(L);
    break;
  case LB_IF_operands: lb_push_opnds(L, in, in->nvisible); break;
  case LB_IF_all_operands: lb_push_opnds(L, in, in->nopnds); break;
  case LB_IF_is_call: lua_pushboolean(L, f & INSN_F_CALL); break;
  case LB_IF_is_ret: lua_pushboolean(L, f & INSN_F_RET); break;
  case LB_IF_is_branch: lua_pushboolean(L, f & INSN_F_BRANCH); break;
  case LB_IF_is_cbr: lua_pushboolean(L, f & INSN_F_CBR); break;
  case LB_IF_is_indirect: lua_pushboolean(L, f & INSN_F_INDIRECT); break;
  case LB_IF_is_direct: lua_pushboolean(L, f & INSN_F_DIRECT); break;
  case LB_IF_is_far: lua_pushboolean(L, f & INSN_F_FAR); break;
  case LB_IF_reads_memory: lua_pushboolean(L, f & INSN_F_READS_MEM); break;
  case LB_IF_writes_memory: lua_pushboolean(L, f & INSN_F_WRITES_MEM); break;
  case LB_IF_is_syscall: lua_pushboolean(L, f & INSN_F_SYSCALL); break;
  case LB_IF_lock: lua_pushboolean(L, f & INSN_F_LOCK); break;
  case LB_IF_rep:
    if (f & INSN_F_REP) lua_pushstring(L, "rep");
    else if (f & INSN_F_REPNE) lua_pushstring(L, "repne");
    else lua_pushnil(L);
    break;
  case LB_IF_mask: {
    uint16_t m = lb_insn_mask(in);
    if (m) lua_pushstring(L, insn_reg_name(m)); else lua_pushnil(L);
    break;
  }
  case LB_IF_zeroing: lua_pushboolean(L, f & INSN_F_ZEROING); break;
  case LB_IF_opsize: lua_pushinteger(L, in->opsize); break;
  case LB_IF_rip_relative: lua_pushboolean(L, f & INSN_F_RIPREL); break;
  default: lua_pushnil(L); break;
  }
  return 1;
}

/* <insn 0x401000 mov rax, qword ptr [rsp+0x8]> */
static int lb_insn_tostring(lua_State *L)
{
  const struct insn *in = lb_toinsn(L, 1);
  char buf[256], pc[24];
  insn_format(in, buf, sizeof buf);
  lua_pushfstring(L, "<insn %s %s>", lb_hex(pc, in->pc), buf);
  return 1;
}

static int lb_insn_len(lua_State *L)
{
  lua_pushinteger(L, lb_toinsn(L, 1)->len);
  return 1;
}

/* Two insns are equal when they have the same pc and bytes. */
static int lb_insn_eq(lua_State *L)
{
  const struct insn *a = lb_toinsn(L, 1), *b = lb_toinsn(L, 2);
  lua_pushboolean(L, a->pc == b->pc && a->len == b->len && !lurk_memcmp(a->bytes, b->bytes, a->len));
  return 1;
}

/* ins:operand(i [, all]): operand i (1-based) of the visible ones, or of
** all (hidden included); nil past the end. */
static int lb_insn_operand(lua_State *L)
{
  const struct insn *in = lb_toinsn(L, 1);
  int i = (int)luaL_checkinteger(L, 2);
  int n = lua_toboolean(L, 3) ? in->nopnds : in->nvisible;
  if (i < 1 || i > n) { lua_pushnil(L); return 1; }
  lb_push_opnd(L, in, &in->op[i - 1]);
  return 1;
}

/* lurk.decode(bytes [, pc]): the first instruction of the string bytes,
** decoded as if at pc (default 0); nil and a message if it is not one. */
static int lb_lurk_decode(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_Number pc = luaL_optnumber(L, 2, 0);
  luaL_argcheck(L, pc >= 0 && pc < 18446744073709551616.0, 2, "pc out of range");
  struct insn in;
  lurk_status st = insn_decode(&in, (const uint8_t *)s, n, (uint64_t)pc);
  if (LURK_FAILED(st)) {
    lua_pushnil(L);
    lua_pushstring(L, n ? lurk_status_msg(st) : "no bytes to decode");
    return 2;
  }
  lb_insn_push(L, &in);
  return 1;
}

/* ins:clone(): an independent copy (to insert elsewhere). */
static int lb_insn_clone(lua_State *L)
{
  lb_insn_push(L, lb_toinsn(L, 1));
  return 1;
}

static const luaL_Reg lb_insn_methods[] = {
  { "operand", lb_insn_operand }, { "clone", lb_insn_clone }, { NULL, NULL }
};

/* Add decode to the lurk table on top; create the insn metatable. */
void lb_insn_open(lua_State *L)
{
  lua_pushcfunction(L, lb_lurk_decode);
  lua_setfield(L, -2, "decode");
  static const luaL_Reg mm[] = {
    { "__tostring", lb_insn_tostring }, { "__len", lb_insn_len }, { "__eq", lb_insn_eq }, { NULL, NULL }
  };
  lb_class(L, LB_INSN, mm);
  lua_newtable(L);
  for (int i = 0; lb_insn_fields[i]; i++) {
    lua_pushinteger(L, i);
    lua_setfield(L, -2, lb_insn_fields[i]);
  }
  lua_pushcclosure(L, lb_insn_index, 1);
  lua_setfield(L, -2, "__index");
  lua_newtable(L);
  luaL_register(L, NULL, lb_insn_methods);
  lua_setfield(L, -2, "methods");
  lua_pop(L, 1);
}
