/* lurk: symbols and call stacks in Lua, over engine/sym.h:
** lurk.sym(pc), lurk.addr(pattern), lurk.symbols(pattern), mod:symbols()
** on module tables (metatable lurk.module), ctx:backtrace([n]) in clean
** calls, and interned stacks (lb_stack_intern, lurk.stack(id)).
*/
#include "lb_int.h"
#include "../engine/mem.h"
#include "../engine/mod.h"
#include "../engine/sym.h"

#define LB_MODULE "lurk.module"
#define LB_BT_MAX 1024

static const char *lb_sym_modname(const struct mod_info *m)
{
  const char *name = m->path;
  for (const char *p = m->path; *p; p++)
    if (*p == '/') name = p + 1;
  return name;
}

static uint64_t lb_sym_checkaddr(lua_State *L, int i)
{
  lua_Number d = luaL_checknumber(L, i);
  return d < 0 ? 0 : (uint64_t)d;
}

/* Fields of a symbol entry into the table on top. */
static void lb_sym_entry(lua_State *L, const struct sym_entry *e)
{
  lua_pushstring(L, lb_sym_modname(e->mod));
  lua_setfield(L, -2, "module");
  lua_pushstring(L, e->name);
  lua_setfield(L, -2, "name");
  lua_pushstring(L, e->mangled);
  lua_setfield(L, -2, "mangled");
  lua_pushnumber(L, (lua_Number)e->addr);
  lua_setfield(L, -2, "addr");
  lua_pushnumber(L, (lua_Number)e->size);
  lua_setfield(L, -2, "size");
  lua_pushstring(L, e->kind == SYM_OBJECT ? "object" : "function");
  lua_setfield(L, -2, "kind");
  lua_pushboolean(L, e->global);
  lua_setfield(L, -2, "global");
  if (e->kind == SYM_IFUNC) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "ifunc");
    lua_pushnumber(L, (lua_Number)e->resolver);
    lua_setfield(L, -2, "resolver");
  }
}

/* lurk.sym(pc): {module, path, base, name, mangled, addr, size, offset, file,
** line, ...} or nil when pc is in no module; name nil when no symbol covers pc. */
static int lb_lurk_sym(lua_State *L)
{
  uint64_t pc = lb_sym_checkaddr(L, 1);
  int lines = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2); /* false: no file:line (no DWARF read) */
  struct sym_info si;
  if (!sym_lookup(pc, &si, lines)) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, 14);
  if (si.sym.name) {
    lb_sym_entry(L, &si.sym);
    lua_pushnumber(L, (lua_Number)si.offset);
    lua_setfield(L, -2, "offset");
  } else {
    lua_pushstring(L, lb_sym_modname(si.mod));
    lua_setfield(L, -2, "module");
  }
  lua_pushstring(L, si.mod->path);
  lua_setfield(L, -2, "path");
  lua_pushnumber(L, (lua_Number)si.mod->base);
  lua_setfield(L, -2, "base");
  if (si.file) {
    lua_pushstring(L, si.file);
    lua_setfield(L, -2, "file");
    lua_pushinteger(L, si.line);
    lua_setfield(L, -2, "line");
  }
  return 1;
}

/* -- By name ------------------------------------------------------------------ */

struct lb_sym_vec { struct sym_entry *v; size_t n, cap; int first; };

static int lb_sym_collect(void *ud, const struct sym_entry *e)
{
  struct lb_sym_vec *v = ud;
  if (v->n == v->cap) {
    size_t nc = v->cap ? v->cap * 2 : 16;
    v->v = mem_realloc(v->v, v->cap * sizeof *v->v, nc * sizeof *v->v);
    v->cap = nc;
  }
  v->v[v->n++] = *e;
  return v->first && e->global; /* lurk.addr: the first global definition will do */
}

static void lb_sym_vfree(struct lb_sym_vec *v) { mem_free(v->v, v->cap * sizeof *v->v); }

static const char *lb_sym_checkpattern(lua_State *L, int i)
{
  size_t n;
  const char *p = luaL_checklstring(L, i, &n);
  luaL_argcheck(L, n > 0 && p[n - 1] != '!', i, "empty symbol name");
  return p;
}

/* lurk.addr("module!name"): the address (an IFUNC's implementation that runs),
** or nil, message. A glob picks the first match (lurk.symbols lists all). */
static int lb_lurk_addr(lua_State *L)
{
  const char *pat = lb_sym_checkpattern(L, 1);
  struct lb_sym_vec v = { NULL, 0, 0, 1 };
  sym_match(pat, 0, lb_sym_collect, &v);
  const struct sym_entry *pick = NULL;
  for (size_t i = 0; i < v.n && !pick; i++)
    if (v.v[i].global) pick = &v.v[i];
  if (!pick && v.n) pick = &v.v[0];
  if (pick) lua_pushnumber(L, (lua_Number)pick->addr);
  lb_sym_vfree(&v);
  if (pick) return 1;
  lua_pushnil(L);
  lua_pushfstring(L, "no symbol matches '%s'", pat);
  return 2;
}

