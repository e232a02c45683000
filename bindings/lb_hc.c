/* lurk: compiled handlers, the bindings' side. A clean call whose handler
** is in the compiled subset (bindings/lb_hc.lua reads its bytecode; the
** subset is in docs/lua-api.md, "Compiled handlers") is emitted inline as
** a program (engine/hc.h, BB_OP_HC) instead of a call. Also here: the
** engine-owned buffers compiled code writes, lurk.counters(n), and the
** loads it reads app memory with, lurk.u8/u16/u32/u64(addr).
*/
#include <lauxlib.h>
#include <lua.h>
#include "lb_int.h"
#include "../arch/arch.h"
#include "../engine/bb.h"
#include "../engine/hc.h"
#include "../engine/log.h"
#include "../engine/mem.h"
#include "../engine/opt.h"
#include "../engine/thr.h"

#define LB_HC "lurk.hc"             /* registry: the front end's compile function */
#define LB_HC_PLANS "lurk.hc.plans" /* registry: definition, upvalues, signature -> prog id | false */
#define LB_HC_WHY "lurk.hc.why"     /* registry: handler id -> explanation */
#define LB_CTR "lurk.counters"
#define LB_PT "lurk.perthread"

extern int arch_tls_ready;
int64_t arch_hc_reads(const struct cc_site *s);
int arch_hc_reg_width(uint16_t reg);

/* The front end (bindings/lb_hc.lua). */
static const char lb_hc_lua[] = {
#include "lb_hc_lua.h"
};

/* -- Counters --------------------------------------------------------------- */

/* Cells of threads that have exited, [hc_ncells] (engine memory). */
static int64_t *lb_dead;
static uint32_t lb_dead_cap;

struct lb_ctr { uint32_t base, n; };

static struct lb_ctr *lb_toctr(lua_State *L, int i) { return luaL_checkudata(L, i, LB_CTR); }

/* The value of cell c: what every thread added to it, and the dead ones. */
static int64_t lb_cell(uint32_t c)
{
  int64_t v = c < lb_dead_cap ? lb_dead[c] : 0;
  thr_lock();
  for (struct lurk_thread *t = thr_list; t; t = t->next) v += (int64_t)__atomic_load_n(&t->tls.ctr[c], __ATOMIC_RELAXED);
  thr_unlock();
  return v;
}

static uint32_t lb_ctr_index(lua_State *L, struct lb_ctr *c)
{
  lua_Integer i = luaL_checkinteger(L, 2);
  if (i < 1 || i > (lua_Integer)c->n)
    luaL_error(L, "counter index %d out of range 1..%d", (int)i, (int)c->n);
  return c->base + (uint32_t)(i - 1);
}

/* c[i]: the counter's value (a number, or an int64 cdata past 2^53). */
static int lb_ctr_index_mm(lua_State *L)
{
  struct lb_ctr *c = lb_toctr(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) { /* methods */
    luaL_getmetatable(L, LB_CTR);
    lua_getfield(L, -1, lua_tostring(L, 2));
    return 1;
  }
  int64_t v = lb_cell(lb_ctr_index(L, c));
  lb_ffi_push_i64(L, v);
  return 1;
}

/* c[i] = v: the counter becomes v; the calling thread's share absorbs the
** difference (before the first thread block exists, the exited threads'
** share does), so a called handler's c[i] = c[i] + 1 counts per thread as
** the compiled one does. */
static int lb_ctr_newindex(lua_State *L)
{
  struct lb_ctr *c = lb_toctr(L, 1);
  uint32_t cell = lb_ctr_index(L, c);
  uint64_t v;
  if (!lb_ffi_to_u64(L, 3, &v)) luaL_argerror(L, 3, "integer expected (a number or a 64-bit cdata)");
  int64_t cur = lb_cell(cell);
  if (arch_tls_ready) thr_self()->tls.ctr[cell] += (uint64_t)((int64_t)v - cur);
  else __atomic_fetch_add(&lb_dead[cell], (int64_t)v - cur, __ATOMIC_RELAXED);
  return 0;
}

static int lb_ctr_len(lua_State *L) { lua_pushinteger(L, lb_toctr(L, 1)->n); return 1; }

