/* lurk: code cache management.
** Chunks are placed within rel32 reach of the app code they hold, so
** rip-relative operands and branches to nearby code stay short. Each is one
** shared memory object mapped twice: read+execute where its code runs, and
** read+write at an unrelated address the engine writes through (cache_w),
** so a store by the app into the code it runs faults.
** Blocks are found by app pc through a chained hash; indirect branches are
** found by generated code through a separate open-addressed table.
*/
#include <errno.h>
#include <sys/mman.h>
#include "cache.h"
#include "lock.h"
#include "log.h"
#include "vm.h"
#include "bb.h"
#include "wrap.h"
#include "../bindings/lb.h"
#include "mem.h"
#include "opt.h"
#include "../arch/arch.h"
#include "rseq.h"
#include "thr.h"
#include "../arch/x86_64/syscall.h"

struct lurk_stats stats;

/* -- Chunks ----------------------------------------------------------------- */

#define CHUNK_SIZE (16u << 20)
#define CHUNK_REACH (1ull << 30) /* a chunk serves pcs within +-1 GiB */
#define CHUNK_RESERVE (64u << 10)
/* Code faulted in ahead of the blocks written, in one madvise each time
** (mem_populate): /bin/true's start-up fills about 300 KiB. */
#define CHUNK_AHEAD (128u << 10)

/* Blocks per chunk at most: no block is smaller than 32 bytes. */
#define CHUNK_MAX_BLOCKS (CHUNK_SIZE / 32)

struct cache_chunk {
  uint8_t *base, *top, *end;
  int64_t wd;     /* the RW view's address minus the RX view's (0: one RWX mapping) */
  uint8_t *fork_w; /* the child's copy, between cache_fork_prepare and _finish */
  uint8_t *stubs; /* exit stubs grow down from end to here; bodies grow up to top */
  struct cache_chunk *next;
  uint8_t *ready_top, *ready_stubs; /* populated: [base, ready_top), [ready_stubs, end) */
  struct cache_block **blocks; /* in address order, for cache_block_at */
  uint32_t nblocks;
};

static struct cache_chunk *chunks;
static struct lurk_lock cache_lk = LOCK_INIT;

static void flush_drain(void);

void cache_lock(void) { lock_acquire(&cache_lk); }
/* Flushes requested while the lock was held are done by the thread that
** releases it (cache_flush_request). */
void cache_unlock(void)
{
  lock_release(&cache_lk);
  flush_drain();
}

