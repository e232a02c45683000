/* lurk: inlined clean calls.
**
** A clean call costs about 33 ns, LuaJIT's call entry and exit and the
** switch from the app's state; a block of python3's interpreter loop runs
** in under 1 ns. So, as
** DynamoRIO inlines a clean call whose callee is simple, lurk inlines a call
** whose handler only adds to its upvalues numbers that are known when the
** block is translated:
**
**     local total = 0
**     local function count(ctx, n) total = total + n end   -- "count": known
**     lurk.on("bb", function(bb) bb:call_before(1, count, "count") end)
**
** The block then adds n to a 64-bit counter of the running thread
** (BB_OP_ADD, a few instructions that leave the flags alone), and
** lb_inl_sync folds every thread's counters into the upvalues whenever Lua
** is about to run (lb_lock, and the unlocked clean-call path), so no Lua
** code can tell the difference: it sees the values the calls would have
** made. What is inlined (checked on the handler's bytecode, with opcodes
** learned from reference functions, so no LuaJIT version's numbering is
** assumed): a sequence of `u = u + a`, `u = a + u`, `u = u - a`, where u is
** an upvalue and a an argument of a static kind (constant, count, size,
** pc or direct target) or an integer constant, of at most 2^16 in
** magnitude (LB_MAX_ADDEND), then the end; an empty handler is inlined to
** nothing. Anything else is called. docs/lua-api.md has the
** user's side; `--no-inline` turns it off.
*/
#include <lauxlib.h>
#include <lua.h>
#include "lb_int.h"
#include "../engine/bb.h"
#include "../engine/log.h"
#include "../engine/mem.h"
#include "../engine/opt.h"
#include "../engine/thr.h"

/* GCupval as LuaJIT 2.1 lays it out (lj_obj.h): a closed upvalue's value
** is at 16, and at 32 is the pointer to the value (the stack slot while
** the upvalue is open, the field at 16 once closed). lb_inl_open checks it
** on a live state and leaves inlining off if it does not hold. */
#define UV_V 32
#define UV_CLOSED 16

/* Values are NaN-tagged (LJ_GC64): a number is any bit pattern whose
** 17-bit type field, taken as signed, is at most ~13 (LJ_TISNUM). */
static int lb_isnum(uint64_t bits) { return (uint32_t)((int64_t)bits >> 47) <= 0xfffffff2u; }

static int lb_inl_ok;

/* -- Counter slots --------------------------------------------------------- */

/* One per inlined statement of a handler (the sum of its addends). */
struct lb_slot {
  void *uv;                 /* the GCupval the statement adds to */
  int64_t pending;          /* taken from the threads, not yet in the upvalue */
  const char *what;         /* "file:line: upvalue 'name'" (anchored in LB_WHAT) */
};

static struct lb_slot lb_slots[BB_ADD_SLOTS];
static unsigned lb_nslots;

#define LB_WHAT "lurk.inl.what"   /* registry: slot -> what (keeps the strings) */
#define LB_PLANS "lurk.inl.plans" /* registry: handler id * 8 + nargs -> plan | false */
#define LB_ANALYZE "lurk.inl.analyze"

/* Addends are at most 2^16 in magnitude (counts, sizes, small constants;
** a pc is too big): a counter then wraps only after 2^47 executions of a
** block with no Lua run in between, past 13 hours at 3 blocks a ns, and
** the handler would have lost exactness (2^53) long before. */
#define LB_MAX_ADDEND 65536

/* Stripes. Blocks that run one after the other and add to one counter
** make a chain of read-modify-writes of one memory word, each waiting for
** the last (store forwarding: several cycles each). So the first
** statements get LB_STRIPES slots each, and the sites that add to one take
** its slots in turn; the fold adds every slot to the upvalue, so the sum
** is the same. perl under inscount: 4.6 s with one slot, 3.0 s with four
** (the null tool 2.5 s); eight stripes were no better than four. */
#define LB_STRIPES 4
#define LB_STRIPED_SLOTS 64 /* slots given out in stripes (the first ones) */
static unsigned lb_stripe;  /* the next site's stripe (round robin) */

