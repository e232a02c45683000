/* lurk: the `bb` event (instruction list, edits, clean calls) and the clean
** calls' way into Lua.
**
** A bb handler gets the block as a table (metatable lurk.bb) valid during
** the event: bb.pc, #bb, bb[i] (app instruction i, an insn object),
** bb:insns() (app and meta instructions in emission order), and the
** edits and calls it plans (engine/bb.h), which the translator then emits.
** A clean call runs its handler with lua_pcall (lb_cc_call); the handler
** gets the context object first. lb_cc_dispatch is entered from lurk_cc
** (context.S) with the app state saved in the thread block.
*/
#include "lb_int.h"
#include "../engine/cache.h"
#include "../engine/bb.h"
#include "../engine/thr.h"
#include "../engine/wrap.h"
#include "../engine/mem.h"
#include "../engine/log.h"
#include "../arch/arch.h"

#define LB_BB "lurk.bb"
#define LB_CTX "lurk.ctx"
#define LB_CTXOBJ "lurk.ctx.object" /* registry: the context object */
#define LB_CBS "lurk.handlers.cc" /* registry: clean-call handlers, fn <-> id */

static struct bb_plan *lb_plan;          /* the block of the running bb event */
static struct lurk_thread *lb_cc_thread; /* the thread of the running clean call */
static const struct cc_site *lb_cc_cur;

/* -- The bb object -------------------------------------------------------------- */

static const void *lb_bb_cur;            /* its table */

static struct bb_plan *lb_tobb(lua_State *L, int i)
{
  luaL_checktype(L, i, LUA_TTABLE);
  if (!lb_plan || lua_topointer(L, i) != lb_bb_cur) luaL_error(L, "bb used outside its 'bb' event");
  return lb_plan;
}

struct bb_plan *lb_bb_plan(lua_State *L, int i) { return lb_tobb(L, i); }

/* The app instruction index an argument names: an insn of this block or
** an index 1..#bb. */
static unsigned lb_bb_index(lua_State *L, struct bb_plan *p, int arg, const char *fname)
{
  if (lua_type(L, arg) == LUA_TNUMBER) {
    lua_Integer i = lua_tointeger(L, arg);
    if (i < 1 || (lua_Integer)p->n < i)
      luaL_argerror(L, arg, lua_pushfstring(L, "no app instruction %d in this block", (int)i));
    return (unsigned)(i - 1);
  }
  struct insn *in = lb_toinsn(L, arg);
  for (unsigned i = 0; i < p->n; i++)
    if (p->insns[i].pc == in->pc) return i;
  (void)fname;
  luaL_argerror(L, arg, "not an app instruction of this block");
  return 0;
}

