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
static uint8_t *mem_arena_cur, *mem_arena_end;
static volatile int mem_lock_word;

static void mem_lock(void)
{
  while (__atomic_exchange_n(&mem_lock_word, 1, __ATOMIC_ACQUIRE))
    __builtin_ia32_pause();
}

static void mem_unlock(void) { __atomic_store_n(&mem_lock_word, 0, __ATOMIC_RELEASE); }

/* Map n bytes (rounded to pages) with prot; NULL on failure. */
void *mem_map(size_t n, int prot)
{
  n = (n + 4095) & ~(size_t)4095;
  long r = sys_mmap(0, n, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return SYS_FAILED(r) ? NULL : (void *)r;
}

void mem_unmap(void *p, size_t n)
{
  n = (n + 4095) & ~(size_t)4095;
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
      mem_arena_cur = a;
      mem_arena_end = a + MEM_ARENA;
    }
    p = mem_arena_cur;
    mem_arena_cur += sz;
  }
  mem_unlock();
  /* Fresh arena memory is the kernel's zero pages: writing zeros would only
  ** fault them in (a 56 KiB table of exits, most never used). */
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

/* Hold the allocator's lock across fork so the child's copy is consistent. */
void mem_fork_prepare(void) { mem_lock(); }
void mem_fork_finish(void) { mem_unlock(); }