/* lurk.symbols(pattern): every match, a list of {module, name, mangled, addr, size, kind}. */
static int lb_lurk_symbols(lua_State *L)
{
  const char *pat = lb_sym_checkpattern(L, 1);
  struct lb_sym_vec v = { NULL, 0, 0, 0 };
  sym_match(pat, 0, lb_sym_collect, &v);
  lua_createtable(L, (int)v.n, 0);
  for (size_t i = 0; i < v.n; i++) {
    lua_createtable(L, 0, 8);
    lb_sym_entry(L, &v.v[i]);
    lua_rawseti(L, -2, (int)i + 1);
  }
  lb_sym_vfree(&v);
  return 1;
}

/* -- Modules ------------------------------------------------------------------ */

/* The loaded module a module table stands for (by its base), or raise. */
static const struct mod_info *lb_sym_tomod(lua_State *L, int i)
{
  luaL_checktype(L, i, LUA_TTABLE);
  lua_getfield(L, i, "base");
  lua_getfield(L, i, "path");
  lua_Number b = lua_tonumber(L, -2);
  const char *path = lua_tostring(L, -1);
  const struct mod_info *m = b > 0 ? mod_find((uint64_t)b) : NULL;
  if (!path) luaL_argerror(L, i, "module expected");
  if (!m || m->base != (uint64_t)b || lurk_strcmp(m->path, path))
    luaL_error(L, "module %s is not loaded", path);
  lua_pop(L, 2);
  return m;
}

static int lb_module_symbols_iter(lua_State *L)
{
  const struct mod_info *m = lua_touserdata(L, lua_upvalueindex(1));
  size_t i = (size_t)lua_tonumber(L, lua_upvalueindex(2));
  struct sym_entry e;
  if (!sym_module_next(m, &i, &e)) return 0;
  lua_pushnumber(L, (lua_Number)i);
  lua_replace(L, lua_upvalueindex(2));
  lua_createtable(L, 0, 8);
  lb_sym_entry(L, &e);
  return 1;
}

/* mod:symbols(): an iterator over the module's functions, in address order. */
static int lb_module_symbols(lua_State *L)
{
  const struct mod_info *m = lb_sym_tomod(L, 1);
  lua_pushlightuserdata(L, (void *)m);
  lua_pushnumber(L, 0);
  lua_pushcclosure(L, lb_module_symbols_iter, 2);
  return 1;
}

/* mod:address_taken(): the module's address-taken code addresses, sorted
** (relocation targets and, in a non-PIE program, data pointers to code). */
static int lb_module_address_taken(lua_State *L)
{
  const struct mod_info *m = lb_sym_tomod(L, 1);
  const uint64_t *v;
  size_t n = sym_module_addr_taken(m, &v);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushnumber(L, (lua_Number)v[i]);
    lua_rawseti(L, -2, (int)i + 1);
  }
  return 1;
}

static int lb_module_tostring(lua_State *L)
{
  char b[24];
  lua_getfield(L, 1, "path");
  lua_getfield(L, 1, "base");
  lua_pushfstring(L, "<module %s at %s>", lua_tostring(L, -2) ? lua_tostring(L, -2) : "?",
                  lb_hex(b, (uint64_t)lua_tonumber(L, -1)));
  return 1;
}

/* -- Call stacks -------------------------------------------------------------- */

/* ctx:backtrace([n]): the app's call stack at the clean call, a list of pcs:
** [1] the current pc, then return addresses (at most n, default 64); and a
** list of booleans, true where the pc is exact (frame 1, a frame a signal
** interrupted), false for a return address. */
static int lb_ctx_backtrace(lua_State *L)
{
  uint64_t pc;
  const struct arch_mctx *m = lb_cc_context(&pc);
  if (!m) return luaL_error(L, "the context is only valid inside a clean call");
  return lb_backtrace_push(L, m, pc, 2);
}

int lb_backtrace_push(lua_State *L, const struct arch_mctx *m, uint64_t pc, int narg)
{
  lua_Integer n = luaL_optinteger(L, narg, 64);
  luaL_argcheck(L, n >= 1 && n <= LB_BT_MAX, narg, "frame count out of range (1..1024)");
  uint64_t pcs[LB_BT_MAX];
  uint8_t exact[LB_BT_MAX];
  unsigned k = sym_backtrace(m, pc, pcs, exact, (unsigned)n);
  lua_createtable(L, (int)k, 0);
  lua_createtable(L, (int)k, 0);
  for (unsigned i = 0; i < k; i++) {
    lua_pushnumber(L, (lua_Number)pcs[i]);
    lua_rawseti(L, -3, (int)i + 1);
    lua_pushboolean(L, exact[i]);
    lua_rawseti(L, -2, (int)i + 1);
  }
  return 2;
}

/* -- Interned stacks -----------------------------------------------------------
** A stack (a list of pcs) gets a small integer id, the same for equal stacks,
** so a tool that keeps a stack per event (memcheck: an allocation and a free
** stack per block) keeps an id and makes the pcs table once per distinct
** stack (lurk.stack), instead of a table per event for the collector to
** sweep. Ids, their pcs and the hash index live in engine memory and are
** never freed (as Valgrind's execontexts); all Lua runs under one lock,
** which guards them. */

