/* lurk: shadow memory, a direct-mapped map of the app's address space
** (as Valgrind's memcheck and Dr. Memory's umbra), two bits per app byte.
**
** Layout (fixed, so emitted code can translate an address in two
** instructions; SHADOW_* below are the whole contract):
**
**   shadow byte of app address a:  (a >> SHADOW_SHIFT) + SHADOW_OFFSET
**   its bits for a:                 2 bits at bit (a & 3) * 2
**
** Four app bytes share one shadow byte; the 2^47-byte user address space
** maps onto 2^45 shadow bytes at [SHADOW_OFFSET, SHADOW_END), reserved at
** first use with MAP_NORESERVE (address space only: a shadow page costs
** memory once written). An inline check of an aligned 8-byte access is
**
**   mov t, a; shr t, 2; cmp word [t + SHADOW_OFFSET], 0xaaaa; jne slow
**
** States (SHADOW_* values, Valgrind's VA-bit encoding):
**   0 NOACCESS   unaddressable: never mapped, unmapped, redzone, freed
**   1 UNDEFINED  addressable, contents undefined   (memcheck --uninit)
**   3 PARTIAL    addressable, some bits undefined   (reserved: no bit-level yet)
**   2 DEFINED    addressable and defined
** NOACCESS is 0, so untouched shadow reads as unaddressable: the kernel's
** shared zero page is the special all-NOACCESS block. Whole shadow pages
** (16 KiB of app memory) set to DEFINED or UNDEFINED are mapped read-only
** onto one shared block of 0xaa / 0x55 bytes (mremap of a shared mapping),
** so a large uniform region (a mapped file, a big mmap) costs no shadow
** memory; a later write of a different state to part of such a page
** replaces it with a private copy first (shadow_set does it; code writing
** shadow itself must treat a fault on a special page the same way).
** Setting whole pages to NOACCESS maps fresh zero pages over them, which
** gives their memory back.
*/
#ifndef LURK_SHADOW_H
#define LURK_SHADOW_H
#include "lurk.h"

#define SHADOW_SHIFT 2                          /* app bytes per shadow byte: 4 */
#define SHADOW_OFFSET 0x100000000000ULL         /* 16 TiB */
#define SHADOW_APP_END 0x800000000000ULL        /* end of the user address space */
#define SHADOW_END (SHADOW_OFFSET + (SHADOW_APP_END >> SHADOW_SHIFT))
#define SHADOW_PAGE 4096u                       /* one shadow page: 16 KiB of app */
#define SHADOW_ADDR(a) ((uint8_t *)(uintptr_t)(((uint64_t)(a) >> SHADOW_SHIFT) + SHADOW_OFFSET))
#define SHADOW_BITPOS(a) (((unsigned)(a) & 3u) * 2u)

enum { SHADOW_NOACCESS = 0, SHADOW_UNDEFINED = 1, SHADOW_DEFINED = 2, SHADOW_PARTIAL = 3 };

/* Shadow byte of four app bytes all in one state. */
#define SHADOW_BYTE(s) ((uint8_t)((s) * 0x55u))

typedef struct shadow_stats {
  uint64_t special_pages;   /* shadow pages mapped onto a shared block now */
  uint64_t private_pages;   /* special pages replaced by a private copy, ever */
  uint64_t set_calls;       /* shadow_set calls */
} shadow_stats;

/* Reserve the shadow (idempotent; thread-safe). LURK_OK, or
** LURK_ERR(NOMEM) when the kernel refuses the reservation. */
lurk_status shadow_init(void);
int shadow_ready(void);

/* Set [a, a + n) to state s (clipped to the user address space). Readers
** take no lock: get and check look again under the setters' lock before
** they answer noaccess, so a byte a concurrent set leaves alone never reads
** unaddressable; find and the compiled fast paths may see such a byte as
** noaccess for a moment (the fast paths then call check). */
void shadow_set(uint64_t a, uint64_t n, unsigned s);
/* State of the byte at a (NOACCESS outside the user address space). */
unsigned shadow_get(uint64_t a);
/* How many bytes of [a, a + n) are addressable; *first_bad (if not NULL)
** gets the first unaddressable one, or a + n when there is none. */
uint64_t shadow_check(uint64_t a, uint64_t n, uint64_t *first_bad);
/* First byte at or after a (before a + n) whose state is (want_addressable
** ? not NOACCESS : NOACCESS), or a + n; skips zero shadow fast. */
uint64_t shadow_find(uint64_t a, uint64_t n, int want_addressable);
void shadow_get_stats(shadow_stats *st);
/* Definedness (memcheck --uninit): the addressable bytes of [a, a + n)
** to s; the first byte in state s; a mask of the UNDEFINED bytes among n
** <= 64; addressable bytes to UNDEFINED (bit set in m) or DEFINED; the
** definedness of [src, src + n) copied onto [dst, dst + n) (memmove). */
void shadow_set_addressable(uint64_t a, uint64_t n, unsigned s);
uint64_t shadow_find_state(uint64_t a, uint64_t n, unsigned s);
uint64_t shadow_undef_mask(uint64_t a, unsigned n);
void shadow_set_mask(uint64_t a, unsigned n, uint64_t m);
void shadow_copy_def(uint64_t dst, uint64_t src, uint64_t n);

#endif