static int lb_ctr_tostring(lua_State *L)
{
  struct lb_ctr *c = lb_toctr(L, 1);
  lua_pushfstring(L, "lurk.counters(%d): %p", (int)c->n, (void *)c);
  return 1;
}

/* c:totable(): { c[1], ..., c[n] } */
static int lb_ctr_totable(lua_State *L)
{
  struct lb_ctr *c = lb_toctr(L, 1);
  lua_createtable(L, (int)c->n, 0);
  for (uint32_t i = 0; i < c->n; i++) {
    int64_t v = lb_cell(c->base + i);
    lb_ffi_push_i64(L, v);
    lua_rawseti(L, -2, (int)i + 1);
  }
  return 1;
}

/* Cells [hc_ncells, hc_ncells + n) of the pool as a new userdata (on top,
** metatable meta); NULL, with nil and the message pushed, when it is full. */
static struct lb_ctr *lb_cells_new(lua_State *L, lua_Integer n, const char *meta)
{
  if ((uint64_t)hc_ncells + (uint64_t)n > HC_CELLS) {
    lua_pushnil(L);
    lua_pushfstring(L, "out of counter cells (%d in all)", HC_CELLS);
    return NULL;
  }
  struct lb_ctr *c = lua_newuserdata(L, sizeof *c);
  c->base = hc_ncells;
  c->n = (uint32_t)n;
  luaL_getmetatable(L, meta);
  lua_setmetatable(L, -2);
  return c;
}

/* lurk.counters(n): n 64-bit counters, all 0, that compiled handlers add to. */
static int lb_lurk_counters(lua_State *L)
{
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1, 1, "at least one counter");
  if (!lb_cells_new(L, n, LB_CTR)) return 2;
  uint32_t cap = lb_dead_cap;
  while (cap < hc_ncells + (uint32_t)n) cap = cap ? 2 * cap : 1024;
  if (cap != lb_dead_cap) {
    lb_dead = mem_realloc(lb_dead, lb_dead_cap * sizeof *lb_dead, cap * sizeof *lb_dead);
    lb_dead_cap = cap;
  }
  __atomic_store_n(&hc_ncells, hc_ncells + (uint32_t)n, __ATOMIC_RELEASE);
  return 1;
}

/* -- Per-thread cells (lurk.perthread) ---------------------------------------- */

/* The calling thread's cell i of a (an error before the first thread). */
static uint64_t *lb_pt_cell(lua_State *L, struct lb_ctr *a)
{
  lua_Integer i = luaL_checkinteger(L, 2);
  if (i < 1 || i > (lua_Integer)a->n) luaL_error(L, "index %d out of range 1..%d", (int)i, (int)a->n);
  if (!arch_tls_ready) luaL_error(L, "lurk.perthread: no thread runs yet");
  return &thr_self()->tls.ctr[a->base + (uint32_t)(i - 1)];
}

/* a[i]: the calling thread's value (0 until set), a number or, past 2^53, a uint64 cdata. */
static int lb_pt_index(lua_State *L)
{
  struct lb_ctr *a = luaL_checkudata(L, 1, LB_PT);
  if (lua_type(L, 2) == LUA_TSTRING) return 0;
  lb_ffi_push_u64(L, *lb_pt_cell(L, a));
  return 1;
}

/* a[i] = v: an integer (a negative one as its two's complement). */
static int lb_pt_newindex(lua_State *L)
{
  struct lb_ctr *a = luaL_checkudata(L, 1, LB_PT);
  uint64_t v;
  if (!lb_ffi_to_u64(L, 3, &v)) luaL_argerror(L, 3, "integer expected (a number or a 64-bit cdata)");
  *lb_pt_cell(L, a) = v;
  return 0;
}

static int lb_pt_len(lua_State *L) { lua_pushinteger(L, ((struct lb_ctr *)luaL_checkudata(L, 1, LB_PT))->n); return 1; }

static int lb_pt_tostring(lua_State *L)
{
  struct lb_ctr *a = luaL_checkudata(L, 1, LB_PT);
  lua_pushfstring(L, "lurk.perthread(%d): %p", (int)a->n, (void *)a);
  return 1;
}