struct lb_stk { uint64_t hash; uint32_t off, n; };
static struct lb_stk *stk_ent;                 /* [id - 1] */
static uint32_t stk_nent, stk_maxent;
static uint32_t *stk_idx;                      /* open addressing: ids, 0 empty */
static uint32_t stk_cap;                       /* slots, a power of 2 */
static uint64_t *stk_pcs;
static uint32_t stk_npcs, stk_maxpcs;

static uint64_t stk_hash(const uint64_t *pcs, unsigned k)
{
  uint64_t h = 0x9e3779b97f4a7c15ull ^ k;
  for (unsigned i = 0; i < k; i++) {
    h ^= pcs[i];
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return h;
}

static void stk_index_put(uint32_t id)
{
  uint32_t i = (uint32_t)stk_ent[id - 1].hash & (stk_cap - 1);
  while (stk_idx[i]) i = (i + 1) & (stk_cap - 1);
  stk_idx[i] = id;
}

uint32_t lb_stack_intern(const uint64_t *pcs, unsigned k)
{
  uint64_t h = stk_hash(pcs, k);
  if (stk_cap)
    for (uint32_t i = (uint32_t)h & (stk_cap - 1), id; (id = stk_idx[i]); i = (i + 1) & (stk_cap - 1)) {
      const struct lb_stk *e = &stk_ent[id - 1];
      if (e->hash == h && e->n == k && !lurk_memcmp(stk_pcs + e->off, pcs, k * sizeof *pcs)) return id;
    }
  if (stk_nent == stk_maxent) {
    uint32_t m = stk_maxent ? 2 * stk_maxent : 1024;
    stk_ent = mem_realloc(stk_ent, stk_maxent * sizeof *stk_ent, m * sizeof *stk_ent);
    stk_maxent = m;
  }
  while (stk_npcs + k > stk_maxpcs) {
    uint32_t m = stk_maxpcs ? 2 * stk_maxpcs : 8192;
    stk_pcs = mem_realloc(stk_pcs, stk_maxpcs * sizeof *stk_pcs, m * sizeof *stk_pcs);
    stk_maxpcs = m;
  }
  lurk_memcpy(stk_pcs + stk_npcs, pcs, k * sizeof *pcs);
  stk_ent[stk_nent] = (struct lb_stk){ h, stk_npcs, k };
  stk_npcs += k;
  uint32_t id = ++stk_nent;
  if (2 * stk_nent > stk_cap) {                /* grow the index: at most half full */
    if (stk_idx) mem_free(stk_idx, stk_cap * sizeof *stk_idx);
    stk_cap = stk_cap ? 2 * stk_cap : 2048;
    stk_idx = mem_alloc(stk_cap * sizeof *stk_idx);
    for (uint32_t j = 1; j <= stk_nent; j++) stk_index_put(j);
  } else {
    stk_index_put(id);
  }
  return id;
}

/* lurk.stack(id): the pcs of an interned stack (call:stackid), a new list. */
static int lb_lurk_stack(lua_State *L)
{
  lua_Integer id = luaL_checkinteger(L, 1);
  luaL_argcheck(L, id >= 1 && id <= (lua_Integer)stk_nent, 1, "no such stack");
  const struct lb_stk *e = &stk_ent[id - 1];
  lua_createtable(L, (int)e->n, 0);
  for (uint32_t i = 0; i < e->n; i++) {
    lua_pushnumber(L, (lua_Number)stk_pcs[e->off + i]);
    lua_rawseti(L, -2, (int)i + 1);
  }
  return 1;
}

void lb_module_setmeta(lua_State *L)
{
  luaL_getmetatable(L, LB_MODULE);
  lua_setmetatable(L, -2);
}

static const luaL_Reg lb_sym_funcs[] = {
  { "sym", lb_lurk_sym }, { "addr", lb_lurk_addr }, { "symbols", lb_lurk_symbols }, { "stack", lb_lurk_stack },
  { NULL, NULL }
};

void lb_sym_open(lua_State *L)
{
  luaL_register(L, NULL, lb_sym_funcs);
  static const luaL_Reg mod_mm[] = { { "__tostring", lb_module_tostring }, { NULL, NULL } };
  lb_class(L, LB_MODULE, mod_mm);
  lua_newtable(L);
  lua_pushcfunction(L, lb_module_symbols);
  lua_setfield(L, -2, "symbols");
  lua_pushcfunction(L, lb_module_address_taken);
  lua_setfield(L, -2, "address_taken");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  /* ctx:backtrace: a method of the clean-call context (lb_bb.c looks
  ** names that are not registers up in its metatable's `methods`). */
  luaL_getmetatable(L, "lurk.ctx");
  lua_newtable(L);
  lua_pushcfunction(L, lb_ctx_backtrace);
  lua_setfield(L, -2, "backtrace");
  lua_setfield(L, -2, "methods");
  lua_pop(L, 1);
}