/* Methods; bb[i] is in the table itself (lb_event_bb), emptied after the
** event, so a late bb[i] gets here. */
static int lb_bb_index_mm(lua_State *L)
{
  if (lua_type(L, 2) == LUA_TNUMBER) lb_tobb(L, 1); /* raises when expired */
  luaL_getmetatable(L, LB_BB);
  lua_getfield(L, -1, "methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

/* Iterator state: position k over (i, phase, op) in emission order. */
static int lb_bb_iter(lua_State *L)
{
  struct bb_plan *p = lb_tobb(L, lua_upvalueindex(1));
  int pos = (int)lua_tointeger(L, lua_upvalueindex(2)), k = 0;
  for (unsigned i = 0; i < p->n; i++)
    for (int phase = 0; phase < 3; phase++) {
      if (phase == 1) {
        if (p->removed[i]) continue;
        if (k++ == pos) {
          lua_pushinteger(L, pos + 1);
          lua_replace(L, lua_upvalueindex(2));
          lb_insn_push(L, &p->insns[i]);
          lua_pushliteral(L, "app");
          lua_pushinteger(L, i + 1);
          return 3;
        }
        continue;
      }
      for (unsigned o = 0; o < p->nops; o++) {
        const struct bb_op *op = &p->ops[o];
        if (op->at != i || op->kind != BB_OP_META || op->after != (phase == 2)) continue;
        if (k++ == pos) {
          struct insn in;
          lua_pushinteger(L, pos + 1);
          lua_replace(L, lua_upvalueindex(2));
          /* a meta instruction reports the app pc it was inserted at */
          if (LURK_FAILED(insn_decode(&in, op->bytes, op->len, p->insns[i].pc))) return 0;
          lb_insn_push(L, &in);
          lua_pushliteral(L, "meta");
          lua_pushinteger(L, i + 1);
          return 3;
        }
      }
    }
  return 0;
}

/* bb:insns() -> iterator of (insn, "app"|"meta", app index). */
static int lb_bb_insns(lua_State *L)
{
  lb_tobb(L, 1);
  lua_pushvalue(L, 1);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, lb_bb_iter, 2);
  return 1;
}

/* A meta instruction to insert: any insn that neither branches nor is a
** syscall. A rip-relative operand keeps its absolute target (pc + length +
** disp): the translator re-aims it where the instruction is emitted. */
static const struct insn *lb_meta_arg(lua_State *L, int arg)
{
  const struct insn *in = lb_toinsn(L, arg);
  if (in->flags & (INSN_F_BRANCH | INSN_F_SYSCALL))
    luaL_argerror(L, arg, "a meta instruction cannot branch or be a syscall");
  return in;
}

/* Name an insertion for a fault report: "'TEXT' inserted before|after
** 0xPC by FILE:LINE" (the caller of insert_before, insert_after or
** replace), interned. */
static uint32_t lb_meta_where(lua_State *L, const struct insn *in, uint64_t pc, int after)
{
  char text[160], a[24];
  insn_format(in, text, sizeof text);
  int top = lua_gettop(L);
  luaL_where(L, 1);                                         /* top+1: "file:line: " */
  size_t n;
  const char *w = lua_tolstring(L, top + 1, &n);
  if (n >= 2 && w[n - 2] == ':' && w[n - 1] == ' ') n -= 2;
  lua_pushlstring(L, w, n);                                 /* top+2 */
  lua_pushfstring(L, "'%s' inserted %s %s by %s", text, after ? "after" : "before", lb_hex(a, pc),
                  n ? lua_tostring(L, top + 2) : "(unknown)"); /* top+3 */
  const char *key = lua_tostring(L, top + 3);
  lua_getfield(L, LUA_REGISTRYINDEX, "lurk.meta_where");    /* top+4 */
  lua_getfield(L, top + 4, key);
  uint32_t id = (uint32_t)lua_tointeger(L, -1);
  if (!id) {
    id = bb_where_add(key);
    lua_pushinteger(L, id);
    lua_setfield(L, top + 4, key);
  }
  lua_settop(L, top);
  return id;
}

static void lb_meta_add(lua_State *L, struct bb_plan *p, unsigned at, int after, const struct insn *in)
{
  uint32_t where = lb_meta_where(L, in, p->insns[at].pc, after);
  struct bb_op *o = bb_op_add(p);
  o->at = (uint16_t)at;
  o->after = (uint8_t)after;
  o->kind = BB_OP_META;
  o->where = where;
  o->len = in->len;
  o->riprel = (in->flags & INSN_F_RIPREL) != 0;
  o->mpc = in->pc;
  lurk_memcpy(o->bytes, in->bytes, in->len);
}

static int lb_bb_insert(lua_State *L, int after)
{
  struct bb_plan *p = lb_tobb(L, 1);
  unsigned i = lb_bb_index(L, p, 2, after ? "insert_after" : "insert_before");
  const struct insn *in = lb_meta_arg(L, 3);
  if (after && (p->insns[i].flags & (INSN_F_BRANCH | INSN_F_SYSCALL)))
    luaL_argerror(L, 2, "nothing runs after a branch or syscall in its block");
  lb_meta_add(L, p, i, after, in);
  return 0;
}

static int lb_bb_insert_before(lua_State *L) { return lb_bb_insert(L, 0); }
static int lb_bb_insert_after(lua_State *L) { return lb_bb_insert(L, 1); }

static int lb_bb_remove(lua_State *L)
{
  struct bb_plan *p = lb_tobb(L, 1);
  unsigned i = lb_bb_index(L, p, 2, "remove");
  if (p->insns[i].flags & (INSN_F_BRANCH | INSN_F_SYSCALL))
    luaL_argerror(L, 2, "a branch or syscall cannot be removed");
  p->removed[i] = 1;
  return 0;
}

static int lb_bb_replace(lua_State *L)
{
  struct bb_plan *p = lb_tobb(L, 1);
  unsigned i = lb_bb_index(L, p, 2, "replace");
  const struct insn *in = lb_meta_arg(L, 3);
  if (p->insns[i].flags & (INSN_F_BRANCH | INSN_F_SYSCALL))
    luaL_argerror(L, 2, "a branch or syscall cannot be replaced");
  p->removed[i] = 1;
  lb_meta_add(L, p, i, 0, in);
  return 0;
}

/* -- Clean calls ------------------------------------------------------------------- */

/* The id of handler fn (the same function keeps its id) in the registry
** table of clean-call handlers. */
static uint32_t lb_handler_id(lua_State *L, int fn)
{
  lua_getfield(L, LUA_REGISTRYINDEX, LB_CBS);      /* {fn -> id, [id] -> fn} */
  lua_pushvalue(L, fn);
  lua_rawget(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_Integer id = (lua_Integer)lua_objlen(L, -1) + 1;
    lua_pushvalue(L, fn);
    lua_rawseti(L, -2, (int)id);
    lua_pushvalue(L, fn);
    lua_pushinteger(L, id);
    lua_rawset(L, -3);
    lua_pushinteger(L, id);
  }
  uint32_t id = (uint32_t)lua_tointeger(L, -1);
  lua_pop(L, 2);
  return id;
}

uint32_t lb_bb_const_site(lua_State *L, int fn, uint64_t k)
{
  struct cc_site *s;
  uint32_t id = cc_site_new(&s);
  lurk_memset(s, 0, sizeof *s);
  s->handler = lb_handler_id(L, fn);
  s->nargs = 1;
  s->args[0].kind = CC_ARG_CONST;
  s->args[0].val = k;
  return id;
}

/* The k-th memory operand of in (1-based), shown ones first, then hidden
** ones (movs, push, call, ret); NULL if none. */
static const struct insn_opnd *lb_memop(const struct insn *in, int k)
{
  for (unsigned i = 0; i < in->nopnds; i++)
    if (in->op[i].kind == INSN_OPND_MEM && --k == 0) return &in->op[i];
  return NULL;
}

/* Parse argument spec at stack index arg for the call at in. */
static void lb_cc_arg(lua_State *L, int arg, const struct insn *in, unsigned count, struct cc_arg *a)
{
  lurk_memset(a, 0, sizeof *a);
  if (lua_type(L, arg) == LUA_TNUMBER || lua_type(L, arg) == 10 /* LUA_TCDATA */) {
    a->kind = CC_ARG_CONST;
    a->val = lb_ffi_check_u64(L, arg);
    return;
  }
  const char *s = luaL_checkstring(L, arg);
  if (!lurk_strcmp(s, "pc") || !lurk_strcmp(s, "rip")) { a->kind = CC_ARG_PC; a->val = in->pc; return; }
  if (!lurk_strcmp(s, "count")) { a->kind = CC_ARG_COUNT; a->val = count; return; }
  if (!lurk_strcmp(s, "taken")) {
    if (!(in->flags & INSN_F_CBR)) luaL_argerror(L, arg, "'taken' needs a conditional branch");
    a->kind = CC_ARG_TAKEN;
    return;
  }
  if (!lurk_strcmp(s, "target")) {
    if (!(in->flags & INSN_F_BRANCH)) luaL_argerror(L, arg, "'target' needs a branch");
    a->kind = CC_ARG_TARGET;
    if (in->nvisible) a->op = in->op[0];
    return;
  }
  if (!lurk_strncmp(s, "ea", 2) || !lurk_strncmp(s, "size", 4)) {
    int is_ea = s[0] == 'e';
    const char *d = s + (is_ea ? 2 : 4);
    int k = *d ? 0 : 1;
    for (; *d >= '0' && *d <= '9'; d++) k = k * 10 + (*d - '0');
    const struct insn_opnd *op = *d ? NULL : lb_memop(in, k);
    if (op) {
      a->kind = is_ea ? CC_ARG_EA : CC_ARG_SIZE;
      a->op = *op;
      a->val = (uint64_t)(op->size / 8);
      /* The slot a push or call writes is below the stack pointer the
      ** decoder names: report the address written, as DynamoRIO does. */
      if ((op->flags & INSN_OPF_HIDDEN) && op->access == INSN_WRITE && op->mem.base == arch_reg_by_name("rsp") &&
          !op->mem.index && !op->mem.disp)
        a->op.mem.disp = -(int64_t)(op->size / 8);
      return;
    }
    if (!*d) luaL_argerror(L, arg, lua_pushfstring(L, "no memory operand %d", k));
  }
  uint16_t r = arch_reg_by_name(s);
  if (!r) luaL_argerror(L, arg, lua_pushfstring(L, "unknown argument '%s'", s));
  a->kind = CC_ARG_REG;
  a->reg = r;
}

/* bb:call_before(ins, fn, args...) / bb:call_after(...) */
static int lb_bb_call(lua_State *L, int after)
{
  struct bb_plan *p = lb_tobb(L, 1);
  unsigned i = lb_bb_index(L, p, 2, after ? "call_after" : "call_before");
  luaL_checktype(L, 3, LUA_TFUNCTION);
  const struct insn *in = &p->insns[i];
  if (after && (in->flags & (INSN_F_BRANCH | INSN_F_SYSCALL)))
    luaL_argerror(L, 2, "nothing runs after a branch or syscall in its block");
  int nargs = lua_gettop(L) - 3;
  if (nargs > CC_MAX_ARGS) luaL_error(L, "too many clean-call arguments (at most %d)", CC_MAX_ARGS);
  struct cc_site site, *s;
  lurk_memset(&site, 0, sizeof site);
  site.in = *in;
  site.pc = in->pc;
  site.nargs = (uint8_t)nargs;
  for (int k = 0; k < nargs; k++) lb_cc_arg(L, 4 + k, in, p->n, &site.args[k]);
  site.handler = lb_handler_id(L, 3);
  if (lb_inl_plan(L, 3, site.handler, &site, p, i, after) || lb_hc_plan(L, 3, site.handler, &site, p, i, after)) {
    stats.cc_inlined++;
    return 0;
  }
  stats.cc_called++;
  uint32_t id = cc_site_new(&s);
  *s = site;
  struct bb_op *o = bb_op_add(p);
  o->at = (uint16_t)i;
  o->after = (uint8_t)after;
  o->kind = BB_OP_CALL;
  o->site = id;
  return 0;
}

static int lb_bb_call_before(lua_State *L) { return lb_bb_call(L, 0); }
static int lb_bb_call_after(lua_State *L) { return lb_bb_call(L, 1); }

static int lb_bb_tostring(lua_State *L)
{
  if (!lb_plan || lua_topointer(L, 1) != lb_bb_cur) { lua_pushliteral(L, "<bb (expired)>"); return 1; }
  char pc[24];
  lua_pushfstring(L, "<bb %s, %d instructions>", lb_hex(pc, lb_plan->pc), (int)lb_plan->n);
  return 1;
}

void lb_event_bb(struct bb_plan *plan)
{
  if (!lb_L) return;
  lb_lock();
  /* The app instructions fill the array part: #bb, bb[i] and ipairs(bb)
  ** work as for any sequence (LuaJIT, like Lua 5.1, has no __len for
  ** tables), and bb[i] is the same object each time. */
  lua_State *L = lb_L;
  lua_createtable(L, (int)plan->n, 3);
  for (unsigned i = 0; i < plan->n; i++) {
    lb_insn_push(L, &plan->insns[i]);
    lua_rawseti(L, -2, (int)i + 1);
  }
  lua_pushnumber(L, (lua_Number)plan->pc);
  lua_setfield(L, -2, "pc");
  luaL_getmetatable(L, LB_BB);
  lua_setmetatable(L, -2);
  int t = lua_gettop(L);
  lua_pushvalue(L, t); /* lb_fire pops its copy */
  lb_plan = plan;
  lb_bb_cur = lua_topointer(L, t);
  lb_fire(L, LB_EV_bb);
  lb_plan = NULL;
  lb_bb_cur = NULL;
  for (unsigned i = 0; i < plan->n; i++) { /* expired: bb[i] raises */
    lua_pushnil(L);
    lua_rawseti(L, t, (int)i + 1);
  }
  lua_settop(L, t - 1);
  lb_unlock();
}

/* -- The context object and the call itself ---------------------------------------
** ctx reads and writes the app's state at the call: general registers (any
** width to read; 64-bit ones and rsp to write), rflags, xmm0-15 and ymm0-15
** (byte strings), pc (writing it redirects: lb_cc_dispatch). 64-bit values
** are numbers up to 2^53 and uint64_t cdata above (lb_ffi.c). */

static uint64_t lb_cc_newpc;   /* ctx.pc written in this call: the redirect target */
static int lb_cc_redirect;

static struct lurk_thread *lb_ctx_thread(lua_State *L)
{
  if (!lb_cc_thread) luaL_error(L, "the context is only valid inside a clean call");
  return lb_cc_thread;
}

/* "xmm7" -> 7 (kind 'x'), "ymm12" -> 12 (kind 'y'); -1 if k is neither. */
static int lb_ctx_vec(const char *k, char *kind)
{
  if ((k[0] != 'x' && k[0] != 'y') || k[1] != 'm' || k[2] != 'm') return -1;
  const char *d = k + 3;
  int n = 0;
  if (!*d || (d[0] == '0' && d[1])) return -1;
  for (; *d; d++) {
    if (*d < '0' || *d > '9') return -1;
    n = n * 10 + (*d - '0');
    if (n > 15) return -1;
  }
  *kind = k[0];
  return n;
}

/* Push vector register (kind, n) as a 16- or 32-byte string. */
static void lb_ctx_vec_push(lua_State *L, struct lurk_thread *t, char kind, int n)
{
  uint8_t buf[32];
  lurk_memcpy(buf, arch_cc_xmm(t, n), 16);
  if (kind == 'y' && arch_cc_ymm_hi(t, n, buf + 16, 0)) luaL_error(L, "no ymm registers: AVX is not enabled");
  lua_pushlstring(L, (const char *)buf, kind == 'y' ? 32 : 16);
}

/* ctx:get_f64(reg [, lane]) / ctx:get_u64(reg [, lane]): one 64-bit lane
** (1-based) of a vector register; ctx:set_f64 / ctx:set_u64(reg, v [, lane]). */
static int lb_ctx_lane(lua_State *L, int set, int f64)
{
  struct lurk_thread *t = lb_ctx_thread(L);
  char kind;
  const char *k = luaL_checkstring(L, 2);
  int n = lb_ctx_vec(k, &kind);
  if (n < 0) luaL_argerror(L, 2, lua_pushfstring(L, "not a vector register: '%s' (xmm0-15, ymm0-15)", k));
  int lanes = kind == 'y' ? 4 : 2, vi = set ? 4 : 3;
  lua_Integer lane = luaL_optinteger(L, vi, 1);
  luaL_argcheck(L, lane >= 1 && lane <= lanes, vi, "no such lane");
  uint8_t buf[32];
  lurk_memcpy(buf, arch_cc_xmm(t, n), 16);
  if (kind == 'y' && arch_cc_ymm_hi(t, n, buf + 16, 0)) return luaL_error(L, "no ymm registers: AVX is not enabled");
  uint8_t *p = buf + 8 * (lane - 1);
  if (!set) {
    if (f64) { double d; lurk_memcpy(&d, p, 8); lua_pushnumber(L, d); }
    else { uint64_t v; lurk_memcpy(&v, p, 8); lb_ffi_push_u64(L, v); }
    return 1;
  }
  if (f64) { double d = luaL_checknumber(L, 3); lurk_memcpy(p, &d, 8); }
  else { uint64_t v = lb_ffi_check_u64(L, 3); lurk_memcpy(p, &v, 8); }
  lurk_memcpy(arch_cc_xmm(t, n), buf, 16);
  if (kind == 'y') arch_cc_ymm_hi(t, n, buf + 16, 1);
  return 0;
}

static int lb_ctx_get_f64(lua_State *L) { return lb_ctx_lane(L, 0, 1); }
static int lb_ctx_set_f64(lua_State *L) { return lb_ctx_lane(L, 1, 1); }
static int lb_ctx_get_u64(lua_State *L) { return lb_ctx_lane(L, 0, 0); }
static int lb_ctx_set_u64(lua_State *L) { return lb_ctx_lane(L, 1, 0); }

static const luaL_Reg lb_ctx_methods[] = {
  { "get_f64", lb_ctx_get_f64 }, { "set_f64", lb_ctx_set_f64 },
  { "get_u64", lb_ctx_get_u64 }, { "set_u64", lb_ctx_set_u64 }, { NULL, NULL }
};

/* Push the method k of the context (its metatable's `methods`, filled by
** other binding files: lb_sym.c's backtrace); 0 if there is none. */
static int lb_ctx_method(lua_State *L, const char *k)
{
  if (!lua_getmetatable(L, 1)) return 0;
  lua_getfield(L, -1, "methods");
  if (!lua_istable(L, -1)) { lua_pop(L, 2); return 0; }
  lua_getfield(L, -1, k);
  if (lua_isnil(L, -1)) { lua_pop(L, 3); return 0; }
  return 1;
}

const struct arch_mctx *lb_cc_context(uint64_t *pc)
{
  if (!lb_cc_thread) return NULL;
  *pc = lb_cc_cur->pc;
  return &lb_cc_thread->tls.mctx;
}

static int lb_ctx_index(lua_State *L)
{
  const char *k = luaL_checkstring(L, 2);
  for (const luaL_Reg *r = lb_ctx_methods; r->name; r++)
    if (!lurk_strcmp(k, r->name)) { lua_pushcfunction(L, r->func); return 1; }
  struct lurk_thread *t = lb_ctx_thread(L);
  if (!lurk_strcmp(k, "pc") || !lurk_strcmp(k, "rip")) {
    lb_ffi_push_u64(L, lb_cc_redirect ? lb_cc_newpc : lb_cc_cur->pc);
    return 1;
  }
  if (!lurk_strcmp(k, "tid")) { lua_pushinteger(L, t->tid); return 1; }
  char kind;
  int n = lb_ctx_vec(k, &kind);
  if (n >= 0) { lb_ctx_vec_push(L, t, kind, n); return 1; }
  uint16_t r = arch_reg_by_name(k);
  if (!r && lb_ctx_method(L, k)) return 1;
  if (!r || !arch_reg_readable(r))
    return luaL_error(L, "context has no register '%s' (general registers, rflags, pc, xmm0-15, ymm0-15)", k);
  lb_ffi_push_u64(L, arch_reg_value(&t->tls.mctx, r));
  return 1;
}

/* Setting rsp moves lurk_cc's return address to just below the new stack
** (the slot the call site's `lea rsp, [rsp-128]` and `call` would use), so
** the check is that it can be written there. */
static int lb_cc_noframe; /* a guard's handler (lb_cc_run): no lurk_cc frame to move */

static void lb_ctx_set_rsp(lua_State *L, struct lurk_thread *t, uint64_t v)
{
  if (lb_cc_noframe) { t->tls.mctx.gpr[MCTX_RSP] = v; return; }
  uint64_t ret, slot = v - 136;
  char a[24];
  lurk_memcpy(&ret, (const void *)(uintptr_t)t->tls.cc_rsp, 8);
  if (arch_copy_out(slot, &ret, 8))
    luaL_error(L, "cannot set rsp to %s (the stack below it is not writable)", lb_hex(a, v));
  t->tls.mctx.gpr[MCTX_RSP] = v;
}

static int lb_ctx_newindex(lua_State *L)
{
  struct lurk_thread *t = lb_ctx_thread(L);
  const char *k = luaL_checkstring(L, 2);
  char kind;
  int n = lb_ctx_vec(k, &kind);
  if (n >= 0) {
    size_t len;
    const char *s = lua_type(L, 3) == LUA_TSTRING ? lua_tolstring(L, 3, &len) : NULL;
    size_t want = kind == 'y' ? 32 : 16;
    if (!s || len != want)
      return luaL_error(L, "bad argument to ctx.%s (a string of %d bytes expected, got %s)", k, (int)want,
                        s ? lua_pushfstring(L, "%d bytes", (int)len) : luaL_typename(L, 3));
    lurk_memcpy(arch_cc_xmm(t, n), s, 16);
    if (kind == 'y' && arch_cc_ymm_hi(t, n, (void *)(s + 16), 1)) return luaL_error(L, "no ymm registers: AVX is not enabled");
    return 0;
  }
  uint64_t v;
  if (!lb_ffi_to_u64(L, 3, &v))
    return luaL_error(L, "bad argument to ctx.%s (integer expected (a number or a 64-bit cdata), got %s)", k,
                      lua_type(L, 3) == LUA_TNUMBER ? lua_tostring(L, 3) : luaL_typename(L, 3));
  if (!lurk_strcmp(k, "pc") || !lurk_strcmp(k, "rip")) {
    lb_cc_newpc = v;
    lb_cc_redirect = 1;
    return 0;
  }
  uint16_t r = arch_reg_by_name(k);
  if (r && !lurk_strcmp(k, "rsp")) { lb_ctx_set_rsp(L, t, v); return 0; }
  if (!r || !arch_reg_set(&t->tls.mctx, r, v))
    return luaL_error(L, "cannot set '%s' (64-bit general registers, rflags, pc, xmm0-15, ymm0-15)", k);
  return 0;
}

static int lb_ctx_tostring(lua_State *L)
{
  if (!lb_cc_thread) lua_pushliteral(L, "<ctx (outside a clean call)>");
  else {
    char pc[24];
    lua_pushfstring(L, "<ctx thread %d at %s>", lb_cc_thread->tid, lb_hex(pc, lb_cc_cur->pc));
  }
  return 1;
}


/* After a handler: a written rsp moves the return address (lb_ctx_set_rsp
** checked the slot), a written pc makes lurk_cc return to lurk_cc_redirect. */
static void lb_cc_finish(struct lurk_thread *t, uint64_t rsp0)
{
  struct arch_tls *tls = &t->tls;
  uint64_t rsp = tls->mctx.gpr[MCTX_RSP];
  if (!lb_cc_redirect && rsp == rsp0) return;
  uint64_t ret;
  lurk_memcpy(&ret, (const void *)(uintptr_t)tls->cc_rsp, 8);
  if (lb_cc_redirect) {
    ret = (uint64_t)(uintptr_t)lurk_cc_redirect;
    tls->ibl_target = lb_cc_newpc;
    lb_cc_redirect = 0;
  }
  if (rsp != rsp0) tls->cc_rsp = rsp - 136;
  if (arch_copy_out(tls->cc_rsp, &ret, 8)) log_fatal("cannot write the clean call's return address at 0x%lx", (unsigned long)tls->cc_rsp);
}

/* Calling handlers[id](ctx, ...): lua_pcall with the traceback as message
** handler. The C API, not an FFI callback: LuaJIT's callback entry and
** exit and its argument conversions were more than half of a call
** (docs/decisions.md, "The called path"). The traceback function, the
** handler table and ctx sit in three stack slots of the state, pushed at
** the first call above whatever was there (lb_cc_base): a call happens
** only with no Lua running, so the stack is then as it was left. Should it
** not be (checked: its height), they come from the registry instead. */
static int lb_cc_base = -1, lb_cc_href, lb_cc_cref, lb_cc_tref;

static int lb_cc_call(lua_State *L, const struct cc_site *s, const uint64_t *v)
{
  if (lb_cc_base < 0) {
    lua_getfield(L, LUA_REGISTRYINDEX, LB_CBS);
    lb_cc_href = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_getfield(L, LUA_REGISTRYINDEX, LB_CTXOBJ);
    lb_cc_cref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, lb_traceback);
    lb_cc_tref = luaL_ref(L, LUA_REGISTRYINDEX);
    lb_cc_base = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lb_cc_tref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lb_cc_href);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lb_cc_cref);
  }
  int base = lua_gettop(L), tb;
  if (base == lb_cc_base + 3) {
    tb = lb_cc_base + 1;
    lua_rawgeti(L, lb_cc_base + 2, (int)s->handler);
    lua_pushvalue(L, lb_cc_base + 3);
  } else {
    tb = base + 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, lb_cc_tref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lb_cc_href);
    lua_rawgeti(L, -1, (int)s->handler);
    lua_replace(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lb_cc_cref);
  }
  /* a number where a double holds it exactly, else a 64-bit cdata
  ** (int64 for a constant, which may be negative; uint64 otherwise) */
  for (unsigned i = 0; i < s->nargs; i++) {
    if (s->args[i].kind == CC_ARG_CONST) {
      int64_t x = (int64_t)v[i];
      if (x <= (int64_t)1 << 53 && x >= -((int64_t)1 << 53)) lua_pushnumber(L, (lua_Number)x);
      else lb_ffi_push_i64(L, x);
    } else if (v[i] <= (uint64_t)1 << 53) lua_pushnumber(L, (lua_Number)v[i]);
    else lb_ffi_push_u64(L, v[i]);
  }
  if (lua_pcall(L, (int)s->nargs + 1, 1, tb)) {
    lua_pushfstring(L, "error in a clean call: %s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "(error object is not a string)");
    lb_fail(L);
  }
  int r = lua_toboolean(L, -1);
  lua_settop(L, base);
  return r;
}

