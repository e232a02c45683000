/* lurk: lurk.wrap / lurk.unwrap / lurk.replace and the call object.
**
** The engine (engine/wrap.c) keeps the points and the per-thread call
** stack and calls the hooks below at a wrapped function's entry and after
** it returned (or was unwound). The hooks run the Lua handlers through two
** LuaJIT FFI callbacks, pre(wid) and post(wid, gen): wid names the handler
** list of one function (Lua side); gen tells the handlers attached after
** the call's pre (they get no post).
** The handlers get one object, `call` (metatable lurk.call), valid while a
** handler runs; fields a pre handler sets on it live in a per-call table
** (a registry reference in struct wrap_call) that its post sees.
*/
#include "lb_int.h"
#include "../engine/wrap.h"
#include "../engine/thr.h"
#include "../engine/mem.h"
#include "../engine/sym.h"
#include "../arch/arch.h"

#define LB_CALL "lurk.call"
#define LB_ARGS "lurk.call.args"
#define LB_FARGS "lurk.call.fargs"
#define LB_WRAP "lurk.wrap"
#define LB_DATA "lurk.wrap.data"   /* registry: per-call tables by reference */
#define LB_TCDATA 10               /* LuaJIT's type tag for cdata */

enum { LBW_PRE = 0, LBW_POST = 1, LBW_UNWOUND = 2 };
enum { LBW_HAS_PRE = 1, LBW_HAS_POST = 2 };

static void (*lbw_cb_pre)(int);       /* the Lua dispatchers (FFI callbacks) */
static void (*lbw_cb_post)(int, int);
static uint8_t *lbw_flags;             /* [wid]: LBW_HAS_* */
static uint32_t lbw_nflags;
/* The call of the running handler (all Lua runs under one lock). */
static struct wrap_call *lbw_cur;
static struct lurk_thread *lbw_thread;
static int lbw_kind, lbw_skip;

/* -- 64-bit values -------------------------------------------------------------
** A value is a Lua number when it is exact as one (|v| <= 2^53, read as
** signed), else a uint64_t cdata. Assignments take numbers (integers, negative
** ones as two's complement) and int64/uint64 cdata. */

static void lbw_push_u64(lua_State *L, uint64_t v)
{
  int64_t s = (int64_t)v;
  if (s >= -(1ll << 53) && s < 0) lua_pushnumber(L, (lua_Number)s);
  else lb_ffi_push_u64(L, v);
}


/* -- The hooks ------------------------------------------------------------------- */

static uint8_t lbw_flags_of(uint32_t wid) { return wid < lbw_nflags ? lbw_flags[wid] : 0; }

static void lbw_data_free(lua_State *L, struct wrap_call *c)
{
  lua_getfield(L, LUA_REGISTRYINDEX, LB_DATA);
  luaL_unref(L, -1, c->data);
  lua_pop(L, 1);
  c->data = 0;
}

/* Lock as a clean call does: the Lua lock, unless the thread is alone. */
static int lbw_lock(struct lurk_thread *t)
{
  int locked = !thr_alone();
  if (locked) lb_lock_app(t, t->tls.mctx.rip);
  else lb_inl_sync();
  return locked;
}

static void lbw_run(struct lurk_thread *t, struct wrap_call *c, int kind)
{
  lbw_cur = c;
  lbw_thread = t;
  lbw_kind = kind;
  lbw_skip = 0;
  if (kind == LBW_PRE) lbw_cb_pre((int)c->id);
  else lbw_cb_post((int)c->id, (int)c->gen);
  lbw_cur = NULL;
  lbw_thread = NULL;
}

static int lbw_pre(struct lurk_thread *t, struct wrap_call *c)
{
  if (!(lbw_flags_of(c->id) & LBW_HAS_PRE)) return 0;
  int locked = lbw_lock(t);
  lbw_run(t, c, LBW_PRE);
  int skip = lbw_skip;
  if ((skip || !c->pushed) && c->data) lbw_data_free(lb_L, c); /* no post for it */
  if (locked) lb_unlock();
  return skip;
}

