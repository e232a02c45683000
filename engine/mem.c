/* lurk: the engine's allocator.
** Size classes (powers of two, 16 B to 64 KiB) with free lists, carved from
** 1 MiB mmap'ed arenas; larger requests are whole mappings. Callers pass the
** size back on free, so no headers are needed. A spinlock guards the lists.
*/
#include <sys/mman.h>
#include "mem.h"
#include "../arch/x86_64/syscall.h"

#define MEM_MINSHIFT 4
#define MEM_MAXSHIFT 16
#define MEM_ARENA (1u << 20)

static void *mem_freelist[MEM_MAXSHIFT + 1];
static uint8_t *mem_arena_cur, *mem_arena_end, *mem_arena_pop; /* pop: faulted in below */
#define MEM_POP_AHEAD (64u << 10)
static volatile int mem_lock_word;

static void mem_lock(void)
{
  while (__atomic_exchange_n(&mem_lock_word, 1, __ATOMIC_ACQUIRE))
    __builtin_ia32_pause();
}

static void mem_unlock(void) { __atomic_store_n(&mem_lock_word, 0, __ATOMIC_RELEASE); }

/* -- The engine's mappings, for tools (lurk.engine_ranges) ---------------- */

#define MEM_NOTES 4096
static uint64_t mem_notes[MEM_NOTES][3];  /* lo, hi, kind; lo == 0: a free slot */
static size_t mem_nnotes;                 /* slots in use at the front, some freed */
static volatile int mem_notes_lock;

static void notes_lock(void)
{
  while (__atomic_exchange_n(&mem_notes_lock, 1, __ATOMIC_ACQUIRE)) __builtin_ia32_pause();
}

static void notes_unlock(void) { __atomic_store_n(&mem_notes_lock, 0, __ATOMIC_RELEASE); }

/* Note [lo, hi) as the engine's (XXX: past MEM_NOTES mappings, not noted). */
void mem_note(uint64_t lo, uint64_t hi, int kind)
{
  notes_lock();
  size_t i = 0;
  while (i < mem_nnotes && mem_notes[i][0]) i++;
  if (i < MEM_NOTES) {
    mem_notes[i][0] = lo, mem_notes[i][1] = hi, mem_notes[i][2] = (uint64_t)kind;
    if (i == mem_nnotes) mem_nnotes++;
  }
  notes_unlock();
}

/* Forget the noted range that starts at lo (unmapped). */
void mem_forget(uint64_t lo, uint64_t hi)
{
  (void)hi;
  notes_lock();
  for (size_t i = 0; i < mem_nnotes; i++)
    if (mem_notes[i][0] == lo) { mem_notes[i][0] = 0; break; }
  notes_unlock();
}

/* Drop [lo, hi) from the notes: a note it covers goes, one it overlaps
** loses that part (one it splits keeps both ends). Lock held. */
static void notes_trim(uint64_t lo, uint64_t hi)
{
  for (size_t i = 0; i < mem_nnotes; i++) {
    uint64_t nlo = mem_notes[i][0], nhi = mem_notes[i][1];
    if (!nlo || nhi <= lo || nlo >= hi) continue;
    if (nlo >= lo && nhi <= hi) mem_notes[i][0] = 0;
    else if (nlo < lo && nhi > hi) {
      mem_notes[i][1] = lo;
      size_t j = 0;
      while (j < mem_nnotes && mem_notes[j][0]) j++;
      if (j < MEM_NOTES) {
        mem_notes[j][0] = hi, mem_notes[j][1] = nhi, mem_notes[j][2] = mem_notes[i][2];
        if (j == mem_nnotes) mem_nnotes++;
      }
    } else if (nlo < lo) mem_notes[i][1] = lo;
    else mem_notes[i][0] = hi;
  }
}

void mem_trim(uint64_t lo, uint64_t hi)
{
  notes_lock();
  notes_trim(lo, hi);
  notes_unlock();
}

size_t mem_ranges(uint64_t (*out)[3], size_t max)
{
  size_t n = 0;
  notes_lock();
  for (size_t i = 0; i < mem_nnotes && n < max; i++)
    if (mem_notes[i][0]) lurk_memcpy(out[n++], mem_notes[i], sizeof out[0]);
  notes_unlock();
  return n;
}