/* lurk.perthread(n): n 64-bit cells per thread, all 0, that compiled
** handlers read and write (cells of the lurk.counters pool). */
static int lb_lurk_perthread(lua_State *L)
{
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1, 1, "at least one cell");
  if (!lb_cells_new(L, n, LB_PT)) return 2;
  __atomic_store_n(&hc_ncells, hc_ncells + (uint32_t)n, __ATOMIC_RELEASE);
  return 1;
}

/* The front end's view of a value: "ctr", base cell, count for a counters
** object; "buf", id, fields, full-path site for a record buffer. */
static int lb_ctr_info(lua_State *L)
{
  unsigned nf;
  uint32_t site;
  int id = lb_buf_info(L, 1, &nf, &site);
  if (id >= 0) {
    lua_pushliteral(L, "buf");
    lua_pushinteger(L, id);
    lua_pushinteger(L, nf);
    lua_pushinteger(L, site);
    return 4;
  }
  if ((id = lb_hash_info(L, 1, &site)) >= 0) {
    lua_pushliteral(L, "hash");
    lua_pushinteger(L, id);
    lua_pushinteger(L, 0);
    lua_pushinteger(L, site);
    return 4;
  }
  struct lb_ctr *c = luaL_testudata(L, 1, LB_PT);
  if (c) {
    lua_pushliteral(L, "pt");
    lua_pushinteger(L, c->base);
    lua_pushinteger(L, c->n);
    return 3;
  }
  c = luaL_testudata(L, 1, LB_CTR);
  if (!c) return 0;
  lua_pushliteral(L, "ctr");
  lua_pushinteger(L, c->base);
  lua_pushinteger(L, c->n);
  return 3;
}

/* A thread is gone (exited, or a vfork child that exec'd): its shares
** join the exited threads' (atomically: a vfork child is retired without
** the Lua lock) and its cells are cleared for the block's next user. */
void lb_hc_retire(struct lurk_thread *t)
{
  lb_hash_retire(t);
  uint32_t n = __atomic_load_n(&hc_ncells, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n && i < lb_dead_cap; i++) {
    if (t->tls.ctr[i]) __atomic_fetch_add(&lb_dead[i], (int64_t)t->tls.ctr[i], __ATOMIC_RELAXED);
    t->tls.ctr[i] = 0;
  }
}

/* c:thread(i [, tid]): the share of counter i added by thread tid (default:
** the calling one) while it runs; nil if tid is not a live thread. */
static int lb_ctr_thread(lua_State *L)
{
  struct lb_ctr *c = lb_toctr(L, 1);
  uint32_t cell = lb_ctr_index(L, c);
  long tid = (long)luaL_optinteger(L, 3, arch_tls_ready ? thr_self()->tid : -1);
  int found = 0;
  int64_t v = 0;
  thr_lock();
  for (struct lurk_thread *t = thr_list; t; t = t->next)
    if (t->tid == tid) { v = (int64_t)__atomic_load_n(&t->tls.ctr[cell], __ATOMIC_RELAXED); found = 1; break; }
  thr_unlock();
  if (!found) return 0;
  lb_ffi_push_i64(L, v);
  return 1;
}

/* Across a fork only the forking thread goes on in the child: the other
** threads' shares, taken just before it (threads running at that moment
** add up to about then), join the exited threads' in the child. */
static int64_t *lb_fork_other;
static uint32_t lb_fork_n;

void lb_hc_fork_prepare(void)
{
  lb_hash_fork_prepare();
  uint32_t n = __atomic_load_n(&hc_ncells, __ATOMIC_ACQUIRE);
  if (!n) return;
  if (lb_fork_n < n) {
    lb_fork_other = mem_realloc(lb_fork_other, lb_fork_n * sizeof *lb_fork_other, n * sizeof *lb_fork_other);
    lb_fork_n = n;
  }
  lurk_memset(lb_fork_other, 0, n * sizeof *lb_fork_other);
  struct lurk_thread *self = thr_self();
  thr_lock();
  for (struct lurk_thread *t = thr_list; t; t = t->next)
    if (t != self)
      for (uint32_t i = 0; i < n; i++) lb_fork_other[i] += (int64_t)__atomic_load_n(&t->tls.ctr[i], __ATOMIC_RELAXED);
  thr_unlock();
}

