/* lurk: the engine's own allocator (mmap-backed; never the app's malloc). */
#ifndef LURK_MEM_H
#define LURK_MEM_H
#include "lurk.h"

void *mem_alloc(size_t n);                /* zeroed; panics when out of memory */
void mem_free(void *p, size_t n);         /* n: the size passed to mem_alloc */
void *mem_realloc(void *p, size_t old, size_t n);
void *mem_map(size_t n, int prot);        /* whole pages, or NULL */
void mem_unmap(void *p, size_t n);
void mem_fork_prepare(void);              /* take the allocator lock before fork */
void mem_fork_finish(void);               /* and release it after, on both sides */

#endif