static void lbw_post(struct lurk_thread *t, struct wrap_call *c, int unwound)
{
  int has = lbw_flags_of(c->id) & LBW_HAS_POST;
  if (!has && !c->data) return;
  int locked = lbw_lock(t);
  if (has) lbw_run(t, c, unwound ? LBW_UNWOUND : LBW_POST);
  if (c->data) lbw_data_free(lb_L, c);
  if (locked) lb_unlock();
}

/* -- The call object --------------------------------------------------------------- */

static struct wrap_call *lbw_check_cur(lua_State *L)
{
  if (!lbw_cur) luaL_error(L, "call used outside its pre or post handler");
  return lbw_cur;
}

/* The per-call table (made if make), pushed; or nothing pushed and 0. */
static int lbw_data(lua_State *L, struct wrap_call *c, int make)
{
  if (!c->data && !make) return 0;
  lua_getfield(L, LUA_REGISTRYINDEX, LB_DATA);
  if (!c->data) {
    lua_newtable(L);
    c->data = luaL_ref(L, -2);
  }
  lua_rawgeti(L, -1, c->data);
  lua_remove(L, -2);
  return 1;
}

static void lbw_only(lua_State *L, int want, const char *what)
{
  if (want == LBW_PRE && lbw_kind != LBW_PRE)
    luaL_error(L, "call.%s is only available in pre", what);
  if (want == LBW_POST && lbw_kind == LBW_PRE)
    luaL_error(L, "call.%s is only available in post", what);
}

/* call:backtrace([n]): the stack at the function's entry (pre: frame 1 is
** the function, frame 2 the caller) or right after it returned (post). */
static int lbw_backtrace(lua_State *L)
{
  struct wrap_call *c = lbw_check_cur(L);
  if (lbw_kind == LBW_UNWOUND) return luaL_error(L, "call:backtrace: the call was unwound (no stack)");
  return lb_backtrace_push(L, &lbw_thread->tls.mctx, lbw_kind == LBW_PRE ? c->func : c->retaddr, 2);
}

/* call:stackid([n]): the same stack as call:backtrace(n), interned: an
** integer id, equal for equal stacks (lurk.stack(id) gives the pcs). No
** table is made: memcheck keeps one per allocation and free. */
static int lbw_stackid(lua_State *L)
{
  struct wrap_call *c = lbw_check_cur(L);
  if (lbw_kind == LBW_UNWOUND) return luaL_error(L, "call:stackid: the call was unwound (no stack)");
  lua_Integer n = luaL_optinteger(L, 2, 64);
  luaL_argcheck(L, n >= 1 && n <= 1024, 2, "frame count out of range (1..1024)");
  uint64_t pcs[1024];
  uint8_t exact[1024];
  unsigned k = sym_backtrace(&lbw_thread->tls.mctx, lbw_kind == LBW_PRE ? c->func : c->retaddr, pcs, exact, (unsigned)n);
  lua_pushinteger(L, (lua_Integer)lb_stack_intern(pcs, k));
  return 1;
}