/* An analysed handler: its statements, each adding an argument (arg > 0,
** 1-based) or the constant k, negated for a subtraction, into a slot. */
#define LB_MAX_STMTS 8
struct lb_plan {
  unsigned n;
  struct { uint16_t slot; uint8_t arg, neg, stripes; int64_t k; } st[LB_MAX_STMTS];
};
static struct lb_plan *lb_plans;
static unsigned lb_nplans, lb_capplans;

/* Slots with a pending amount, to add to their upvalues (queued[s] set). */
static uint16_t lb_queue[BB_ADD_SLOTS];
static uint8_t lb_queued[BB_ADD_SLOTS];
static unsigned lb_nqueue;

/* Take what thread t added to the slots of group g since the last fold. */
static void lb_inl_take(struct lurk_thread *t, unsigned g, unsigned n)
{
  unsigned end = (g + 1) * BB_ADD_GROUP < n ? (g + 1) * BB_ADD_GROUP : n;
  for (unsigned s = g * BB_ADD_GROUP; s < end; s++) {
    /* (another thread's counter is only ever written by that thread) */
    uint64_t cur = __atomic_load_n(&t->tls.inl[s], __ATOMIC_RELAXED);
    if (cur == t->tls.inl_done[s]) continue;
    lb_slots[s].pending += (int64_t)(cur - t->tls.inl_done[s]);
    t->tls.inl_done[s] = cur;
    if (!lb_queued[s]) {
      lb_queued[s] = 1;
      lb_queue[lb_nqueue++] = (uint16_t)s;
    }
  }
}

/* Fold the counters of every live thread into the upvalues. Called with the
** Lua lock held (or by the only thread), before any Lua code runs. Only the
** first BB_ADD_UNMARKED slots and the groups of slots whose dirty byte a
** block set are looked at (64 groups a word), so a fold costs what changed since the last one, not the number
** of inlined handlers. A byte is cleared before its counters are read (and
** the block sets it after its add): an add the fold misses leaves it set. */
void lb_inl_sync(void)
{
  unsigned n = __atomic_load_n(&lb_nslots, __ATOMIC_ACQUIRE);
  if (!n) return;
  unsigned ng = (n + BB_ADD_GROUP - 1) / BB_ADD_GROUP;
  int alone = thr_alone();
  if (!alone) thr_lock();
  struct lurk_thread *self = thr_self();
  for (struct lurk_thread *t = alone ? self : thr_list; t; t = alone ? NULL : t->next) {
    uint8_t *dirty = t->tls.inl_dirty;
    for (unsigned g = 0; g < BB_ADD_UNMARKED / BB_ADD_GROUP && g < ng; g++) lb_inl_take(t, g, n);
    for (unsigned w = 0; w < ng; w += 8) {
      uint64_t word;
      __builtin_memcpy(&word, dirty + w, 8);
      if (!word) continue;
      for (unsigned g = w; g < w + 8 && g < ng; g++) {
        if (!dirty[g]) continue;
        if (t == self) dirty[g] = 0;
        else __atomic_store_n(&dirty[g], 0, __ATOMIC_SEQ_CST);
        lb_inl_take(t, g, n);
      }
    }
  }
  if (!alone) thr_unlock();
  while (lb_nqueue) {
    unsigned s = lb_queue[lb_nqueue - 1];
    struct lb_slot *sl = &lb_slots[s];
    if (sl->pending) {
      uint64_t *v = *(uint64_t **)((char *)sl->uv + UV_V);
      if (!lb_isnum(*v)) {
        lua_pushfstring(lb_L, "error in a clean call: %s is not a number (an inlined handler "
                              "adds to it; run with --no-inline to see the call that fails)",
                        sl->what);
        lb_fail(lb_L);
      }
      double d;
      __builtin_memcpy(&d, v, 8);
      d += (double)sl->pending;
      __builtin_memcpy(v, &d, 8);
      sl->pending = 0;
    }
    lb_queued[s] = 0;
    lb_nqueue--;
  }
}

void lb_inl_flush(void)
{
  if (!lb_L || !__atomic_load_n(&lb_nslots, __ATOMIC_ACQUIRE)) return;
  lb_lock();
  lb_unlock();
}

/* -- Analysis --------------------------------------------------------------- */