static uint64_t dist(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

/* The program's heap start (brk at takeover) and the room left for it. */
static uint64_t cache_heap;
#define HEAP_ROOM (512ull << 20)

#ifndef MREMAP_FIXED
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#endif

int64_t cache_wd;
/* Set when the kernel cannot alias a shared mapping (mremap of size 0):
** chunks are then single RWX mappings, as they were before the two views. */
static int cache_one_view;

/* A new shared memory object of CHUNK_SIZE, mapped read+write anywhere
** (the RW view); 0 when chunks are single mappings. */
static uint64_t chunk_object(void)
{
  if (cache_one_view) return 0;
  long w = sys_mmap(0, CHUNK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (SYS_FAILED(w)) log_fatal("cannot map code cache: error %ld", -w);
  return (uint64_t)w;
}

/* Map object w's RX view at exactly at (any address if at is 0), or w's
** single RWX mapping when w is 0; the address, or an error. mremap with
** old size 0 makes a second mapping of a shared object, but MREMAP_FIXED
** replaces whatever is at the target: the spot is taken with a
** reservation first (MAP_FIXED_NOREPLACE), which the alias replaces. */
static long chunk_view(uint64_t at, uint64_t w)
{
  int fl = MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED_NOREPLACE : 0);
  long r = sys_mmap(at, CHUNK_SIZE, w ? PROT_NONE : PROT_READ | PROT_WRITE | PROT_EXEC,
                    fl | (w ? MAP_NORESERVE : 0), -1, 0);
  if (SYS_FAILED(r)) return r;
  if (at && (uint64_t)r != at) { /* old kernels ignore NOREPLACE */
    sys_munmap(r, CHUNK_SIZE);
    return -EEXIST;
  }
  if (!w) return r;
  long x = sys_call6(SYS_mremap, (long)w, 0, CHUNK_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, r, 0);
  if (!SYS_FAILED(x)) x = sys_mprotect(r, CHUNK_SIZE, PROT_READ | PROT_EXEC);
  if (SYS_FAILED(x)) {
    sys_munmap(r, CHUNK_SIZE);
    return x;
  }
  return r;
}

/* Map a chunk near pc: try fixed spots below and above, then anywhere. */
static struct cache_chunk *chunk_new(uint64_t pc)
{
  uint8_t *p = NULL;
  uint64_t page = pc & ~0xfffffull, w = chunk_object();
  if (opt.far_cache) {
    /* Testing aid (--far-cache): out of rel32 reach of all app code, so every
    ** rip-relative operand and link takes the far path. */
    static uint64_t far_next = 0x100000000000ull;
    for (int i = 0; i < 64 && !p; i++, far_next += CHUNK_SIZE) {
      long r = chunk_view(far_next, w);
      if (!SYS_FAILED(r)) p = (uint8_t *)r;
    }
    far_next += CHUNK_SIZE;
  }
  /* Near pc, below it first; never where the program's brk heap grows
  ** (cache_heap..+HEAP_ROOM): the kernel starts the heap at a random place
  ** up to 1 GiB above a non-PIE executable, and a cache there made brk fail. */
  for (int i = 1; i < 30 && !p; i++) { /* within CHUNK_REACH */
    uint64_t off = (uint64_t)i * (32ull << 20);
    uint64_t tries[2] = { page - off - CHUNK_SIZE, page + off };
    for (int k = 0; k < 2 && !p; k++) {
      if (tries[k] < 0x10000 || tries[k] > 0x7fff00000000ull) continue;
      if (tries[k] + CHUNK_SIZE > cache_heap && tries[k] < cache_heap + HEAP_ROOM) continue;
      long r = chunk_view(tries[k], w);
      if (!SYS_FAILED(r)) p = (uint8_t *)r;
    }
  }
  if (!p) {
    long r = chunk_view(0, w);
    if (SYS_FAILED(r)) log_fatal("cannot map code cache: error %ld", -r);
    p = (uint8_t *)r;
  }
  mem_note((uint64_t)p, (uint64_t)p + CHUNK_SIZE, MEM_KIND_CACHE);
  if (w) mem_note(w, w + CHUNK_SIZE, MEM_KIND_CACHE);
  struct cache_chunk *c = mem_alloc(sizeof *c);
  c->base = c->top = p;
  c->end = c->stubs = p + CHUNK_SIZE;
  c->wd = w ? (int64_t)(w - (uint64_t)p) : 0;
  c->ready_top = c->base;
  c->ready_stubs = c->end;
  c->blocks = mem_map(CHUNK_MAX_BLOCKS * sizeof *c->blocks, PROT_READ | PROT_WRITE);
  if (!c->blocks) log_fatal("cannot map a chunk's block list");
  c->next = chunks;
  __atomic_store_n(&chunks, c, __ATOMIC_RELEASE);
  LURK_COUNT(stats.chunks);
  return c;
}

/* Fault in [lo, hi) of chunk c: its RW view for the engine's writes, and
** the RX view the code runs from (mem_populate). */
static void chunk_populate(const struct cache_chunk *c, uint8_t *lo, uint8_t *hi)
{
  mem_populate(lo + c->wd, (size_t)(hi - lo), 1);
  if (c->wd) mem_populate(lo, (size_t)(hi - lo), 0);
}

uint8_t *cache_reserve(struct cache_block *b, uint64_t pc, size_t need)
{
  struct cache_chunk *c;
  if (need < CHUNK_RESERVE) need = CHUNK_RESERVE;
  for (c = chunks; c; c = c->next)
    if ((size_t)(c->stubs - c->top) >= need &&
        (opt.far_cache || (dist((uint64_t)c->base, pc) < CHUNK_REACH &&
                           dist((uint64_t)c->end, pc) < CHUNK_REACH)))
      break;
  if (!c) c = chunk_new(pc);
  b->chunk = c;
  b->cpc = c->top;
  cache_wd = c->wd;
  if (c->top + need > c->ready_top) { /* fault in what this block may fill, and more */
    uint8_t *to = c->top + need + CHUNK_AHEAD;
    if (to > c->stubs) to = c->stubs;
    chunk_populate(c, c->ready_top, to);
    c->ready_top = to;
  }
  return c->top;
}

void cache_commit(struct cache_block *b, uint8_t *end)
{
  struct cache_chunk *c = b->chunk;
  LURK_ASSERT(end >= c->top && end <= c->stubs, "block overran its chunk");
  LURK_ASSERT(cache_wd == c->wd, "a block was written through another chunk's view");
  LURK_ASSERT(c->nblocks < CHUNK_MAX_BLOCKS, "chunk block list full");
  b->csize = (uint32_t)(end - b->cpc);
  c->top = (uint8_t *)(((uintptr_t)end + 15) & ~(uintptr_t)15);
  stats.cache_bytes += b->csize;
  c->blocks[c->nblocks] = b;
  __atomic_store_n(&c->nblocks, c->nblocks + 1, __ATOMIC_RELEASE);
}

uint8_t *cache_stubs(struct cache_block *b, size_t n)
{
  struct cache_chunk *c = b->chunk;
  LURK_ASSERT((size_t)(c->stubs - c->top) >= n + CHUNK_RESERVE / 2, "exit stubs overran their chunk");
  c->stubs -= n;
  stats.cache_bytes += n;
  if (c->stubs < c->ready_stubs) {
    uint8_t *from = c->stubs - CHUNK_AHEAD / 4 > c->top ? c->stubs - CHUNK_AHEAD / 4 : c->top;
    chunk_populate(c, from, c->ready_stubs);
    c->ready_stubs = from;
  }
  return c->stubs;
}

uint8_t *cache_alloc_near(uint64_t near, size_t n)
{
  struct cache_chunk *c;
  for (c = chunks; c; c = c->next)
    if ((size_t)(c->stubs - c->top) >= n + CHUNK_RESERVE && dist((uint64_t)c->base, near) < CHUNK_REACH &&
        dist((uint64_t)c->end, near) < CHUNK_REACH)
      break;
  if (!c) c = chunk_new(near);
  cache_wd = c->wd;
  uint8_t *p = c->top;
  c->top = (uint8_t *)(((uintptr_t)p + n + 15) & ~(uintptr_t)15);
  return p;
}

static struct cache_chunk *chunk_of(uint64_t cpc)
{
  for (struct cache_chunk *c = __atomic_load_n(&chunks, __ATOMIC_ACQUIRE); c; c = c->next)
    if (cpc >= (uint64_t)c->base && cpc < (uint64_t)c->end) return c;
  return NULL;
}

int cache_holds(uint64_t cpc) { return chunk_of(cpc) != NULL; }

void cache_write_to(const uint8_t *cpc)
{
  struct cache_chunk *c = chunk_of((uint64_t)cpc);
  LURK_ASSERT(c, "a cache write outside the cache");
  cache_wd = c->wd;
}

/* -- fork ------------------------------------------------------------------- */

/* A child's cache is a copy: the two views are MAP_SHARED, which fork
** shares too, so the parent's writes (new code, links, unlinks) would land
** in the child's cache. The copy is made before the fork, under the cache
** lock (a child copying after it could see the parent's next write). Only
** the used parts of a chunk are copied: code at the bottom, stubs at the
** top. */
static void ibl_fork_prepare(void);
/* The child maps each copy over its table's read-only view (whose address
** the thread block holds) and writes through it; the parent drops them. */
static void ibl_fork_finish(int child);

void cache_fork_prepare(void)
{
  if (cache_one_view) return;
  ibl_fork_prepare();
  for (struct cache_chunk *c = chunks; c; c = c->next) {
    uint8_t *n = (uint8_t *)chunk_object();
    lurk_memcpy(n, c->base, (size_t)(c->top - c->base));
    lurk_memcpy(n + (c->stubs - c->base), c->stubs, (size_t)(c->end - c->stubs));
    c->fork_w = n;
  }
}

/* The child maps its copy over the chunk's RX view (replacing the shared
** object there) and writes through it; the parent drops the copies. */
void cache_fork_finish(int child)
{
  if (cache_one_view) return;
  ibl_fork_finish(child);
  for (struct cache_chunk *c = chunks; c; c = c->next) {
    uint64_t n = (uint64_t)c->fork_w, old_w = (uint64_t)c->base + (uint64_t)c->wd;
    c->fork_w = NULL;
    if (!child) {
      sys_munmap(n, CHUNK_SIZE);
      continue;
    }
    long x = sys_call6(SYS_mremap, (long)n, 0, CHUNK_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, (long)c->base, 0);
    if (!SYS_FAILED(x)) x = sys_mprotect(c->base, CHUNK_SIZE, PROT_READ | PROT_EXEC);
    if (SYS_FAILED(x)) log_fatal("cannot copy the code cache for a child: error %ld", -x);
    sys_munmap(old_w, CHUNK_SIZE);
    mem_forget(old_w, old_w + CHUNK_SIZE);
    mem_note(n, n + CHUNK_SIZE, MEM_KIND_CACHE);
    c->wd = (int64_t)(n - (uint64_t)c->base);
  }
}

const struct cache_block *cache_block_at(uint64_t cpc)
{
  struct cache_chunk *c = chunk_of(cpc);
  if (!c) return NULL;
  uint32_t lo = 0, hi = __atomic_load_n(&c->nblocks, __ATOMIC_ACQUIRE);
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    const struct cache_block *b = c->blocks[mid];
    if (cpc < (uint64_t)b->cpc) hi = mid;
    else if (cpc >= (uint64_t)b->cpc + b->csize) lo = mid + 1;
    else return b;
  }
  return NULL;
}

