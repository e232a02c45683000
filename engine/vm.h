/* lurk: the app's memory as the engine needs to know it — page protections
** (read from /proc/self/maps once, then kept up to date from the app's
** mmap, mprotect and munmap; read again after a change lurk cannot follow,
** or when an address is not found: the kernel grows stacks by itself) and the code pages lurk keeps
** write-protected so that writes to translated code are seen.
*/
#ifndef LURK_VM_H
#define LURK_VM_H
#include "lurk.h"

/* The app's protection of the page holding addr (PROT_* bits), or -1 if
** unmapped. Call with the cache lock held. */
int vm_prot(uint64_t addr);
/* One line of /proc/self/maps: "lo-hi perms offset major:minor inode name". */
struct vm_line {
  uint64_t lo, hi, off, dev, ino; /* dev: major << 32 | minor */
  int prot, shared;               /* PROT_* bits; shared: 's' */
  const char *name;               /* the path, [name] or "" (NUL-terminated) */
};
/* Parse a maps line at s into *l: 1, or 0 if s does not start with one
** (smaps' "Key: value" lines). */
int vm_line_parse(const char *s, struct vm_line *l);
/* Call line for each line of /proc/self/maps (raw syscalls, no allocation). */
void vm_maps_read(void (*line)(const struct vm_line *));
/* Parse lowercase hex at *s, advancing *s past it. */
uint64_t vm_hex(const char **s);
/* The app changed its mappings over [lo, hi) in a way lurk does not know
** (the table is read again when next needed). Cache lock held. */
void vm_changed(uint64_t lo, uint64_t hi);
/* The app mapped [lo, hi) with prot (shared: MAP_SHARED; fd: the file or
** -1, at offset off). Cache lock held. */
void vm_mapped(uint64_t lo, uint64_t hi, int prot, int shared, int fd, uint64_t off);
/* The app set [lo, hi)'s protection to prot (all of it was mapped), or
** unmapped it (prot -1). Cache lock held. */
void vm_reprotected(uint64_t lo, uint64_t hi, int prot);
/* The app called personality (READ_IMPLIES_EXEC may have changed). */
void vm_personality_changed(void);
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