/* The analyzer: (handler, nargs) -> false, or a list of statements
** {uv = upvalue index (0-based), arg = argument (1-based) or k = constant,
** neg = subtraction, line = where}. Opcodes are read off reference
** functions compiled here. */
static const char lb_analyze_src[] =
  "local util, bit, MAXSTMTS, MAXK = ...\n"
  "local band, rshift, floor = bit.band, bit.rshift, math.floor\n"
  "local function dec(f, pc)\n"
  "  local ins = util.funcbc(f, pc)\n"
  "  if not ins then return -1, -1, -1, -1, -1 end\n"
  "  return band(ins, 255), band(rshift(ins, 8), 255), band(rshift(ins, 16), 255), rshift(ins, 24), rshift(ins, 16)\n"
  "end\n"
  "local u = 0\n"
  "local refs = { function(c, n) u = u + n end, function(c, n) u = u + 1 end,\n"
  "  function(c, n) u = 1 + u end, function(c, n) u = u - n end, function(c, n) u = u - 1 end }\n"
  "local function op(i, pc) return (dec(refs[i], pc)) end\n"
  "local UGET, ADDVV, USETV, RET0 = op(1, 1), op(1, 2), op(1, 3), op(1, 4)\n"
  "local ADDVN, ADDNV, SUBVV, SUBVN = op(2, 2), op(3, 2), op(4, 2), op(5, 2)\n"
  "local seen = {}\n"
  "for _, o in ipairs({ UGET, ADDVV, USETV, RET0, SUBVV }) do\n"
  "  if seen[o] then return nil end\n"
  "  seen[o] = true\n"
  "end\n"
  "local ADDK = { [ADDVN] = true, [ADDNV] = true }\n"
  "return function(f, nargs)\n"
  "  local fi = util.funcinfo(f)\n"
  "  if not fi.bytecodes then return false end\n"
  "  local params, n = fi.params, fi.bytecodes\n"
  "  local function arg(s) return s >= 1 and s <= nargs and s < params and s or nil end\n"
  "  local stmts, pc = {}, 1\n"
  "  while true do\n"
  "    local o, t, _, _, uv = dec(f, pc)\n"
  "    if o == RET0 then return pc == n - 1 and stmts end\n"
  "    if o ~= UGET or t < params or #stmts >= MAXSTMTS then return false end\n"
  "    local o2, a2, c2, b2 = dec(f, pc + 1)\n"
  "    local o3, a3, _, _, d3 = dec(f, pc + 2)\n"
  "    if o3 ~= USETV or a3 ~= uv or d3 ~= a2 then return false end\n"
  "    local src, name = (fi.source or ''):match('^[@=]?([%w%p ]+)$'), util.funcuvname(f, uv)\n"
  "    local s = { uv = uv, line = (src or '?') .. ':' .. (util.funcinfo(f, pc).currentline or 0),\n"
  "                name = name ~= '' and name or '?' }\n"
  "    if (o2 == ADDVV or o2 == SUBVV) and b2 == t and arg(c2) then s.arg = c2\n"
  "    elseif o2 == ADDVV and c2 == t and arg(b2) then s.arg = b2\n"
  "    elseif (ADDK[o2] or o2 == SUBVN) and b2 == t then\n"
  "      local k = util.funck(f, c2)\n"
  "      if type(k) ~= 'number' or k ~= floor(k) or k > MAXK or k < -MAXK then return false end\n"
  "      s.k = k\n"
  "    else return false end\n"
  "    s.neg = o2 == SUBVV or o2 == SUBVN\n"
  "    stmts[#stmts + 1] = s\n"
  "    pc = pc + 3\n"
  "  end\n"
  "end\n";