void lb_cc_dispatch(struct arch_tls *tls)
{
  struct lurk_thread *t = thr_of(tls);
  const struct cc_site *s = cc_site_get((uint32_t)tls->cc_site);
  uint64_t v[CC_MAX_ARGS];
  for (unsigned i = 0; i < s->nargs; i++) v[i] = arch_cc_arg(t, s, &s->args[i]);
  /* The Lua lock, unless this thread is alone (thr_alone): two atomic
  ** operations, a sixth of a call's time. */
  int locked = !thr_alone();
  if (locked) lb_lock_app(t, s->pc);
  else if (__atomic_load_n(&bb_add_nslots, __ATOMIC_ACQUIRE)) lb_inl_sync(); /* (nothing to fold without slots) */
  uint64_t rsp0 = tls->mctx.gpr[MCTX_RSP];
  lb_cc_thread = t;
  lb_cc_cur = s;
  lb_cc_call(lb_L, s, v);
  lb_cc_thread = NULL;
  lb_cc_finish(t, rsp0);
  if (locked) lb_unlock();
  wrap_flush_pending(); /* functions the handler wrapped */
  /* (A signal that came during the call: lurk_cc steps on to a block start.) */
}

int lb_cc_run(struct lurk_thread *t, const struct cc_site *s, const uint64_t *v, uint64_t *newpc)
{
  lb_cc_thread = t;
  lb_cc_cur = s;
  lb_cc_noframe = 1;
  int r = lb_cc_call(lb_L, s, v);
  lb_cc_noframe = 0;
  lb_cc_thread = NULL;
  *newpc = lb_cc_redirect ? lb_cc_newpc : 0;
  lb_cc_redirect = 0;
  return r;
}

