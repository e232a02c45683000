/* lurk: lurk.cachesim, cachegrind's data-cache model (cg_sim.c) in C: a
** set-associative D1 and LL, LRU, write-allocate, fed by a lurk.buffer of
** (address, info) records (info: size | 65536 for a store, as
** lurk.memrec gives it). The buffer hands each batch straight to the
** model, with no Lua in between (lb_buf.c). scripts/cachesim.lua uses it;
** docs/decisions.md says why the model is not Lua.
*/
#include <lauxlib.h>
#include <lua.h>
#include "lb_int.h"
#include "../engine/mem.h"

#define LB_CSIM "lurk.cachesim"

struct lb_cache {
  uint64_t *tags;           /* sets * assoc blocks, each set most recent first */
  uint64_t setmask;
  uint32_t assoc;
  unsigned shift;           /* log2 of the line size */
};

struct lb_csim {
  struct lb_cache d1, ll;
  uint64_t n[6];            /* reads, writes, D1 read and write misses, LL read and write misses */
};

/* Look block up in c: 0 on a hit, 1 on a miss; either way it becomes the
** most recent of its set (on a miss the least recent leaves). */
static int lb_cache_miss(struct lb_cache *c, uint64_t block)
{
  uint64_t *set = c->tags + (block & c->setmask) * c->assoc;
  uint64_t prev = set[0];
  if (prev == block) return 0;
  /* shift the ways down while searching (one pass, and no loop the
  ** compiler turns into a memmove call: the engine's is bytewise) */
  set[0] = block;
  for (uint32_t w = 1; w < c->assoc; w++) {
    uint64_t t = set[w];
    set[w] = prev;
    if (t == block) return 0;
    prev = t;
  }
  return 1;
}

void lb_csim_batch(void *sim, const uint64_t *r, uint64_t n)
{
  struct lb_csim *s = sim;
  for (uint64_t i = 0; i < n; i++, r += 2) {
    uint64_t ea = r[0], size = r[1] & 0xffff, last = ea + (size ? size : 1) - 1;
    int write = (r[1] >> 16) & 1;
    uint64_t b1 = ea >> s->d1.shift, b2 = last >> s->d1.shift;
    int miss, lmiss;
    if (b1 == b2) { /* cachegrind: one line, or two looked up and one miss if either is */
      miss = lb_cache_miss(&s->d1, b1);
      lmiss = miss && lb_cache_miss(&s->ll, ea >> s->ll.shift);
    } else {
      int x = lb_cache_miss(&s->d1, b1), y = lb_cache_miss(&s->d1, b2);
      int lx = x && lb_cache_miss(&s->ll, ea >> s->ll.shift);
      int ly = y && lb_cache_miss(&s->ll, last >> s->ll.shift);
      miss = x || y;
      lmiss = lx || ly;
    }
    s->n[write]++;
    if (miss) {
      s->n[2 + write]++;
      if (lmiss) s->n[4 + write]++;
    }
  }
}

/* Geometry at argument i (size, assoc, line): sets and line powers of two. */
static void lb_cache_init(lua_State *L, struct lb_cache *c, int i, const char *name)
{
  lua_Integer size = luaL_checkinteger(L, i), assoc = luaL_checkinteger(L, i + 1), line = luaL_checkinteger(L, i + 2);
  lua_Integer sets = assoc > 0 && line > 0 ? size / (assoc * line) : 0;
  if (sets < 1 || sets * assoc * line != size || (sets & (sets - 1)) || (line & (line - 1)) || assoc > 1024)
    luaL_error(L, "lurk.cachesim: %s=%d,%d,%d: sets (size / (assoc * line)) and line must be powers of two",
               name, (int)size, (int)assoc, (int)line);
  c->tags = mem_alloc((size_t)(sets * assoc) * sizeof *c->tags);
  for (lua_Integer k = 0; k < sets * assoc; k++) c->tags[k] = ~(uint64_t)0; /* no block's number */
  c->setmask = (uint64_t)sets - 1;
  c->assoc = (uint32_t)assoc;
  c->shift = (unsigned)__builtin_ctzll((uint64_t)line);
}

/* lurk.cachesim(d1size, d1assoc, d1line, llsize, llassoc, llline): a model;
** give it to lurk.buffer(2, sim [, records]) as the batch function. */
static int lb_lurk_cachesim(lua_State *L)
{
  struct lb_csim *s = lua_newuserdata(L, sizeof *s);
  lurk_memset(s, 0, sizeof *s);
  luaL_getmetatable(L, LB_CSIM);
  lua_setmetatable(L, -2);
  lb_cache_init(L, &s->d1, 1, "D1");
  lb_cache_init(L, &s->ll, 4, "LL");
  return 1;
}

/* sim:counts(): reads, writes, D1 read misses, D1 write misses, LL read
** misses, LL write misses, so far. */
static int lb_csim_counts(lua_State *L)
{
  struct lb_csim *s = luaL_checkudata(L, 1, LB_CSIM);
  for (int i = 0; i < 6; i++) lua_pushnumber(L, (lua_Number)s->n[i]);
  return 6;
}

static int lb_csim_tostring(lua_State *L)
{
  struct lb_csim *s = luaL_checkudata(L, 1, LB_CSIM);
  lua_pushfstring(L, "lurk.cachesim: %d refs", (int)(s->n[0] + s->n[1]));
  return 1;
}

void *lb_csim_test(lua_State *L, int i) { return luaL_testudata(L, i, LB_CSIM); }

void lb_csim_open(lua_State *L)
{
  static const luaL_Reg mm[] = { { "__tostring", lb_csim_tostring }, { NULL, NULL } };
  lb_class(L, LB_CSIM, mm);
  lua_newtable(L);
  lua_pushcfunction(L, lb_csim_counts);
  lua_setfield(L, -2, "counts");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_getglobal(L, "lurk");
  lua_pushcfunction(L, lb_lurk_cachesim);
  lua_setfield(L, -2, "cachesim");
  lua_pop(L, 1);
}