/* Field k of the table on top as a number (0 if absent). */
static lua_Number lb_num(lua_State *L, const char *k)
{
  lua_getfield(L, -1, k);
  lua_Number v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

/* The plan of handler fn (stack index) called with nargs arguments: its
** index in lb_plans, or -1 if it is not inlined. */
static int lb_inl_analyze(lua_State *L, int fn, uint32_t hid, unsigned nargs)
{
  lua_getfield(L, LUA_REGISTRYINDEX, LB_PLANS);
  lua_rawgeti(L, -1, (int)(hid * 8 + nargs));
  if (!lua_isnil(L, -1)) {
    int r = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : -1;
    lua_pop(L, 2);
    return r;
  }
  lua_pop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LB_ANALYZE);
  lua_pushvalue(L, fn);
  lua_pushinteger(L, (lua_Integer)nargs);
  lua_call(L, 2, 1);
  int r = -1;
  unsigned n = lua_istable(L, -1) ? (unsigned)lua_objlen(L, -1) : 0;
  unsigned stripes = lb_nslots + LB_STRIPES * n <= LB_STRIPED_SLOTS ? LB_STRIPES : 1;
  if (lua_istable(L, -1) && lb_nslots + stripes * n <= BB_ADD_SLOTS) {
    if (lb_nplans == lb_capplans) {
      unsigned cap = lb_capplans ? 2 * lb_capplans : 16;
      lb_plans = mem_realloc(lb_plans, lb_capplans * sizeof *lb_plans, cap * sizeof *lb_plans);
      lb_capplans = cap;
    }
    struct lb_plan *pl = &lb_plans[lb_nplans];
    pl->n = n;
    lua_getfield(L, LUA_REGISTRYINDEX, LB_WHAT);
    for (unsigned i = 0; i < n; i++) {
      lua_rawgeti(L, -2, (int)i + 1);
      unsigned s = lb_nslots + stripes * i;
      pl->st[i].slot = (uint16_t)s;
      pl->st[i].stripes = (uint8_t)stripes;
      pl->st[i].arg = (uint8_t)lb_num(L, "arg");
      pl->st[i].k = (int64_t)lb_num(L, "k");
      lua_getfield(L, -1, "neg");
      pl->st[i].neg = (uint8_t)lua_toboolean(L, -1);
      lua_getfield(L, -2, "line");
      lua_getfield(L, -3, "name");
      lua_pushfstring(L, "%s: upvalue '%s'", lua_tostring(L, -2), lua_tostring(L, -1));
      lb_slots[s].what = lua_tostring(L, -1);
      lua_rawseti(L, -6, (int)s);
      lua_pop(L, 3);
      lb_slots[s].uv = lua_upvalueid(L, fn, (int)lb_num(L, "uv") + 1);
      for (unsigned j = 1; j < stripes; j++) lb_slots[s + j] = lb_slots[s];
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    __atomic_store_n(&lb_nslots, lb_nslots + stripes * n, __ATOMIC_RELEASE);
    __atomic_store_n(&bb_add_nslots, lb_nslots, __ATOMIC_RELEASE);
    r = (int)lb_nplans++;
  }
  lua_pop(L, 1);
  if (r >= 0) lua_pushinteger(L, r);
  else lua_pushboolean(L, 0);
  lua_rawseti(L, -2, (int)(hid * 8 + nargs));
  lua_pop(L, 1);
  return r;
}

/* The value argument a passes to its handler, if it is known at
** translation and small enough (LB_MAX_ADDEND). */
static int lb_static_arg(const struct cc_site *s, const struct cc_arg *a, int64_t *out)
{
  switch (a->kind) {
  case CC_ARG_CONST: *out = (int64_t)a->val; break;
  case CC_ARG_PC: case CC_ARG_COUNT: case CC_ARG_SIZE:
    if (a->val > LB_MAX_ADDEND) return 0;
    *out = (int64_t)a->val;
    break;
  case CC_ARG_TARGET:
    if (!(s->in.flags & INSN_F_DIRECT) || s->in.target > LB_MAX_ADDEND) return 0;
    *out = (int64_t)s->in.target;
    break;
  default: return 0;
  }
  return *out <= LB_MAX_ADDEND && *out >= -LB_MAX_ADDEND;
}

int lb_inl_plan(lua_State *L, int fn, uint32_t hid, const struct cc_site *s, struct bb_plan *p,
                unsigned at, int after)
{
  if (!lb_inl_ok || !opt.inline_calls) return 0;
  int r = lb_inl_analyze(L, fn, hid, s->nargs);
  if (r < 0) return 0;
  const struct lb_plan *pl = &lb_plans[r];
  int64_t k[LB_MAX_STMTS];
  for (unsigned i = 0; i < pl->n; i++) {
    k[i] = pl->st[i].k;
    if (pl->st[i].arg && !lb_static_arg(s, &s->args[pl->st[i].arg - 1], &k[i])) return 0;
    if (pl->st[i].neg) k[i] = -k[i];
  }
  for (unsigned i = 0; i < pl->n; i++) {
    if (!k[i]) continue;
    struct bb_op *o = bb_op_add(p);
    o->at = (uint16_t)at;
    o->after = (uint8_t)after;
    o->kind = BB_OP_ADD;
    o->site = pl->st[i].slot + lb_stripe++ % pl->st[i].stripes;
    o->k = k[i];
  }
  return 1;
}

int lb_inl_uvslot(lua_State *L, int fn, int uv, const char *what, unsigned *stripes)
{
  *stripes = lb_nslots + LB_STRIPES <= LB_STRIPED_SLOTS ? LB_STRIPES : 1;
  if (!lb_inl_ok || lb_nslots + *stripes > BB_ADD_SLOTS) return -1;
  unsigned s = lb_nslots;
  lua_getfield(L, LUA_REGISTRYINDEX, LB_WHAT);
  lua_pushstring(L, what);
  lb_slots[s].what = lua_tostring(L, -1);
  lua_rawseti(L, -2, (int)s);
  lua_pop(L, 1);
  lb_slots[s].uv = lua_upvalueid(L, fn, uv);
  for (unsigned j = 1; j < *stripes; j++) lb_slots[s + j] = lb_slots[s];
  __atomic_store_n(&lb_nslots, s + *stripes, __ATOMIC_RELEASE);
  __atomic_store_n(&bb_add_nslots, s + *stripes, __ATOMIC_RELEASE);
  return (int)s;
}

/* -- Setup ----------------------------------------------------------------- */

/* Does LuaJIT lay out upvalues and tag values as UV_V and lb_isnum assume?
** Checked on upvalues holding 1.5 (then 2.5), -2, nil, true and a table. */
static int lb_inl_check(lua_State *L)
{
  static const char src[] = "local a, b, c, d, e = 1.5, -2, nil, true, {}\n"
                            "return function() a = a + 1; b = c; d = e end\n";
  if (luaL_loadbuffer(L, src, sizeof src - 1, "=lurk.inlcheck") || lua_pcall(L, 0, 1, 0)) {
    lua_pop(L, 1);
    return 0;
  }
  uint64_t *v[5];
  for (int i = 0; i < 5; i++) {
    char *uv = lua_upvalueid(L, -1, i + 1);
    v[i] = *(uint64_t **)(uv + UV_V);
    if ((char *)v[i] != uv + UV_CLOSED) { lua_pop(L, 1); return 0; }
  }
  double d;
  __builtin_memcpy(&d, v[0], 8);
  int ok = d == 1.5 && lb_isnum(*v[0]) && lb_isnum(*v[1]) && !lb_isnum(*v[2]) && !lb_isnum(*v[3]) &&
           !lb_isnum(*v[4]) && *v[2] == ~0ull;
  lua_pushvalue(L, -1);
  ok = ok && lua_pcall(L, 0, 0, 0) == 0;
  __builtin_memcpy(&d, v[0], 8);
  lua_pop(L, 1);
  return ok && d == 2.5;
}

void lb_inl_open(lua_State *L)
{
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_PLANS);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_WHAT);
  lb_inl_ok = 0;
  if (!lb_inl_check(L)) {
    log_printf("lurk: clean calls are not inlined (LuaJIT's upvalue layout is not the expected one)\n");
    return;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "_PRELOAD");
  lua_getfield(L, -1, "jit.util");
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) { lua_pop(L, 1); return; }
  lua_call(L, 0, 1);
  if (luaL_loadbuffer(L, lb_analyze_src, sizeof lb_analyze_src - 1, "=lurk.inline")) lb_fail(L);
  lua_insert(L, -2);
  lua_getglobal(L, "bit");
  lua_pushinteger(L, LB_MAX_STMTS);
  lua_pushinteger(L, LB_MAX_ADDEND);
  lua_call(L, 4, 1);
  if (!lua_isfunction(L, -1)) { lua_pop(L, 1); return; }
  lua_setfield(L, LUA_REGISTRYINDEX, LB_ANALYZE);
  lb_inl_ok = 1;
}