/* -- Mappings and the allocator ------------------------------------------ */

/* Map n bytes (rounded to pages) with prot; NULL on failure. */
void *mem_map(size_t n, int prot)
{
  n = (n + 4095) & ~(size_t)4095;
  long r = sys_mmap(0, n, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (SYS_FAILED(r)) return NULL;
  mem_note((uint64_t)r, (uint64_t)r + n, MEM_KIND_ENGINE);
  return (void *)r;
}

void mem_populate(void *p, size_t n, int write)
{
  uint64_t lo = (uint64_t)p & ~4095ull, hi = ((uint64_t)p + n + 4095) & ~4095ull;
  sys_call3(SYS_madvise, (sys_word)lo, (sys_word)(hi - lo), write ? 23 /* MADV_POPULATE_WRITE */
                                                                    : 22 /* MADV_POPULATE_READ */);
}

void mem_unmap(void *p, size_t n)
{
  n = (n + 4095) & ~(size_t)4095;
  mem_forget((uint64_t)p, (uint64_t)p + n);
  sys_munmap(p, n);
}

/* Size-class shift for n bytes. */
static unsigned mem_class(size_t n)
{
  unsigned s = MEM_MINSHIFT;
  while (((size_t)1 << s) < n) s++;
  return s;
}

void *mem_alloc(size_t n)
{
  void *p;
  if (n == 0) n = 1;
  if (n > ((size_t)1 << MEM_MAXSHIFT)) {
    p = mem_map(n, PROT_READ | PROT_WRITE);
    LURK_ASSERT(p, "engine out of memory (large mapping)");
    return p;
  }
  unsigned c = mem_class(n);
  size_t sz = (size_t)1 << c;
  mem_lock();
  p = mem_freelist[c];
  if (p) {
    mem_freelist[c] = *(void **)p;
    mem_unlock();
    lurk_memset(p, 0, sz);
    return p;
  } else {
    if (mem_arena_cur == NULL || (size_t)(mem_arena_end - mem_arena_cur) < sz) {
      uint8_t *a = mem_map(MEM_ARENA, PROT_READ | PROT_WRITE);
      if (!a) { mem_unlock(); lurk_panic(__FILE__, __LINE__, "engine out of memory"); }
      mem_arena_cur = mem_arena_pop = a;
      mem_arena_end = a + MEM_ARENA;
    }
    p = mem_arena_cur;
    mem_arena_cur += sz;
    if (sz <= 4096 && mem_arena_cur > mem_arena_pop) { /* small blocks: fault in ahead */
      uint8_t *from = (uint8_t *)((uintptr_t)p & ~(uintptr_t)4095);
      if (from < mem_arena_pop) from = mem_arena_pop;
      uint8_t *to = from + MEM_POP_AHEAD < mem_arena_end ? from + MEM_POP_AHEAD : mem_arena_end;
      mem_populate(from, (size_t)(to - from), 1);
      mem_arena_pop = to;
    }
  }
  mem_unlock();
  /* Fresh arena memory is the kernel's zero pages: writing zeros would only
  ** fault them in (a 56 KiB table of exits, most never used). Small blocks
  ** are written soon and densely (blocks, exits, records): their pages are
  ** faulted in MEM_POP_AHEAD at a time, one madvise instead of 16 faults,
  ** which cost tens of microseconds each in a VM. */
  return p;
}

void mem_free(void *p, size_t n)
{
  if (!p) return;
  if (n == 0) n = 1;
  if (n > ((size_t)1 << MEM_MAXSHIFT)) { mem_unmap(p, n); return; }
  unsigned c = mem_class(n);
  mem_lock();
  *(void **)p = mem_freelist[c];
  mem_freelist[c] = p;
  mem_unlock();
}

void *mem_realloc(void *p, size_t old, size_t n)
{
  void *q = mem_alloc(n);
  if (p) { lurk_memcpy(q, p, old < n ? old : n); mem_free(p, old); }
  return q;
}

/* Hold the allocator's and the notes' locks across fork so the child's
** copy is consistent. */
void mem_fork_prepare(void) { mem_lock(); notes_lock(); }
void mem_fork_finish(void) { notes_unlock(); mem_unlock(); }
