/* lurk: hashed counters (lurk.hash), 64-bit counts keyed by any 64-bit
** integer (a pc, an address, a line). Each thread adds to its own table
** (engine/hc_tab.c), which compiled handlers reach through the thread
** block: two probes inline, hc_tab_add on a miss (a clean call). A value
** read from Lua is the sum of every thread's share and the shares of
** threads that have exited, as lurk.counters are (lb_hc.c).
**
** Every table access outside compiled code (misses, reads, retiring a
** thread) holds lb_hash_lk: a vfork child is retired by its parent
** without the Lua lock.
*/
#include <lauxlib.h>
#include <lua.h>
#include "lb_int.h"
#include "../arch/arch.h"
#include "../engine/hc.h"
#include "../engine/lock.h"
#include "../engine/mem.h"
#include "../engine/thr.h"

#define LB_HASH "lurk.hash"

extern int arch_tls_ready;

struct lb_hash {
  uint32_t id;              /* 0..HC_NHASH-1 */
  uint32_t site;            /* clean-call site of the miss path */
  uint64_t want;            /* homes a thread's table starts with */
  uint64_t dead;            /* shares of exited threads (a table's slots) */
};

static struct lb_hash *lb_hashes[HC_NHASH];
static unsigned lb_nhashes;
static struct lurk_lock lb_hash_lk = LOCK_INIT;

static struct lb_hash *lb_tohash(lua_State *L, int i) { return luaL_checkudata(L, i, LB_HASH); }

/* Thread t's table of h, made if it has none. */
static void lb_hash_ready(struct lb_hash *h, struct lurk_thread *t)
{
  if (t->tls.hc_hash[h->id].base) return;
  uint64_t base = hc_tab_new(h->want);
  t->tls.hc_hash[h->id].mask = hc_tab_mask(base);
  __atomic_store_n(&t->tls.hc_hash[h->id].base, base, __ATOMIC_RELEASE);
}

/* Add to key's count in thread t's share (or the exited threads', t NULL). */
static void lb_hash_add(struct lb_hash *h, struct lurk_thread *t, uint64_t key, int64_t add)
{
  if (!t) { h->dead = hc_tab_add(h->dead, key, add); return; }
  lb_hash_ready(h, t);
  uint64_t base = hc_tab_add(t->tls.hc_hash[h->id].base, key, add);
  /* a grown table: base first, so compiled code never pairs the new mask
  ** with the old, smaller table */
  __atomic_store_n(&t->tls.hc_hash[h->id].base, base, __ATOMIC_RELEASE);
  t->tls.hc_hash[h->id].mask = hc_tab_mask(base);
}

/* The miss path of compiled code (a clean call, argument: the table id):
** the key and addend are in the thread block. */
static int lb_hash_miss(lua_State *L)
{
  uint32_t id = (uint32_t)luaL_checkinteger(L, 2);
  struct lb_hash *h = id < lb_nhashes ? lb_hashes[id] : NULL;
  if (!h) return 0;
  struct lurk_thread *t = thr_self();
  lock_acquire(&lb_hash_lk);
  lb_hash_add(h, t, t->tls.hc_hash[id].key, (int64_t)t->tls.hc_hash[id].add);
  lock_release(&lb_hash_lk);
  return 0;
}

/* key's count: every share (lb_hash_lk held). */
static int64_t lb_hash_sum(struct lb_hash *h, uint64_t key)
{
  const struct hc_slot *s = hc_tab_find(h->dead, key);
  int64_t v = s ? s->count : 0;
  thr_lock();
  for (struct lurk_thread *t = thr_list; t; t = t->next)
    if ((s = hc_tab_find(t->tls.hc_hash[h->id].base, key))) v += __atomic_load_n(&s->count, __ATOMIC_RELAXED);
  thr_unlock();
  return v;
}

static uint64_t lb_hash_key(lua_State *L, int i)
{
  uint64_t k;
  if (!lb_ffi_to_u64(L, i, &k)) luaL_argerror(L, i, "integer key expected (a number or a 64-bit cdata)");
  return k;
}