void lb_hc_fork_child(void)
{
  lb_hash_fork_child();
  uint32_t n = __atomic_load_n(&hc_ncells, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n && i < lb_fork_n && i < lb_dead_cap; i++) lb_dead[i] += lb_fork_other[i];
}

/* -- Loads ----------------------------------------------------------------- */

/* lurk.u8/u16/u32/u64(addr): the little-endian value at addr; an error when
** it cannot be read (a compiled load faults there). */
static int lb_load(lua_State *L, unsigned size)
{
  uint64_t addr = lb_ffi_check_u64(L, 1), v = 0;
  if (arch_copy_in(&v, addr, size))
    luaL_error(L, "cannot read %d bytes at %p", (int)size, (void *)addr);
  if (size == 8 && v > (1ull << 53)) lb_ffi_push_u64(L, v);
  else lua_pushnumber(L, (lua_Number)v);
  return 1;
}
static int lb_u8(lua_State *L) { return lb_load(L, 1); }
static int lb_u16(lua_State *L) { return lb_load(L, 2); }
static int lb_u32(lua_State *L) { return lb_load(L, 4); }
static int lb_u64(lua_State *L) { return lb_load(L, 8); }

/* lurk.low(x, n): the low n bits (1..52) of integer x (a number or a
** 64-bit cdata; negative numbers two's complement), as a number. */
static int lb_low(lua_State *L)
{
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 1 && n <= 52, 2, "bit count 1..52 expected");
  uint64_t v;
  if (!lb_ffi_to_u64(L, 1, &v)) luaL_argerror(L, 1, "integer expected (a number or a 64-bit cdata)");
  lua_pushnumber(L, (lua_Number)(v & ((1ull << n) - 1)));
  return 1;
}

/* lurk.shr(x, n): x shifted right by n (0..63) as a 64-bit unsigned value;
** a number for a (non-negative) number, a uint64 cdata for a cdata. */
static int lb_shr(lua_State *L)
{
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0 && n <= 63, 2, "shift count 0..63 expected");
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_Number x = lua_tonumber(L, 1);
    luaL_argcheck(L, x >= 0 && x <= 9007199254740992.0 && x == (lua_Number)(uint64_t)x, 1,
                  "non-negative integer expected");
    lua_pushnumber(L, (lua_Number)((uint64_t)x >> n));
    return 1;
  }
  uint64_t v = lb_ffi_check_u64(L, 1);
  lb_ffi_push_u64cdata(L, v >> n);
  return 1;
}

/* -- Compiling ------------------------------------------------------------- */

static const char *const lb_hc_opnames[] = {
#define HC_OPSTR(n) #n,
  HC_OPDEF(HC_OPSTR)
#undef HC_OPSTR
};
static const char *const lb_hc_ccnames[] = { "EQ", "NE", "LT", "LE", "GT", "GE", "LTU", "LEU", "GTU", "GEU" };

static int lb_hc_find(const char *const *names, unsigned n, const char *s)
{
  for (unsigned i = 0; i < n; i++)
    if (s && lurk_strcmp(names[i], s) == 0) return (int)i;
  return -1;
}

/* The kind of argument a as the front end names it. */
static const char *lb_hc_kind(const struct cc_arg *a)
{
  switch (a->kind) {
  case CC_ARG_CONST: return "const";
  case CC_ARG_PC: return "pc";
  case CC_ARG_COUNT: return "count";
  case CC_ARG_SIZE: return "size";
  case CC_ARG_TAKEN: return "taken";
  case CC_ARG_TARGET: return "target";
  case CC_ARG_EA: return "ea";
  case CC_ARG_REG:
    switch (arch_hc_reg_width(a->reg)) {
    case 64: return "reg64";
    case 32: return "reg32";
    case 16: return "reg16";
    case 8: return "reg8";
    default: return NULL;
    }
  default: return NULL;
  }
}