static int lbw_call_index(lua_State *L)
{
  struct wrap_call *c = lbw_check_cur(L);
  const char *k = luaL_checkstring(L, 2);
  struct arch_mctx *m = &lbw_thread->tls.mctx;
  switch (k[0]) {
  case 'a':
    if (!lurk_strcmp(k, "args")) { lbw_only(L, LBW_PRE, k); luaL_getmetatable(L, LB_ARGS); lua_getfield(L, -1, "obj"); return 1; }
    break;
  case 'f':
    if (!lurk_strcmp(k, "fargs")) { lbw_only(L, LBW_PRE, k); luaL_getmetatable(L, LB_FARGS); lua_getfield(L, -1, "obj"); return 1; }
    if (!lurk_strcmp(k, "func")) { lua_pushnumber(L, (lua_Number)c->func); return 1; }
    if (!lurk_strcmp(k, "fret")) {
      lbw_only(L, LBW_POST, k);
      if (lbw_kind == LBW_UNWOUND) return 0;
      double d;
      lurk_memcpy(&d, arch_cc_vreg(lbw_thread, 0), 8);
      lua_pushnumber(L, d);
      return 1;
    }
    break;
  case 'r':
    if (!lurk_strcmp(k, "ret")) {
      lbw_only(L, LBW_POST, k);
      if (lbw_kind == LBW_UNWOUND) return 0;
      lbw_push_u64(L, m->gpr[ARCH_ABI_RET]);
      return 1;
    }
    if (!lurk_strcmp(k, "retaddr")) { lua_pushnumber(L, (lua_Number)c->retaddr); return 1; }
    break;
  case 'c':
    if (!lurk_strcmp(k, "caller")) { lua_pushnumber(L, (lua_Number)c->retaddr); return 1; }
    break;
  case 's':
    if (!lurk_strcmp(k, "sp")) { lua_pushnumber(L, (lua_Number)c->sp); return 1; }
    if (!lurk_strcmp(k, "stackid")) { lua_pushcfunction(L, lbw_stackid); return 1; }
    if (!lurk_strcmp(k, "skip")) { lua_getfield(L, lua_upvalueindex(1), "skip"); return 1; }
    break;
  case 't':
    if (!lurk_strcmp(k, "tid")) { lua_pushinteger(L, lbw_thread->tid); return 1; }
    break;
  case 'd':
    if (!lurk_strcmp(k, "depth")) { lua_pushinteger(L, (lua_Integer)c->depth); return 1; }
    if (!lurk_strcmp(k, "data")) { lbw_data(L, c, 1); return 1; }
    break;
  case 'b':
    if (!lurk_strcmp(k, "backtrace")) { lua_pushcfunction(L, lbw_backtrace); return 1; }
    break;
  case 'u':
    if (!lurk_strcmp(k, "unwound")) { lua_pushboolean(L, lbw_kind == LBW_UNWOUND); return 1; }
    break;
  }
  if (!lbw_data(L, c, 0)) return 0; /* a field of the call's own: nil until set */
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static const char *const lbw_readonly[] = {
  "args", "fargs", "func", "retaddr", "caller", "sp", "skip", "tid", "depth", "data", "unwound", "backtrace", "stackid", NULL
};

static int lbw_call_newindex(lua_State *L)
{
  struct wrap_call *c = lbw_check_cur(L);
  const char *k = luaL_checkstring(L, 2);
  /* ret and fret may be set in pre too, for a skip */
  if (!lurk_strcmp(k, "ret")) {
    if (lbw_kind == LBW_UNWOUND) return luaL_error(L, "call.ret cannot be set: the call was unwound");
    lbw_thread->tls.mctx.gpr[ARCH_ABI_RET] = lb_ffi_check_u64(L, 3);
    return 0;
  }
  if (!lurk_strcmp(k, "fret")) {
    if (lbw_kind == LBW_UNWOUND) return luaL_error(L, "call.fret cannot be set: the call was unwound");
    double d = luaL_checknumber(L, 3);
    lurk_memcpy(arch_cc_vreg(lbw_thread, 0), &d, 8);
    return 0;
  }
  for (int i = 0; lbw_readonly[i]; i++)
    if (!lurk_strcmp(k, lbw_readonly[i])) return luaL_error(L, "call.%s is read-only", k);
  lbw_data(L, c, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_rawset(L, -3);
  return 0;
}

/* call:skip([value]): in pre, return at once. With a value, the result
** registers get it: rax (an integer; a non-integer number truncated) and
** xmm0 (as a double), so it suits functions returning either. */
static int lbw_call_skip(lua_State *L)
{
  struct wrap_call *c = lbw_check_cur(L);
  if (lbw_kind != LBW_PRE) return luaL_error(L, "call:skip is only possible in pre");
  if (!c->retaddr) return luaL_error(L, "call:skip: the return address could not be read");
  if (!lua_isnoneornil(L, 2)) {
    uint64_t v;
    double d;
    if (lua_type(L, 2) == LUA_TNUMBER) {
      d = lua_tonumber(L, 2);
      v = (d == (double)(int64_t)d || !(d >= -9.2e18 && d <= 9.2e18)) ? lb_ffi_check_u64(L, 2) : (uint64_t)(int64_t)d;
    } else {
      v = lb_ffi_check_u64(L, 2);
      d = (double)(int64_t)v;
    }
    lbw_thread->tls.mctx.gpr[ARCH_ABI_RET] = v;
    lurk_memcpy(arch_cc_vreg(lbw_thread, 0), &d, 8);
  }
  lbw_skip = 1;
  return 0;
}

static int lbw_call_tostring(lua_State *L)
{
  char a[24], b[24];
  if (!lbw_cur) lua_pushliteral(L, "<call (outside a handler)>");
  else
    lua_pushfstring(L, "<call %s from %s, thread %d%s>", lb_hex(a, lbw_cur->func),
                    lb_hex(b, lbw_cur->retaddr), lbw_thread->tid,
                    lbw_kind == LBW_PRE ? "" : lbw_kind == LBW_POST ? ", returned" : ", unwound");
  return 1;
}

/* call.args[i]: 1..6 the argument registers, then the stack slots. */
static int lbw_arg_index(struct lua_State *L, int write)
{
  struct wrap_call *c = lbw_check_cur(L);
  lbw_only(L, LBW_PRE, "args");
  lua_Number n = luaL_checknumber(L, 2);
  int i = (int)n;
  if (i != n || i < 1 || i > 64) luaL_argerror(L, 2, "argument index 1..64 expected");
  struct arch_mctx *m = &lbw_thread->tls.mctx;
  uint64_t v = 0, at = c->sp + ARCH_ABI_STACK0 + 8 * (uint64_t)(i - ARCH_ABI_NARGS - 1);
  char a[24];
  if (write) {
    v = lb_ffi_check_u64(L, 3);
    if (i <= ARCH_ABI_NARGS) m->gpr[arch_abi_args[i - 1]] = v;
    else if (arch_copy_out(at, &v, 8)) luaL_error(L, "cannot write argument %d at %s", i, lb_hex(a, at));
    return 0;
  }
  if (i <= ARCH_ABI_NARGS) v = m->gpr[arch_abi_args[i - 1]];
  else if (arch_copy_in(&v, at, 8)) luaL_error(L, "cannot read argument %d at %s", i, lb_hex(a, at));
  lbw_push_u64(L, v);
  return 1;
}
static int lbw_args_index(lua_State *L) { return lbw_arg_index(L, 0); }
static int lbw_args_newindex(lua_State *L) { return lbw_arg_index(L, 1); }

/* call.fargs[i]: the floating-point argument registers 1..8, as doubles. */
static int lbw_farg(lua_State *L, int write)
{
  lbw_check_cur(L);
  lbw_only(L, LBW_PRE, "fargs");
  lua_Number n = luaL_checknumber(L, 2);
  int i = (int)n;
  if (i != n || i < 1 || i > ARCH_ABI_NFARGS) luaL_argerror(L, 2, "floating-point argument index 1..8 expected");
  uint8_t *r = arch_cc_vreg(lbw_thread, (unsigned)i - 1);
  double d;
  if (write) {
    d = luaL_checknumber(L, 3);
    lurk_memcpy(r, &d, 8);
    return 0;
  }
  lurk_memcpy(&d, r, 8);
  lua_pushnumber(L, d);
  return 1;
}
static int lbw_fargs_index(lua_State *L) { return lbw_farg(L, 0); }
static int lbw_fargs_newindex(lua_State *L) { return lbw_farg(L, 1); }

static int lbw_args_tostring(lua_State *L)
{
  lua_pushstring(L, lbw_cur ? "<call arguments>" : "<call arguments (outside a handler)>");
  return 1;
}

/* -- Primitives for the Lua side ------------------------------------------------- */

static int lbw_c_add(lua_State *L)
{
  wrap_add(lb_ffi_check_u64(L, 1), (uint32_t)luaL_checkinteger(L, 2), lua_toboolean(L, 3));
  return 0;
}
static int lbw_c_remove(lua_State *L) { wrap_remove(lb_ffi_check_u64(L, 1)); return 0; }
static int lbw_c_replace(lua_State *L)
{
  wrap_replace(lb_ffi_check_u64(L, 1), lb_ffi_check_u64(L, 2));
  return 0;
}

/* flags(wid, haspre, haspost) */
static int lbw_c_flags(lua_State *L)
{
  uint32_t wid = (uint32_t)luaL_checkinteger(L, 1);
  if (wid >= lbw_nflags) {
    uint32_t n = lbw_nflags ? lbw_nflags : 64;
    while (n <= wid) n *= 2;
    lbw_flags = mem_realloc(lbw_flags, lbw_nflags, n);
    lbw_nflags = n;
  }
  lbw_flags[wid] = (uint8_t)((lua_toboolean(L, 2) ? LBW_HAS_PRE : 0) | (lua_toboolean(L, 3) ? LBW_HAS_POST : 0));
  return 0;
}

static int lbw_c_gen(lua_State *L)
{
  __atomic_store_n(&wrap_gen, (uint32_t)luaL_checkinteger(L, 1), __ATOMIC_RELAXED);
  return 0;
}

static int lbw_c_skipped(lua_State *L) { lua_pushboolean(L, lbw_skip); return 1; }

/* u64(x): x as an address (number or 64-bit cdata) -> a number, or raises. */
static int lbw_c_addr(lua_State *L)
{
  uint64_t v = lb_ffi_check_u64(L, 1);
  if (v == 0 || v >= (1ull << 53)) luaL_argerror(L, 1, "not an address");
  lua_pushnumber(L, (lua_Number)v);
  return 1;
}

static int lbw_c_fail(lua_State *L)
{
  const char *msg = lua_tostring(L, 1);
  lua_pushfstring(L, "error in a wrap handler: %s", msg ? msg : "(error object is not a string)");
  lb_fail(L);
}

static const luaL_Reg lbw_prims[] = {
  { "add", lbw_c_add }, { "remove", lbw_c_remove }, { "replace", lbw_c_replace },
  { "flags", lbw_c_flags }, { "gen", lbw_c_gen }, { "skipped", lbw_c_skipped },
  { "addr", lbw_c_addr }, { NULL, NULL }
};

/* The Lua side: handles, handler lists, names, the dispatcher. */
static const char lbw_src[] = {
#include "lb_wrap_lua.h"
};

void lb_wrap_open(lua_State *L)
{
  static const struct wrap_hooks hooks = { lbw_pre, lbw_post };
  /* call (one object), with skip as its method */
  lua_newtable(L);
  lua_pushcfunction(L, lbw_call_skip);
  lua_setfield(L, -2, "skip");
  static const luaL_Reg call_mm[] = { { "__newindex", lbw_call_newindex }, { "__tostring", lbw_call_tostring }, { NULL, NULL } };
  lb_class(L, LB_CALL, call_mm);
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, lbw_call_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 2);
  static const luaL_Reg args_mm[] = { { "__index", lbw_args_index }, { "__newindex", lbw_args_newindex }, { "__tostring", lbw_args_tostring }, { NULL, NULL } };
  static const luaL_Reg fargs_mm[] = { { "__index", lbw_fargs_index }, { "__newindex", lbw_fargs_newindex }, { "__tostring", lbw_args_tostring }, { NULL, NULL } };
  const char *names[2] = { LB_ARGS, LB_FARGS };
  const luaL_Reg *mms[2] = { args_mm, fargs_mm };
  for (int i = 0; i < 2; i++) {
    lb_class(L, names[i], mms[i]);
    lua_newuserdata(L, 1);
    lua_pushvalue(L, -2);
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "obj");
    lua_pop(L, 1);
  }
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_DATA);
  lb_class(L, LB_WRAP, (const luaL_Reg[]){ { NULL, NULL } });
  lua_pop(L, 1);

  /* chunk(C, call, ffi, fail, traceback, lurk, handle metatable) */
  if (luaL_loadbuffer(L, lbw_src, sizeof lbw_src - 1, "=lurk.wrap")) lb_fail(L);
  lua_newtable(L);
  luaL_register(L, NULL, lbw_prims);
  lua_newuserdata(L, 1);
  luaL_getmetatable(L, LB_CALL);
  lua_setmetatable(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, "lurk.ffi");
  lua_pushcfunction(L, lbw_c_fail);
  lua_pushcfunction(L, lb_traceback);
  lua_pushvalue(L, -7); /* the lurk table, below the chunk */
  luaL_getmetatable(L, LB_WRAP);
  lua_call(L, 7, 2); /* -> callback addresses (pre, post) */
  lbw_cb_post = (void (*)(int, int))(uintptr_t)lua_tonumber(L, -1);
  lbw_cb_pre = (void (*)(int))(uintptr_t)lua_tonumber(L, -2);
  lua_pop(L, 2);
  wrap_set_hooks(&hooks);
}
