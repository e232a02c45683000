/* lurk: other code's mappings in liblurk.so noted as the engine's. */
#include <sys/mman.h>
#include "mem.h"

/* LuaJIT's allocator and machine code, and libelf's file mappings, map
** memory through libc's mmap, not mem_map: liblurk.so is linked with
** --wrap for these four (CMakeLists.txt; this file is liblurk.so's alone,
** not liblurk_common's, which the launcher and unit tests link too), so that their mappings are the
** engine's too (lurk.engine_ranges, shepherd's guard). Partial unmaps and
** in-place shrinks (LuaJIT's sys_trim) trim the notes. */
void *__real_mmap64(void *a, size_t n, int prot, int fl, int fd, long off);
void *__real_mmap(void *a, size_t n, int prot, int fl, int fd, long off);
int __real_munmap(void *a, size_t n);
void *__real_mremap(void *a, size_t n, size_t nn, int fl, ...);

static void *mem_noted(void *r, size_t n)
{
  if (r != MAP_FAILED) {
    uint64_t lo = (uint64_t)r, hi = lo + ((n + 4095) & ~(size_t)4095);
    mem_trim(lo, hi); /* (MAP_FIXED over a noted range) */
    mem_note(lo, hi, MEM_KIND_ENGINE);
  }
  return r;
}

void *__wrap_mmap64(void *a, size_t n, int prot, int fl, int fd, long off)
{
  return mem_noted(__real_mmap64(a, n, prot, fl, fd, off), n);
}

void *__wrap_mmap(void *a, size_t n, int prot, int fl, int fd, long off)
{
  return mem_noted(__real_mmap(a, n, prot, fl, fd, off), n);
}

int __wrap_munmap(void *a, size_t n)
{
  int r = __real_munmap(a, n);
  if (r == 0) {
    mem_trim((uint64_t)a, (uint64_t)a + ((n + 4095) & ~(size_t)4095));
  }
  return r;
}

void *__wrap_mremap(void *a, size_t n, size_t nn, int fl, ...)
{
  void *to = NULL;
  if (fl & 2 /* MREMAP_FIXED */) {
    __builtin_va_list ap;
    __builtin_va_start(ap, fl);
    to = __builtin_va_arg(ap, void *);
    __builtin_va_end(ap);
  }
  void *r = __real_mremap(a, n, nn, fl, to);
  if (r != MAP_FAILED && n) { /* (old size 0 makes a second mapping: the first stays) */
    mem_trim((uint64_t)a, (uint64_t)a + ((n + 4095) & ~(size_t)4095));
  }
  return mem_noted(r, nn);
}