static lua_Integer lb_field_int(lua_State *L, int t, const char *k)
{
  lua_getfield(L, t, k);
  lua_Integer v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Remember why the handler at fn is (not) compiled, for --explain: one
** entry per function definition (file:line), counting the sites. */
static void lb_hc_note(lua_State *L, int fn, const char *msg)
{
  lua_Debug ar;
  lua_pushvalue(L, fn);
  lua_getinfo(L, ">S", &ar);
  lua_getfield(L, LUA_REGISTRYINDEX, LB_HC_WHY);
  lua_pushfstring(L, "%s:%d", ar.short_src, ar.linedefined);
  lua_pushvalue(L, -1);
  lua_rawget(L, -3);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushstring(L, msg);
    lua_rawset(L, -3);
  } else lua_pop(L, 2);
  lua_pop(L, 1);
}

static int lb_hc_log(lua_State *L)
{
  log_printf("%s", luaL_checkstring(L, 1));
  return 0;
}

/* Compile the handler at stack index fn for the argument kinds in sig
** (a table at the top); the program id, or -1 (the reason noted). */
static int lb_hc_compile(lua_State *L, int fn, int nkinds)
{
  lua_getfield(L, LUA_REGISTRYINDEX, LB_HC);
  lua_pushvalue(L, fn);
  lua_pushvalue(L, -3);
  lua_call(L, 2, 4);
  int ir = lua_gettop(L) - 3;
  char msg[512];
  if (!lua_istable(L, ir)) {
    log_snprintf(msg, sizeof msg, "%s:%d: called: %s", lua_tostring(L, ir + 3), (int)lua_tointeger(L, ir + 2),
                 lua_tostring(L, ir + 1));
    lb_hc_note(L, fn, msg);
    lua_pop(L, 4);
    return -1;
  }
  unsigned n = (unsigned)lua_objlen(L, ir);
  if (n > HC_MAX_INS) { lua_pop(L, 4); return -1; }
  struct hc_ins ins[HC_MAX_INS];
  struct hc_assume as[CC_MAX_ARGS];
  unsigned nas = 0;
  lurk_memset(ins, 0, sizeof ins);
  const char *src = lua_tostring(L, ir + 3);
  for (unsigned i = 0; i < n; i++) {
    lua_rawgeti(L, ir, (int)i + 1);
    int t = lua_gettop(L);
    struct hc_ins *in = &ins[i];
    lua_getfield(L, t, "op");
    in->op = (uint8_t)lb_hc_find(lb_hc_opnames, HC__MAX, lua_tostring(L, -1));
    lua_getfield(L, t, "cond");
    int cc = lb_hc_find(lb_hc_ccnames, 10, lua_tostring(L, -1));
    in->cond = (uint8_t)(cc < 0 ? 0 : cc);
    lua_getfield(L, t, "bk");
    in->bk = (uint8_t)lua_toboolean(L, -1);
    lua_getfield(L, t, "kidx");
    in->kidx = (uint8_t)lua_toboolean(L, -1);
    lua_pop(L, 4);
    in->d = (uint8_t)lb_field_int(L, t, "d");
    in->a = (uint8_t)lb_field_int(L, t, "a");
    in->b = (uint8_t)lb_field_int(L, t, "b");
    in->size = (uint8_t)lb_field_int(L, t, "size");
    in->where = (uint32_t)lb_field_int(L, t, "site");
    lua_getfield(L, t, "k");
    uint64_t k = 0;
    lb_ffi_to_u64(L, -1, &k);
    in->k = (int64_t)k;
    lua_pop(L, 1);
    if (in->op == HC_UVADD) {
      lua_getfield(L, t, "name");
      log_snprintf(msg, sizeof msg, "%s:%d: upvalue '%s'", src, (int)lb_field_int(L, ir, "line"), lua_tostring(L, -1));
      lua_pop(L, 1);
      unsigned stripes;
      int s = lb_inl_uvslot(L, fn, (int)in->k + 1, msg, &stripes);
      if (s < 0) {
        log_snprintf(msg, sizeof msg, "%s: called: out of inlined-counter slots", src);
        lb_hc_note(L, fn, msg);
        lua_pop(L, 5);
        return -1;
      }
      in->k = s;
      in->size = (uint8_t)stripes;
    } else if (in->op == HC_LOAD) {
      log_snprintf(msg, sizeof msg, "a %d-byte load of the compiled handler at %s:%d", (int)in->size, src,
                   (int)lb_field_int(L, t, "line"));
      in->where = bb_where_add(msg);
    }
    /* the back end trusts these: a malformed program is not compiled */
    if (in->op >= HC__MAX || (in->op == HC_ARG && in->a >= nkinds) || in->d >= HC_NVREGS || in->a >= HC_NVREGS ||
        in->b >= HC_NVREGS || ((in->op == HC_LABEL || in->op == HC_BR || in->op == HC_JMP) && in->d >= HC_MAX_LABELS) ||
        (in->op == HC_REC && in->a + in->size > HC_NVREGS) || (in->op == HC_HADD && (uint64_t)in->k >= HC_NHASH) ||
        ((in->op == HC_PTGET || in->op == HC_PTSET) && (in->k < -1 || in->k >= HC_CELLS))) {
      log_snprintf(msg, sizeof msg, "%s: called: the compiler made a program it cannot emit (op %d; a lurk bug)", src, (int)in->op);
      lb_hc_note(L, fn, msg);
      lua_pop(L, 5);
      return -1;
    }
    lua_pop(L, 1);
  }
  lua_getfield(L, ir, "assume");
  for (int i = 1; lua_istable(L, -1) && i <= (int)lua_objlen(L, -1) && nas < CC_MAX_ARGS; i++) {
    lua_rawgeti(L, -1, i);
    as[nas].arg = (uint8_t)lb_field_int(L, lua_gettop(L), "arg");
    as[nas].lo = lb_field_int(L, lua_gettop(L), "lo");
    as[nas].hi = lb_field_int(L, lua_gettop(L), "hi");
    nas++;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_getfield(L, ir, "bail");
  if (lua_isstring(L, -1))
    log_snprintf(msg, sizeof msg, "%s:%d: compiled (%d IR instructions); %s", src, (int)lb_field_int(L, ir, "line"),
                 (int)n, lua_tostring(L, -1));
  else
    log_snprintf(msg, sizeof msg, "%s:%d: compiled (%d IR instructions)", src, (int)lb_field_int(L, ir, "line"), (int)n);
  lua_pop(L, 1);
  lb_hc_note(L, fn, msg);
  lua_pop(L, 4);
  return (int)hc_prog_add(ins, n, as, nas);
}

int lb_hc_plan(lua_State *L, int fn, uint32_t hid, const struct cc_site *s, struct bb_plan *p, unsigned at,
               int after)
{
  (void)hid; /* the cache is keyed by definition and upvalues, not closure */
  if (!opt.inline_calls) return 0;
  if (arch_hc_reads(s) < 0) return 0;
  /* the signature: the kinds of the arguments */
  char sig[CC_MAX_ARGS * 8 + 1];
  size_t len = 0;
  lua_createtable(L, s->nargs, 0);
  for (unsigned i = 0; i < s->nargs; i++) {
    const char *k = lb_hc_kind(&s->args[i]);
    if (!k) { lua_pop(L, 1); return 0; }
    lua_pushstring(L, k);
    lua_rawseti(L, -2, (int)i + 1);
    for (const char *c = k; *c && len < sizeof sig - 2; c++) sig[len++] = *c;
    sig[len++] = ',';
  }
  sig[len] = 0;
  /* The cache key: the function's definition (source, lines: its
  ** prototype), the upvalues it closes over, and the signature. A bb
  ** handler that makes a new closure for every site then compiles once. */
  lua_Debug ar;
  lua_pushvalue(L, fn);
  lua_getinfo(L, ">Su", &ar);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  char part[64];
  log_snprintf(part, sizeof part, "%p:%d:%d|", (const void *)ar.source, ar.linedefined, ar.lastlinedefined);
  luaL_addstring(&b, part);
  for (int u = 1; u <= ar.nups; u++) {
    log_snprintf(part, sizeof part, "%p,", lua_upvalueid(L, fn, u));
    luaL_addstring(&b, part);
  }
  luaL_addstring(&b, sig);
  luaL_pushresult(&b);
  int key = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LB_HC_PLANS);
  lua_pushvalue(L, key);
  lua_rawget(L, -2);
  int id;
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushvalue(L, key - 1); /* the kinds */
    id = lb_hc_compile(L, fn, s->nargs);
    lua_pop(L, 1);
    lua_pushvalue(L, key);
    if (id >= 0) lua_pushinteger(L, id);
    else lua_pushboolean(L, 0);
    lua_rawset(L, -3);
  } else {
    id = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : -1;
    lua_pop(L, 1);
  }
  lua_pop(L, 3); /* plans, key, kinds */
  if (id < 0) return 0;
  const struct hc_prog *pr = hc_prog_get((uint32_t)id);
  for (unsigned i = 0; i < pr->nassume; i++) {
    int64_t v = (int64_t)s->args[pr->assume[i].arg].val;
    if (v < pr->assume[i].lo || v > pr->assume[i].hi) return 0;
  }
  struct cc_site *cs;
  uint32_t sid = cc_site_new(&cs);
  *cs = *s;
  /* (the site is also the call of HC_CALL) */
  struct bb_op *o = bb_op_add(p);
  o->at = (uint16_t)at;
  o->after = (uint8_t)after;
  o->kind = BB_OP_HC;
  o->site = sid;
  o->k = id;
  return 1;
}