/* lurk.write(addr, s): write s into app memory; raises on a fault. */
static int lb_lurk_write(lua_State *L)
{
  uint64_t addr = lb_ffi_check_u64(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  char a[24];
  if (arch_copy_out(addr, s, n)) return luaL_error(L, "cannot write %d bytes at %s", (int)n, lb_hex(a, addr));
  return 0;
}

static const luaL_Reg lb_bb_methods[] = {
  { "insns", lb_bb_insns }, { "call_before", lb_bb_call_before },
  { "call_after", lb_bb_call_after }, { "insert_before", lb_bb_insert_before },
  { "insert_after", lb_bb_insert_after }, { "remove", lb_bb_remove },
  { "replace", lb_bb_replace }, { NULL, NULL }
};

void lb_bb_open(lua_State *L)
{
  lua_pushcfunction(L, lb_lurk_write);
  lua_setfield(L, -2, "write");
  static const luaL_Reg bb_mm[] = { { "__index", lb_bb_index_mm }, { "__tostring", lb_bb_tostring }, { NULL, NULL } };
  static const luaL_Reg ctx_mm[] = {
    { "__index", lb_ctx_index }, { "__newindex", lb_ctx_newindex }, { "__tostring", lb_ctx_tostring }, { NULL, NULL }
  };
  lb_class(L, LB_BB, bb_mm);
  lua_newtable(L);
  luaL_register(L, NULL, lb_bb_methods);
  lua_setfield(L, -2, "methods");
  lua_pop(L, 1);
  lb_class(L, LB_CTX, ctx_mm);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_CBS);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "lurk.meta_where");
  lb_ffi_get(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "lurk.ffi"); /* for lb_wrap.c */
  /* the context object, handlers' first argument; also lurk.context */
  lua_newuserdata(L, 1);
  luaL_getmetatable(L, LB_CTX);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_CTXOBJ);
  lua_setfield(L, -2, "context");
}