/* h[key]: its count, 0 if no thread added to it. */
static int lb_hash_index(lua_State *L)
{
  struct lb_hash *h = lb_tohash(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) { /* methods */
    luaL_getmetatable(L, LB_HASH);
    lua_getfield(L, -1, lua_tostring(L, 2));
    return 1;
  }
  uint64_t key = lb_hash_key(L, 2);
  lock_acquire(&lb_hash_lk);
  int64_t v = lb_hash_sum(h, key);
  lock_release(&lb_hash_lk);
  lb_ffi_push_i64(L, v);
  return 1;
}

/* h[key] = v: the count becomes v, the key is in the table; the calling
** thread's share absorbs the difference (as lurk.counters' cells do). */
static int lb_hash_newindex(lua_State *L)
{
  struct lb_hash *h = lb_tohash(L, 1);
  uint64_t key = lb_hash_key(L, 2), v;
  if (!lb_ffi_to_u64(L, 3, &v)) luaL_argerror(L, 3, "integer expected (a number or a 64-bit cdata)");
  lock_acquire(&lb_hash_lk);
  int64_t cur = lb_hash_sum(h, key);
  lb_hash_add(h, arch_tls_ready ? thr_self() : NULL, key, (int64_t)v - cur);
  lock_release(&lb_hash_lk);
  return 0;
}

/* Every share of h merged into one table (lb_hash_lk held); free it with hc_tab_free. */
static uint64_t lb_hash_merge(struct lb_hash *h)
{
  uint64_t m = hc_tab_new(hc_tab_count(h->dead) * 4);
  const struct hc_slot *s;
  uint64_t i = 0;
  while ((s = hc_tab_next(h->dead, &i))) m = hc_tab_add(m, s->key, s->count);
  thr_lock();
  for (struct lurk_thread *t = thr_list; t; t = t->next)
    for (i = 0; (s = hc_tab_next(t->tls.hc_hash[h->id].base, &i));)
      m = hc_tab_add(m, s->key, __atomic_load_n(&s->count, __ATOMIC_RELAXED));
  thr_unlock();
  return m;
}

/* h:count() and #h: how many keys were added to. */
static int lb_hash_count(lua_State *L)
{
  struct lb_hash *h = lb_tohash(L, 1);
  lock_acquire(&lb_hash_lk);
  uint64_t m = lb_hash_merge(h);
  uint64_t n = hc_tab_count(m);
  hc_tab_free(m);
  lock_release(&lb_hash_lk);
  lua_pushnumber(L, (lua_Number)n);
  return 1;
}

/* h:totable(): { [key] = count, ... }; keys past 2^53 are int64 cdata. */
static int lb_hash_totable(lua_State *L)
{
  struct lb_hash *h = lb_tohash(L, 1);
  lock_acquire(&lb_hash_lk);
  uint64_t m = lb_hash_merge(h);
  lock_release(&lb_hash_lk);
  lua_createtable(L, 0, (int)hc_tab_count(m));
  const struct hc_slot *s;
  for (uint64_t i = 0; (s = hc_tab_next(m, &i));) {
    lb_ffi_push_i64(L, (int64_t)s->key);
    lb_ffi_push_i64(L, s->count);
    lua_rawset(L, -3);
  }
  hc_tab_free(m);
  return 1;
}

static int lb_hash_tostring(lua_State *L)
{
  struct lb_hash *h = lb_tohash(L, 1);
  lua_pushfstring(L, "lurk.hash: %p", (void *)h);
  return 1;
}

/* lurk.hash([homes]): an empty hashed counter table. */
static int lb_lurk_hash(lua_State *L)
{
  lua_Integer want = luaL_optinteger(L, 1, 1024);
  luaL_argcheck(L, want >= 1 && want <= (1 << 26), 1, "1 to 2^26 slots");
  if (lb_nhashes == HC_NHASH) {
    lua_pushnil(L);
    lua_pushfstring(L, "at most %d hashes", HC_NHASH);
    return 2;
  }
  struct lb_hash *h = lua_newuserdata(L, sizeof *h);
  h->id = lb_nhashes;
  h->want = (uint64_t)want;
  h->dead = hc_tab_new(1);
  luaL_getmetatable(L, LB_HASH);
  lua_setmetatable(L, -2);
  lua_pushcfunction(L, lb_hash_miss);
  h->site = lb_bb_const_site(L, lua_gettop(L), h->id);
  lua_pop(L, 1);
  /* kept for the run: the miss path and thread exits look it up by id */
  lua_pushvalue(L, -1);
  luaL_ref(L, LUA_REGISTRYINDEX);
  lock_acquire(&lb_hash_lk);
  thr_lock();
  for (struct lurk_thread *t = thr_list; t; t = t->next) lb_hash_ready(h, t);
  thr_unlock();
  lb_hashes[lb_nhashes++] = h;
  lock_release(&lb_hash_lk);
  return 1;
}