/* -- Exits ------------------------------------------------------------------ */

#define EXIT_PAGE_BITS 10
#define EXIT_MAX_PAGES 16384

static struct cache_exit *exit_pages[EXIT_MAX_PAGES];
static uint32_t exit_count;

struct cache_exit *cache_exit_get(uint32_t id)
{
  LURK_ASSERT(id < exit_count, "bad exit id");
  return &exit_pages[id >> EXIT_PAGE_BITS][id & ((1u << EXIT_PAGE_BITS) - 1)];
}

struct cache_exit *cache_exit_new(struct cache_block *b, int kind, uint64_t target)
{
  uint32_t id = exit_count;
  uint32_t pg = id >> EXIT_PAGE_BITS;
  if (pg >= EXIT_MAX_PAGES) log_fatal("too many block exits");
  if (!exit_pages[pg]) {
    exit_pages[pg] = mem_alloc(sizeof(struct cache_exit) << EXIT_PAGE_BITS);
    mem_populate(exit_pages[pg], sizeof(struct cache_exit) << EXIT_PAGE_BITS, 1); /* filled in order */
  }
  exit_count++;
  struct cache_exit *e = cache_exit_get(id);
  e->id = id;
  e->kind = (uint8_t)kind;
  e->target = target;
  e->from = b;
  if (b->nexits == 0) b->first_exit = id;
  b->nexits++;
  return e;
}

