/* lurk: the app's memory as the engine needs to know it — page protections
** (read from /proc/self/maps when needed) and the code pages lurk keeps
** write-protected so that writes to translated code are seen.
*/
#ifndef LURK_VM_H
#define LURK_VM_H
#include "lurk.h"

/* The app's protection of the page holding addr (PROT_* bits), or -1 if
** unmapped. Call with the cache lock held. */
int vm_prot(uint64_t addr);
/* Call line for each line of /proc/self/maps (raw syscalls, no allocation;
** the line is NUL-terminated). */
void vm_maps_read(void (*line)(const char *));
/* Parse lowercase hex at *s, advancing *s past it (maps lines). */
uint64_t vm_hex(const char **s);
/* The app changed its mappings over [lo, hi) (cache lock held). */
void vm_changed(uint64_t lo, uint64_t hi);
/* Code was translated from [lo, hi): write-protect its writable pages, and
** for shared file pages the writable views of the same file pages; returns
** how many were newly protected (cache lock held). */
int vm_protect_code(uint64_t lo, uint64_t hi);
/* From lurk's signal handler: a write fault at addr. If it hit a page lurk
** protects, give the page its permission back, put in *code the code page
** whose blocks the write changes (the page itself, or the page another
** view of the same file runs), and return 1. Lock-free. */
int vm_wp_fault(uint64_t addr, uint64_t *code);
/* Give the protected pages in [lo, hi) their permission back, flushing
** their blocks (before an mremap copies or moves them: the new pages would
** keep lurk's protection). Cache lock held. */
void vm_unprotect_range(uint64_t lo, uint64_t hi, void (*flush)(uint64_t page));
/* Give every protected page its permission back; returns how many were
** protected (their blocks must be flushed). Cache lock held. */
int vm_unprotect_all(void (*flush)(uint64_t page));

#endif