int lb_hash_info(lua_State *L, int i, uint32_t *site)
{
  struct lb_hash *h = luaL_testudata(L, i, LB_HASH);
  if (!h) return -1;
  *site = h->site;
  return (int)h->id;
}

void lb_hash_thread_init(struct lurk_thread *t)
{
  lock_acquire(&lb_hash_lk);
  for (unsigned i = 0; i < lb_nhashes; i++) lb_hash_ready(lb_hashes[i], t);
  lock_release(&lb_hash_lk);
}

/* Move thread t's shares of hash i into the exited threads' (lb_hash_lk held). */
static void lb_hash_bury(unsigned i, uint64_t base)
{
  const struct hc_slot *s;
  for (uint64_t j = 0; (s = hc_tab_next(base, &j));) lb_hash_add(lb_hashes[i], NULL, s->key, s->count);
  hc_tab_free(base);
}

void lb_hash_retire(struct lurk_thread *t)
{
  lock_acquire(&lb_hash_lk);
  for (unsigned i = 0; i < lb_nhashes; i++) {
    uint64_t base = t->tls.hc_hash[i].base;
    t->tls.hc_hash[i].base = t->tls.hc_hash[i].mask = 0;
    if (base) lb_hash_bury(i, base);
  }
  lock_release(&lb_hash_lk);
}

/* Across a fork only the forking thread goes on in the child. The other
** threads' tables, as they are at the fork (a miss path holds the Lua
** lock, which the forking thread holds across it), join the exited
** threads' in the child. */
struct lb_fork_tab { uint64_t base; unsigned id; };
static struct lb_fork_tab *lb_fork_tabs;
static unsigned lb_fork_ntabs, lb_fork_cap;

void lb_hash_fork_prepare(void)
{
  lb_fork_ntabs = 0;
  if (!lb_nhashes) return;
  struct lurk_thread *self = thr_self();
  lock_acquire(&lb_hash_lk);
  thr_lock();
  for (struct lurk_thread *t = thr_list; t; t = t->next)
    for (unsigned i = 0; t != self && i < lb_nhashes; i++)
      if (t->tls.hc_hash[i].base) {
        if (lb_fork_ntabs == lb_fork_cap) {
          unsigned cap = lb_fork_cap ? 2 * lb_fork_cap : 64;
          lb_fork_tabs = mem_realloc(lb_fork_tabs, lb_fork_cap * sizeof *lb_fork_tabs, cap * sizeof *lb_fork_tabs);
          lb_fork_cap = cap;
        }
        lb_fork_tabs[lb_fork_ntabs].id = i;
        lb_fork_tabs[lb_fork_ntabs++].base = t->tls.hc_hash[i].base;
      }
  thr_unlock();
  lock_release(&lb_hash_lk);
}

void lb_hash_fork_child(void)
{
  lock_reset(&lb_hash_lk);
  for (unsigned j = 0; j < lb_fork_ntabs; j++) lb_hash_bury(lb_fork_tabs[j].id, lb_fork_tabs[j].base);
  lb_fork_ntabs = 0;
}

void lb_hash_open(lua_State *L)
{
  static const luaL_Reg mm[] = {
    { "__index", lb_hash_index }, { "__newindex", lb_hash_newindex }, { "__len", lb_hash_count },
    { "__tostring", lb_hash_tostring }, { "count", lb_hash_count }, { "totable", lb_hash_totable }, { NULL, NULL }
  };
  lb_class(L, LB_HASH, mm);
  lua_pop(L, 1);
  lua_getglobal(L, "lurk");
  lua_pushcfunction(L, lb_lurk_hash);
  lua_setfield(L, -2, "hash");
  lua_pop(L, 1);
}