/* -- Block table -------------------------------------------------------------- */

/* Open addressing with linear probing, pcs stored beside the blocks: a
** lookup (most of them misses, when a new block links its exits) reads
** one or two slots of one cache line instead of a chain of blocks. A
** removed block leaves a tombstone (pc ~0, never a block's) until the next
** rehash, so the table can be walked while blocks are removed. */
struct btab_slot { uint64_t pc; struct cache_block *b; };
#define BTAB_TOMB ((struct cache_block *)1)
static struct btab_slot *btab;
static uint32_t btab_bits, btab_live, btab_used; /* used: live + tombstones */

/* Blocks near in the app are near in the table (an exit's target is
** usually close to its block: its slot is then in a cache line already
** read); each MiB of code is placed at a hashed offset. */
static uint32_t btab_home(uint64_t pc)
{
  return (uint32_t)((pc >> 3) ^ ((pc >> 20) * 0x9E3779B1u)) & ((1u << btab_bits) - 1);
}

struct cache_block *cache_lookup(uint64_t pc)
{
  uint32_t mask = (1u << btab_bits) - 1;
  for (uint32_t i = btab_home(pc);; i = (i + 1) & mask) {
    if (btab[i].pc == pc) return btab[i].b;
    if (!btab[i].b) return NULL;
  }
}

static void btab_put(struct cache_block *b)
{
  uint32_t mask = (1u << btab_bits) - 1, i = btab_home(b->pc);
  while (btab[i].b && btab[i].b != BTAB_TOMB) i = (i + 1) & mask;
  if (!btab[i].b) btab_used++;
  btab[i].pc = b->pc;
  btab[i].b = b;
  btab_live++;
}

/* Rehash into a table kept at most half full (twice the size when more
** than a quarter of it is live blocks). */
static void btab_rehash(void)
{
  struct btab_slot *old = btab;
  uint32_t oldn = 1u << btab_bits;
  if (btab_live * 4 > oldn) btab_bits++;
  btab = mem_alloc(((size_t)1 << btab_bits) * sizeof *btab);
  mem_populate(btab, ((size_t)1 << btab_bits) * sizeof *btab, 1); /* every page is written below */
  btab_live = btab_used = 0;
  for (uint32_t i = 0; i < oldn; i++)
    if (old[i].b && old[i].b != BTAB_TOMB) btab_put(old[i].b);
  mem_free(old, oldn * sizeof *old);
}

static void btab_insert(struct cache_block *b)
{
  if ((btab_used + 1) * 2 > 1u << btab_bits) btab_rehash();
  btab_put(b);
}

static void btab_remove(struct cache_block *b)
{
  uint32_t mask = (1u << btab_bits) - 1;
  for (uint32_t i = btab_home(b->pc); btab[i].b; i = (i + 1) & mask)
    if (btab[i].b == b) { btab[i].pc = ~0ull; btab[i].b = BTAB_TOMB; btab_live--; return; }
}

struct cache_block *cache_block_new(uint64_t pc)
{
  struct cache_block *b = mem_alloc(sizeof *b);
  b->pc = pc;
  return b;
}

/* -- Pages holding translated code (to make flushes of data cheap) ------------ */

/* By page number, so a module's pages fill neighbouring slots (a scattering
** hash touched one page of the set per code page: a fault each). */
static uint32_t page_home(uint64_t page) { return (uint32_t)(page ^ (page >> 12)); }

#define PAGESET_SIZE 65536u
static uint64_t *pageset; /* open addressing; 0 = empty; stores page+1 */
static uint32_t pageset_count;
static int pageset_overflow;

static void pageset_add(uint64_t page)
{
  if (pageset_overflow) return;
  if (pageset_count * 2 > PAGESET_SIZE) { pageset_overflow = 1; return; }
  uint32_t h = page_home(page) & (PAGESET_SIZE - 1);
  while (pageset[h] && pageset[h] != page + 1) h = (h + 1) & (PAGESET_SIZE - 1);
  if (!pageset[h]) { pageset[h] = page + 1; pageset_count++; }
}

static int pageset_has(uint64_t page)
{
  uint32_t h = page_home(page) & (PAGESET_SIZE - 1);
  while (pageset[h]) {
    if (pageset[h] == page + 1) return 1;
    h = (h + 1) & (PAGESET_SIZE - 1);
  }
  return 0;
}

/* Might [lo, hi) hold translated code? */
static int range_has_code(uint64_t lo, uint64_t hi)
{
  if (pageset_overflow) return 1;
  if (hi - lo > (64ull << 20)) return 1;
  for (uint64_t p = lo >> 12; p <= (hi - 1) >> 12; p++)
    if (pageset_has(p)) return 1;
  return 0;
}

/* -- Indirect-branch table ------------------------------------------------------ */