/* --explain: one line per handler definition placed in a block, sorted. */
void lb_hc_explain(lua_State *L)
{
  if (!opt.explain) return;
  static const char src[] =
    "local why, log = ...\n"
    "local keys = {}\n"
    "for k in pairs(why) do keys[#keys + 1] = k end\n"
    "table.sort(keys)\n"
    "for _, k in ipairs(keys) do log('lurk: explain: ' .. why[k] .. '\\n') end\n";
  if (luaL_loadbuffer(L, src, sizeof src - 1, "=lurk.explain")) { lua_pop(L, 1); return; }
  lua_getfield(L, LUA_REGISTRYINDEX, LB_HC_WHY);
  lua_pushcfunction(L, lb_hc_log);
  if (lua_pcall(L, 2, 0, 0)) lua_pop(L, 1);
}

void lb_hc_open(lua_State *L)
{
  static const luaL_Reg ctr_mm[] = {
    { "__index", lb_ctr_index_mm }, { "__newindex", lb_ctr_newindex }, { "__len", lb_ctr_len },
    { "__tostring", lb_ctr_tostring }, { "totable", lb_ctr_totable }, { "thread", lb_ctr_thread }, { NULL, NULL }
  };
  lb_class(L, LB_CTR, ctr_mm);
  lua_pop(L, 1);
  static const luaL_Reg pt_mm[] = {
    { "__index", lb_pt_index }, { "__newindex", lb_pt_newindex }, { "__len", lb_pt_len },
    { "__tostring", lb_pt_tostring }, { NULL, NULL }
  };
  lb_class(L, LB_PT, pt_mm);
  lua_pop(L, 1);
  lb_buf_open(L);
  lb_csim_open(L);
  lb_hash_open(L);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_HC_PLANS);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_HC_WHY);
  lua_getglobal(L, "lurk");
  static const luaL_Reg fns[] = {
    { "counters", lb_lurk_counters }, { "perthread", lb_lurk_perthread }, { "shr", lb_shr }, { "low", lb_low }, { "u8", lb_u8 }, { "u16", lb_u16 }, { "u32", lb_u32 }, { "u64", lb_u64 },
    { NULL, NULL }
  };
  luaL_register(L, NULL, fns);
  lua_pop(L, 1);
  /* the front end: (jit.util, bit, ctrinfo, {NSLOTS, NVREGS}) -> compile */
  if (luaL_loadbuffer(L, lb_hc_lua, sizeof lb_hc_lua - 1, "=lurk.hc")) lb_fail(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "_PRELOAD");
  lua_getfield(L, -1, "jit.util");
  lua_remove(L, -2);
  lua_call(L, 0, 1);
  lua_getglobal(L, "bit");
  lua_pushcfunction(L, lb_ctr_info);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, HC_NSLOTS);
  lua_setfield(L, -2, "NSLOTS");
  lua_pushinteger(L, HC_NVREGS - 1); /* the last one is the back end's */
  lua_setfield(L, -2, "NVREGS");
  lua_pushinteger(L, HC_MAX_LABELS);
  lua_setfield(L, -2, "NLABELS");
  lua_call(L, 4, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_HC);
}
