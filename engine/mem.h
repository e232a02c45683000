/* lurk: the engine's own allocator (mmap-backed; never the app's malloc). */
#ifndef LURK_MEM_H
#define LURK_MEM_H
#include "lurk.h"

void *mem_alloc(size_t n);                /* zeroed; panics when out of memory */
void mem_free(void *p, size_t n);         /* n: the size passed to mem_alloc */
void *mem_realloc(void *p, size_t old, size_t n);
void *mem_map(size_t n, int prot);        /* whole pages, or NULL */
void mem_unmap(void *p, size_t n);
/* Fault in the pages of [p, p+n), for writing or for reading, in one call
** (where the kernel can: Linux 5.14+), for memory about to be used: a page
** fault costs tens of µs in some VMs, and a short process takes hundreds. */
void mem_populate(void *p, size_t n, int write);
/* The engine's own mappings (the code cache, the allocator's, ...): what
** lurk.engine_ranges() shows tools, so they can refuse the app's system
** calls on them. kind: MEM_KIND_*. mem_map/mem_unmap note theirs. */
enum { MEM_KIND_ENGINE, MEM_KIND_CACHE };
void mem_note(uint64_t lo, uint64_t hi, int kind);
void mem_forget(uint64_t lo, uint64_t hi);
/* Drop [lo, hi) from the notes, trimming or splitting a note it overlaps. */
void mem_trim(uint64_t lo, uint64_t hi);
/* Copy up to max noted ranges ({lo, hi, kind}) to out; returns the count. */
size_t mem_ranges(uint64_t (*out)[3], size_t max);
void mem_fork_prepare(void);              /* take the allocator lock before fork */
void mem_fork_finish(void);               /* and release it after, on both sides */

#endif