#define IBL_PROBE_MAX 64
/* Keys: 0 ends a probe chain, IBL_TOMB marks a removed entry. Neither may
** send a lookup for a real target elsewhere: an empty slot's value is the
** lookup's miss for target 0 (arch_ibl_empty), and the tombstone key is a
** non-canonical address, which no instruction fetch can reach. */
#define IBL_TOMB 0x8000000000000001ull
/* Table 0 is the lookup's; 1..ARCH_GUARDS are the guard tables (each only
** the targets its tool validated; cache_guard_new). */
/* A table is mapped twice, as the cache is: the lookups read tab (read
** only: a store by the app faults), the engine writes wtab. A table the
** app could write would let it send any lookup anywhere. */
struct ibl {
  uint64_t *tab;  /* pairs {app pc, cache pc}: the view the lookups read */
  uint64_t *wtab; /* the same memory, read+write (== tab with one view) */
  uint64_t *fork_w;
  uint32_t entries, used;
};
static struct ibl ibls[1 + ARCH_GUARDS];
static int nguards;

/* Table first, then mask: the lookup reads the mask first, so with x86's
** store order it never pairs a new (larger) mask with an old table. */
static void ibl_publish(const struct ibl *b, uint64_t *table, uint64_t *mask)
{
  __atomic_store_n(table, (uint64_t)b->tab, __ATOMIC_RELEASE);
  __atomic_store_n(mask, b->entries ? (uint64_t)(b->entries - 1) << 4 : 0, __ATOMIC_RELEASE);
}

void cache_ibl_table(struct arch_tls *t)
{
  struct arch_tls_ro *w = t->w; /* the block's read-only page, its engine view */
  ibl_publish(&ibls[0], &w->ibl_table, &w->ibl_mask);
  for (int g = 0; g < ARCH_GUARDS; g++) ibl_publish(&ibls[1 + g], &w->guard_tab[g].table, &w->guard_tab[g].mask);
}

/* ORDER IBL_HASH: must match the hash in arch/x86_64/context.S. */
/* By address, one slot per 2 bytes (the lookup computes it in one lea):
** targets near each other (a function's return sites, an interpreter's
** handlers) are near in the table, and no region is denser than the
** table's load allows for. */
static uint32_t ibl_slot(const struct ibl *b, uint64_t pc) { return (uint32_t)((pc >> 1) & (b->entries - 1)); }

/* A table's mapping size: its entries and the probe window past the end. */
static size_t ibl_bytes(const struct ibl *b)
{
  return (((size_t)(b->entries + IBL_PROBE_MAX + 1) * 16) + 4095) & ~(size_t)4095;
}

