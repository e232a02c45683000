/* lurk: the code cache — chunks, blocks, exits, links, lookups, flushes.
** Arch-neutral: the bytes are produced and patched by arch/ (arch.h).
*/
#ifndef LURK_CACHE_H
#define LURK_CACHE_H
#include "lurk.h"

/* EMUL: the instruction at target does not run in the cache (arch_emulate).
** X87: the one at target, which ran, stored the x87 FIP (arch_x87_fip). */
enum { CACHE_EXIT_DIRECT = 1, CACHE_EXIT_SYSCALL = 2, CACHE_EXIT_EMUL = 3, CACHE_EXIT_X87 = 4 };

struct cache_block;

/* A way out of a block: a direct branch to an app pc, or a syscall. */
struct cache_exit {
  uint64_t target;            /* app pc to continue at */
  struct cache_block *from;
  struct cache_block *to;     /* block it is linked to, or NULL */
  struct cache_exit *in_next; /* next exit linked to the same block */
  uint8_t *patch;             /* branch in the block body (arch-defined) */
  uint8_t *stub;              /* exit stub (arch-defined) */
  uint32_t id;
  uint8_t kind;
};

struct cache_chunk;

struct cache_block {
  uint64_t pc, end;            /* app bytes [pc, end) it was built from */
  uint8_t *cpc;                /* its code in the cache */
  uint32_t csize, ninsn;
  uint32_t first_exit, nexits; /* exits are ids first_exit.. */
  struct cache_exit *incoming; /* exits linked to this block */
  struct cache_chunk *chunk;
  uint64_t ret_pc;             /* app return address of the block's call, or 0 */
  uint8_t *ret_pad;            /* where a return to ret_pc lands in this block */
  const void *xl;              /* translation records (arch-defined, for signals) */
  uint16_t nxl;
  uint8_t dead;
  uint8_t solo;                /* one instruction, run once, never looked up */
};

/* Counters printed by --stats (STATDEF: name, description). */
#define STATDEF(_)                                        \
  _(blocks, "blocks built")                               \
  _(cache_bytes, "cache bytes")                           \
  _(links, "direct links")                                \
  _(ibl_lookups, "indirect-branch lookups")               \
  _(ibl_misses, "indirect-branch lookup misses")          \
  _(disp_entries, "dispatcher entries")                   \
  _(syscalls, "syscalls")                                 \
  _(flushes, "flushes")                                   \
  _(flushed_blocks, "blocks flushed")                     \
  _(chunks, "cache chunks")                               \
  _(cc_called, "clean calls placed")                      \
  _(cc_inlined, "clean calls inlined")                    \
  _(hc_saved, "hc registers saved")

struct lurk_stats {
#define STATFIELD(n, d) uint64_t n;
  STATDEF(STATFIELD)
#undef STATFIELD
};
extern struct lurk_stats stats;

void cache_init(void);
/* The cache lock: held for every change to blocks, links, tables and the
** translator's state. Never taken by lurk's signal handler. */
void cache_lock(void);
void cache_unlock(void);
struct cache_block *cache_lookup(uint64_t pc);
/* Look pc up, translating it if needed; a failure is fatal (says why).
** Cache lock held. */
struct cache_block *cache_get(uint64_t pc);
/* Translate the one instruction at pc into a block of its own that is run
** once (a write to code: see vm.c). Cache lock held. */
struct cache_block *cache_solo(uint64_t pc);
/* The block whose code holds cache pc cpc, or NULL. Lock-free (for lurk's
** signal handler): blocks are listed per chunk in address order, and a
** block's code and records are never reused. */
const struct cache_block *cache_block_at(uint64_t cpc);
/* Is cpc inside a code-cache chunk at all? Lock-free. */
int cache_holds(uint64_t cpc);
/* The code cache is mapped twice (docs/architecture.md, "Two views of the
** cache"): code runs at its RX view (every cpc above), and the engine writes
** through its RW view, cache_wd bytes away for the chunk being written.
** cache_reserve and cache_alloc_near set cache_wd for the chunk they give
** room in; cache_write_to for the chunk holding cpc (a link's patch). Cache
** lock held. */
extern int64_t cache_wd;
static inline uint8_t *cache_w(const uint8_t *cpc) { return (uint8_t *)(uintptr_t)cpc + cache_wd; }
void cache_write_to(const uint8_t *cpc);
/* fork without CLONE_VM, cache lock held: the child gets a copy of the
** cache (prepare before the call, finish after it on both sides). */
void cache_fork_prepare(void);
void cache_fork_finish(int child);
/* n bytes of code space within rel32 reach of near (link trampolines). */
uint8_t *cache_alloc_near(uint64_t near, size_t n);
void cache_link(struct cache_exit *e, struct cache_block *to);
void cache_ibl_insert(uint64_t pc, uint8_t *cpc);
/* Guard tables (docs/architecture.md, "Guarded lookups"): a new one's
** number g, or -1 when all ARCH_GUARDS are taken; mark pc validated in
** guard g (cpc: pc's block; a flush of that block, or of the call whose
** landing pad the lookup maps pc to, removes the mark). Cache lock held. */
int cache_guard_new(void);
void cache_guard_insert(int g, uint64_t pc, uint8_t *cpc);
/* Flush every block built from app bytes in [lo, hi) (or page number page). */
void cache_flush_range(uint64_t lo, uint64_t hi);
void cache_flush_page(uint64_t page);
/* Flush [lo, hi) from any thread, holding any lock (lurk.flush from Lua):
** at once if the cache lock is free, else when its holder releases it.
** Threads inside the flushed blocks finish them and leave through their
** (now unlinked) exits; the blocks' code is never reused. */
void cache_flush_request(uint64_t lo, uint64_t hi);
struct cache_exit *cache_exit_get(uint32_t id);

/* -- For the translator (arch/) ------------------------------------------ */
struct cache_block *cache_block_new(uint64_t pc);
/* Room for at least `need` bytes of code within rel32 reach of pc. */
/* n bytes for the exit stubs of b (being translated), in its chunk but
** away from block bodies: the stubs run only until an exit is linked, and
** bodies packed together use fewer cache lines. */
uint8_t *cache_stubs(struct cache_block *b, size_t n);
uint8_t *cache_reserve(struct cache_block *b, uint64_t pc, size_t need);
void cache_commit(struct cache_block *b, uint8_t *end);
struct cache_exit *cache_exit_new(struct cache_block *b, int kind, uint64_t target);
/* Publish the table bases and masks the lookup routines probe (the
** lookup's and the guards') in thread block t. */
struct arch_tls;
void cache_ibl_table(struct arch_tls *t);

void cache_print_stats(void);

#endif