static void ibl_alloc(struct ibl *b, uint32_t entries)
{
  b->entries = entries;
  b->used = 0;
  size_t n = ibl_bytes(b);
  if (cache_one_view) {
    b->tab = b->wtab = mem_map(n, PROT_READ | PROT_WRITE);
    if (!b->tab) log_fatal("cannot map the indirect-branch table");
  } else {
    long w = sys_mmap(0, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    long r = SYS_FAILED(w) ? w : sys_call6(SYS_mremap, w, 0, (long)n, MREMAP_MAYMOVE, 0, 0);
    if (!SYS_FAILED(r)) r = sys_mprotect(r, n, PROT_READ) ? -1 : r;
    if (SYS_FAILED(r)) log_fatal("cannot map the indirect-branch table: error %ld", -r);
    b->tab = (uint64_t *)r;
    b->wtab = (uint64_t *)w;
    mem_note((uint64_t)r, (uint64_t)r + n, MEM_KIND_ENGINE);
    mem_note((uint64_t)w, (uint64_t)w + n, MEM_KIND_ENGINE);
  }
  /* all written below, all read by the lookups */
  mem_populate(b->wtab, n, 1);
  if (b->tab != b->wtab) mem_populate(b->tab, n, 0);
  for (uint32_t i = 0; i < entries + IBL_PROBE_MAX + 1; i++) b->wtab[2 * i + 1] = (uint64_t)arch_ibl_empty;
}

static int ibl_put(struct ibl *b, uint64_t pc, uint8_t *cpc)
{
  uint64_t *tab = b->wtab;
  uint32_t s = ibl_slot(b, pc);
  for (uint32_t i = 0; i < IBL_PROBE_MAX; i++, s++) {
    if (tab[2 * s] == pc) { tab[2 * s + 1] = (uint64_t)cpc; return 1; }
    if (tab[2 * s] == 0 || tab[2 * s] == IBL_TOMB) {
      /* Value first: a concurrent prober that sees the key sees the value. */
      tab[2 * s + 1] = (uint64_t)cpc;
      __atomic_store_n(&tab[2 * s], pc, __ATOMIC_RELEASE);
      b->used++;
      return 1;
    }
  }
  return 0;
}

static void ibl_insert(struct ibl *b, uint64_t pc, uint8_t *cpc)
{
  if (b->used * 2 >= b->entries) {
    /* Grow: rehash live entries into a table twice the size. The old table
    ** stays mapped: other threads may be probing it right now, and nothing
    ** tells when they are done (the tables total at most twice the last). */
    uint64_t *old = b->tab;
    uint32_t n = b->entries + IBL_PROBE_MAX;
    ibl_alloc(b, b->entries * 2);
    for (uint32_t i = 0; i < n; i++)
      if (old[2 * i] != 0 && old[2 * i] != IBL_TOMB) ibl_put(b, old[2 * i], (uint8_t *)old[2 * i + 1]);
    thr_ibl_table_changed();
  }
  ibl_put(b, pc, cpc); /* a full probe window just leaves pc to the dispatcher */
}

void cache_ibl_insert(uint64_t pc, uint8_t *cpc) { ibl_insert(&ibls[0], pc, cpc); }

/* The cache pc table b maps pc to, or NULL. */
static uint8_t *ibl_get(const struct ibl *b, uint64_t pc)
{
  uint32_t s = ibl_slot(b, pc);
  for (uint32_t i = 0; i < IBL_PROBE_MAX && b->tab[2 * s]; i++, s++)
    if (b->tab[2 * s] == pc) return (uint8_t *)b->tab[2 * s + 1];
  return NULL;
}

int cache_guard_new(void)
{
  if (nguards == ARCH_GUARDS) return -1;
  ibl_alloc(&ibls[1 + nguards], 1u << 10);
  nguards++;
  thr_ibl_table_changed();
  return nguards - 1;
}

void cache_guard_insert(int g, uint64_t pc, uint8_t *cpc)
{
  /* the lookup's own entry for pc, if any: a return address maps to its
  ** call's landing pad, which the CPU's return-stack buffer predicts */
  uint8_t *v = ibl_get(&ibls[0], pc);
  ibl_insert(&ibls[1 + g], pc, v ? v : cpc);
}

/* fork (cache_fork_prepare/_finish): the current tables are copied for the
** child before the call, as the chunks are; older ones (kept for threads still probing
** them) are never written again, and the child has no such thread. */
static void ibl_fork_prepare(void)
{
  for (int i = 0; i <= nguards; i++) {
    struct ibl *b = &ibls[i];
    size_t n = ibl_bytes(b);
    long w = sys_mmap(0, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (SYS_FAILED(w)) log_fatal("cannot copy the indirect-branch table for a child: error %ld", -w);
    lurk_memcpy((void *)w, b->tab, n);
    b->fork_w = (uint64_t *)w;
  }
}

static void ibl_fork_finish(int child)
{
  for (int i = 0; i <= nguards; i++) {
    struct ibl *b = &ibls[i];
    size_t n = ibl_bytes(b);
    uint64_t w = (uint64_t)b->fork_w, old = (uint64_t)b->wtab;
    b->fork_w = NULL;
    if (!child) {
      sys_munmap(w, n);
      continue;
    }
    long x = sys_call6(SYS_mremap, (long)w, 0, (long)n, MREMAP_MAYMOVE | MREMAP_FIXED, (long)b->tab, 0);
    if (!SYS_FAILED(x)) x = sys_mprotect(b->tab, n, PROT_READ);
    if (SYS_FAILED(x)) log_fatal("cannot copy the indirect-branch table for a child: error %ld", -x);
    sys_munmap(old, n);
    mem_forget(old, old + n);
    mem_note(w, w + n, MEM_KIND_ENGINE);
    b->wtab = (uint64_t *)w;
  }
}

/* Remove pc's entry from table b if its cache pc lies in [lo, hi). */
static void ibl_remove1(struct ibl *b, uint64_t pc, const uint8_t *lo, const uint8_t *hi)
{
  uint32_t s = ibl_slot(b, pc);
  for (uint32_t i = 0; i < IBL_PROBE_MAX && b->tab[2 * s]; i++, s++)
    if (b->tab[2 * s] == pc) {
      uint64_t v = b->tab[2 * s + 1];
      if (v >= (uint64_t)lo && v < (uint64_t)hi) b->wtab[2 * s] = IBL_TOMB;
      return;
    }
}

/* ... from the lookup's table and every guard's: a flushed block's targets
** are validated again when next reached. */
static void ibl_remove(uint64_t pc, const uint8_t *lo, const uint8_t *hi)
{
  ibl_remove1(&ibls[0], pc, lo, hi);
  for (int g = 0; g < nguards; g++) ibl_remove1(&ibls[1 + g], pc, lo, hi);
}

/* -- Building, linking, flushing --------------------------------------------------- */

/* Can the kernel alias shared memory (mremap of old size 0)? If not, the
** chunks are single RWX mappings and the tables single RW ones. */
static void cache_probe_views(void)
{
  long w = sys_mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  long r = SYS_FAILED(w) ? w : sys_call6(SYS_mremap, w, 0, 4096, MREMAP_MAYMOVE, 0, 0);
  if (!SYS_FAILED(r)) sys_munmap(r, 4096);
  if (!SYS_FAILED(w)) sys_munmap(w, 4096);
  if (SYS_FAILED(r)) {
    cache_one_view = 1;
    LOG(LOG_INFO, "lurk: the code cache is one RWX mapping (no alias of shared memory: error %ld)\n", -r);
  }
}

void cache_init(void)
{
  cache_probe_views();
  cache_heap = (uint64_t)sys_call1(SYS_brk, 0);
  btab_bits = 12; /* 64 KiB to start: both tables grow, and a short process touches few pages */
  btab = mem_alloc(((size_t)1 << btab_bits) * sizeof *btab);
  mem_populate(btab, ((size_t)1 << btab_bits) * sizeof *btab, 1); /* hashed: every page gets written */
  pageset = mem_alloc(PAGESET_SIZE * sizeof *pageset);
  ibl_alloc(&ibls[0], 1u << 12);
}

/* The `bb` event: decode the block's app instructions and let the scripts
** plan their edits and clean calls, then add the wrap points' (NULL: no bb
** handler and no wrap point). */
static struct bb_plan *plan_block(uint64_t pc, struct bb_plan *plan, unsigned max)
{
  static struct insn insns[128];
  static uint8_t removed[128];
  int bb = lb_event_wanted(LB_EV_bb), wrap = wrap_any();
  if (!bb && !wrap) return NULL;
  lurk_memset(plan, 0, sizeof *plan);
  plan->pc = pc;
  plan->insns = insns;
  plan->removed = removed;
  /* superblocks: only when every bb handler takes them and no wrap point
  ** could fall inside one (wrap_plan places its ops by block start) */
  plan->superblock = (uint8_t)(opt.superblocks && bb && !wrap && max > 1 && lb_event_bb_superblocks());
  plan->n = arch_block_insns(pc, insns, max, plan->superblock);
  if (!plan->n) return NULL; /* unreadable: the translation faults */
  lurk_memset(removed, 0, plan->n);
  if (bb) lb_event_bb(plan);
  if (wrap) wrap_plan(plan);
  return plan;
}

/* Translate pc into a new block (not yet published). */
static struct cache_block *translate(uint64_t pc, int solo)
{
  struct cache_block *b = cache_block_new(pc);
  struct bb_plan plan_mem, *plan = plan_block(pc, &plan_mem, solo ? 1 : 128);
  b->solo = (uint8_t)solo;
  lurk_status s = arch_translate(b, plan);
  if (plan && plan->ops) mem_free(plan->ops, plan->cap * sizeof *plan->ops);
  if (s == LURK_ERR(FAULT)) return NULL; /* unreadable: the caller faults the app */
  if (LURK_FAILED(s)) arch_translate_failed(b, s); /* does not return */
  return b;
}

struct cache_block *cache_solo(uint64_t pc)
{
  struct cache_block *b = translate(pc, 1);
  if (b) b->dead = 1; /* never linked to */
  return b;
}

struct cache_block *cache_get(uint64_t pc)
{
  struct cache_block *b = cache_lookup(pc);
  if (b) return b;
  rseq_discover(thr_self());
  b = translate(pc, 0);
  /* Writable code: protect its pages so a change faults. A write between
  ** the fetch and the protection would go unseen, so translate once more
  ** when a page was newly protected (the first copy is left unused). */
  if (b && vm_protect_code(b->pc, b->end)) {
    b->dead = 1;
    b = translate(pc, 0);
  }
  if (!b) return NULL;
  btab_insert(b);
  for (uint64_t p = b->pc >> 12; p <= (b->end - 1) >> 12; p++) pageset_add(p);
  stats.blocks++;
  /* Returns to the app pc after this block's call land on its pad. */
  if (b->ret_pad) cache_ibl_insert(b->ret_pc, b->ret_pad);
  LOG(LOG_DEBUG, "block 0x%lx-0x%lx %u insns -> %p\n", (unsigned long)b->pc,
      (unsigned long)b->end, b->ninsn, (void *)b->cpc);
  /* Link this block's direct exits to blocks that already exist. */
  for (uint32_t i = 0; i < b->nexits; i++) {
    struct cache_exit *e = cache_exit_get(b->first_exit + i);
    if (e->kind != CACHE_EXIT_DIRECT) continue;
    struct cache_block *t = cache_lookup(e->target);
    if (t) cache_link(e, t);
  }
  return b;
}

void cache_link(struct cache_exit *e, struct cache_block *to)
{
  if (e->to || e->kind != CACHE_EXIT_DIRECT || to->dead || e->from->dead) return;
  arch_patch_link(e, to->cpc);
  e->to = to;
  e->in_next = to->incoming;
  to->incoming = e;
  stats.links++;
}

/* Remove e from the incoming list of the block it is linked to. */
static void link_drop(struct cache_exit *e)
{
  struct cache_exit **pp = &e->to->incoming;
  for (; *pp; pp = &(*pp)->in_next)
    if (*pp == e) { *pp = e->in_next; break; }
  e->to = NULL;
  e->in_next = NULL;
}

static void block_flush(struct cache_block *b)
{
  b->dead = 1;
  btab_remove(b);
  ibl_remove(b->pc, b->cpc, b->cpc + b->csize);
  if (b->ret_pad) ibl_remove(b->ret_pc, b->cpc, b->cpc + b->csize);
  for (struct cache_exit *e = b->incoming, *next; e; e = next) {
    next = e->in_next;
    arch_patch_unlink(e);
    e->to = NULL;
    e->in_next = NULL;
  }
  b->incoming = NULL;
  for (uint32_t i = 0; i < b->nexits; i++) {
    struct cache_exit *e = cache_exit_get(b->first_exit + i);
    if (e->to) link_drop(e);
  }
  stats.flushed_blocks++;
  /* XXX: the block's cache bytes are not reused yet. */
}

/* Flush the blocks starting in page pg that overlap [lo, hi). btab_home
** maps a page's 512 possible 8-byte granules onto one aligned window of
** 512 slots; linear probing may have pushed some past it, up to the
** next empty slot. */
static void btab_flush_page(uint64_t pg, uint64_t lo, uint64_t hi)
{
  uint32_t mask = (1u << btab_bits) - 1, i = btab_home(pg << 12) & ~511u;
  for (uint32_t k = 0; k < 512 || btab[i].b; k++, i = (i + 1) & mask) {
    struct cache_block *b = btab[i].b;
    if (b && b != BTAB_TOMB && b->pc < hi && b->end > lo) block_flush(b);
    if (k > mask) break; /* (the whole table: it cannot be full, but bound the walk) */
  }
}

void cache_flush_range(uint64_t lo, uint64_t hi)
{
  if (hi <= lo || !range_has_code(lo, hi)) return;
  stats.flushes++;
  /* (block_flush leaves tombstones: no rehash meanwhile) */
  uint64_t first = (lo > ARCH_BLOCK_MAX_BYTES ? lo - ARCH_BLOCK_MAX_BYTES : 0) >> 12, last = (hi - 1) >> 12;
  if (last - first < 64 && btab_bits >= 9) { /* a few pages: only their slots */
    for (uint64_t pg = first; pg <= last; pg++) btab_flush_page(pg, lo, hi);
    return;
  }
  for (uint32_t i = 0; i < 1u << btab_bits; i++) {
    struct cache_block *b = btab[i].b;
    if (b && b != BTAB_TOMB && b->pc < hi && b->end > lo) block_flush(b);
  }
}

void cache_flush_page(uint64_t page) { cache_flush_range(page << 12, (page + 1) << 12); }

/* -- Requested flushes (lurk.flush) ------------------------------------------ */

/* Ranges waiting for the cache lock; past FLUSH_MAX they merge into one
** range covering them all. flush_lk is a leaf. */
#define FLUSH_MAX 16
static struct lurk_lock flush_lk = LOCK_INIT;
static uint64_t flush_lo[FLUSH_MAX], flush_hi[FLUSH_MAX];
static uint32_t flush_n;

/* The requester queues the range, then tries the lock; a holder looks at
** the queue after its release. One of the two sees the range: the
** requester's try failed while the holder held the lock, so the holder's
** look comes after the range was queued. */
static void flush_drain(void)
{
  while (__atomic_load_n(&flush_n, __ATOMIC_SEQ_CST) && lock_try(&cache_lk)) {
    uint64_t lo[FLUSH_MAX], hi[FLUSH_MAX];
    lock_acquire(&flush_lk);
    uint32_t n = flush_n;
    for (uint32_t i = 0; i < n; i++) lo[i] = flush_lo[i], hi[i] = flush_hi[i];
    __atomic_store_n(&flush_n, 0, __ATOMIC_SEQ_CST);
    lock_release(&flush_lk);
    for (uint32_t i = 0; i < n; i++) {
      cache_flush_range(lo[i], hi[i]);
    }
    lock_release(&cache_lk);
  }
}

void cache_flush_request(uint64_t lo, uint64_t hi)
{
  if (hi <= lo || !btab) return; /* nothing translated yet (a script's top level) */
  lock_acquire(&flush_lk);
  if (flush_n == FLUSH_MAX) {
    for (uint32_t i = 1; i < flush_n; i++) {
      if (flush_lo[i] < flush_lo[0]) flush_lo[0] = flush_lo[i];
      if (flush_hi[i] > flush_hi[0]) flush_hi[0] = flush_hi[i];
    }
    flush_n = 1;
  }
  flush_lo[flush_n] = lo;
  flush_hi[flush_n] = hi;
  __atomic_store_n(&flush_n, flush_n + 1, __ATOMIC_SEQ_CST);
  lock_release(&flush_lk);
  flush_drain();
}

void cache_print_stats(void)
{
  log_printf("lurk: stats for pid %ld\n", (long)sys_getpid());
#define STATPRINT(n, d) log_printf("lurk:   %-32s %lu\n", d, (unsigned long)stats.n);
  STATDEF(STATPRINT)
#undef STATPRINT
  uint64_t contended, slept;
  lock_counts(&contended, &slept);
  log_printf("lurk:   %-32s %lu\n", "engine lock contended", (unsigned long)contended);
  log_printf("lurk:   %-32s %lu\n", "engine lock sleeps", (unsigned long)slept);
}
