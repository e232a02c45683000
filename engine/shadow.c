/* lurk: shadow memory (#14): a direct-mapped 2-bit-per-byte map of the
** user address space, with shared read-only blocks for uniform pages.
** Layout and states: shadow.h. Raw syscalls only; never the app's libc.
*/
#include <sys/mman.h>
#include "shadow.h"
#include "../arch/x86_64/syscall.h"

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#endif

/* Shared blocks: SPECIAL_PAGES shadow pages of one byte value, mapped
** again (mremap of a shared mapping with old size 0) wherever a run of
** whole shadow pages is uniform. */
#define SPECIAL_PAGES 64u
#define SPECIAL_BYTES ((uint64_t)SPECIAL_PAGES * SHADOW_PAGE)
#define SHADOW_NPAGES ((SHADOW_END - SHADOW_OFFSET) / SHADOW_PAGE)

static volatile int shadow_state;              /* 0 none, 1 ready, -1 failed */
static volatile int shadow_lock_word;
static uint8_t *shadow_special[4];              /* by state; [NOACCESS] unused */
static uint8_t *shadow_bitmap;                 /* 1 bit per shadow page: special */
static shadow_stats shadow_st;

static void shadow_lock(void)
{
  while (__atomic_exchange_n(&shadow_lock_word, 1, __ATOMIC_ACQUIRE))
    __builtin_ia32_pause();
}

static void shadow_unlock(void) { __atomic_store_n(&shadow_lock_word, 0, __ATOMIC_RELEASE); }

/* -- Reservation ---------------------------------------------------------- */

/* Keep [p, p + n) out of core dumps: a dump walks every page of a
** mapping, and the shadow's reservation is 32 TiB (a program that dumped
** core under memcheck took minutes of system time). Every mapping made in
** the shadow gets it, as the flag belongs to the mapping. */
static void shadow_nodump(uint64_t p, uint64_t n) { sys_call3(SYS_madvise, (sys_word)p, (sys_word)n, 16 /* MADV_DONTDUMP */); }

static long shadow_reserve(uint64_t at, uint64_t n)
{
  int fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  if (at) fl |= MAP_FIXED_NOREPLACE;
  long r = sys_mmap(at, n, PROT_READ | PROT_WRITE, fl, -1, 0);
  if (!SYS_FAILED(r)) shadow_nodump((uint64_t)r, n);
  return r;
}

/* A shared block of SPECIAL_BYTES bytes of value v, read-only. */
static uint8_t *shadow_make_special(uint8_t v)
{
  long r = sys_mmap(0, SPECIAL_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (SYS_FAILED(r)) return NULL;
  shadow_nodump((uint64_t)r, SPECIAL_BYTES); /* (the pages mremap'ed from it inherit it) */
  lurk_memset((void *)r, v, SPECIAL_BYTES);
  sys_mprotect(r, SPECIAL_BYTES, PROT_READ);
  return (uint8_t *)r;
}

lurk_status shadow_init(void)
{
  if (shadow_state) return shadow_state > 0 ? LURK_OK : LURK_ERR(NOMEM);
  shadow_lock();
  if (!shadow_state) {
    long r = shadow_reserve(SHADOW_OFFSET, SHADOW_END - SHADOW_OFFSET);
    long b = SYS_FAILED(r) ? r : shadow_reserve(0, SHADOW_NPAGES / 8);
    uint8_t *d = SYS_FAILED(b) ? NULL : shadow_make_special(SHADOW_BYTE(SHADOW_DEFINED));
    uint8_t *u = d ? shadow_make_special(SHADOW_BYTE(SHADOW_UNDEFINED)) : NULL;
    if (u && (uint64_t)r == SHADOW_OFFSET) {
      shadow_bitmap = (uint8_t *)b;
      shadow_special[SHADOW_DEFINED] = d;
      shadow_special[SHADOW_UNDEFINED] = u;
      __atomic_store_n(&shadow_state, 1, __ATOMIC_RELEASE);
    } else {
      if (!SYS_FAILED(r)) sys_munmap(r, SHADOW_END - SHADOW_OFFSET);
      if (!SYS_FAILED(r) && !SYS_FAILED(b)) sys_munmap(b, SHADOW_NPAGES / 8);
      if (d) sys_munmap(d, SPECIAL_BYTES);
      __atomic_store_n(&shadow_state, -1, __ATOMIC_RELEASE);
    }
  }
  shadow_unlock();
  return shadow_state > 0 ? LURK_OK : LURK_ERR(NOMEM);
}

int shadow_ready(void) { return shadow_state > 0; }

/* -- Special pages -------------------------------------------------------- */

static uint64_t shadow_pageno(const uint8_t *sp)
{
  return ((uint64_t)(uintptr_t)sp - SHADOW_OFFSET) / SHADOW_PAGE;
}

static int shadow_is_special(uint64_t pg)
{
  return (shadow_bitmap[pg >> 3] >> (pg & 7)) & 1;
}

static void shadow_mark(uint64_t pg, int on)
{
  if (on) shadow_bitmap[pg >> 3] |= (uint8_t)(1u << (pg & 7));
  else shadow_bitmap[pg >> 3] &= (uint8_t)~(1u << (pg & 7));
}

/* Clear the special bits of pages [pg, pg + k), counting them. */
static void shadow_unmark(uint64_t pg, uint64_t k)
{
  for (uint64_t i = 0; i < k; i++)
    if (shadow_is_special(pg + i)) {
      shadow_mark(pg + i, 0);
      shadow_st.special_pages--;
    }
}

/* Make the shadow page holding sp writable: a special page becomes a
** private copy of its value. */
static void shadow_own(uint8_t *sp)
{
  uint64_t pg = shadow_pageno(sp);
  if (!shadow_is_special(pg)) return;
  uint8_t v = *(uint8_t *)((uintptr_t)sp & ~(uintptr_t)(SHADOW_PAGE - 1));
  uint64_t at = SHADOW_OFFSET + pg * SHADOW_PAGE;
  long r = sys_mmap(at, SHADOW_PAGE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  LURK_ASSERT(!SYS_FAILED(r), "shadow: cannot map a private shadow page");
  shadow_nodump(at, SHADOW_PAGE);
  lurk_memset((void *)at, v, SHADOW_PAGE);
  shadow_mark(pg, 0);
  shadow_st.special_pages--;
  shadow_st.private_pages++;
}

/* Whole shadow pages [p, p + n) (page-aligned) to state s. */
static void shadow_set_pages(uint8_t *p, uint64_t n, unsigned s)
{
  uint64_t pg = shadow_pageno(p), k = n / SHADOW_PAGE;
  if (s == SHADOW_NOACCESS || s == SHADOW_PARTIAL) {
    long r = sys_mmap(p, n, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    LURK_ASSERT(!SYS_FAILED(r), "shadow: cannot map fresh shadow pages");
    shadow_nodump((uint64_t)p, n);
    shadow_unmark(pg, k);
    if (s == SHADOW_PARTIAL) lurk_memset(p, SHADOW_BYTE(s), n);
    return;
  }
  for (uint64_t done = 0; done < n; done += SPECIAL_BYTES) {
    uint64_t len = n - done < SPECIAL_BYTES ? n - done : SPECIAL_BYTES;
    long r = sys_call6(SYS_mremap, (sys_word)shadow_special[s], 0, (sys_word)len,
                       MREMAP_MAYMOVE | MREMAP_FIXED, (sys_word)(p + done), 0);
    if (SYS_FAILED(r)) { /* out of mappings: write the bytes instead */
      for (uint64_t i = 0; i < len; i += SHADOW_PAGE) shadow_own(p + done + i);
      lurk_memset(p + done, SHADOW_BYTE(s), len);
      continue;
    }
    for (uint64_t i = 0; i < len / SHADOW_PAGE; i++) {
      uint64_t q = pg + done / SHADOW_PAGE + i;
      if (!shadow_is_special(q)) {
        shadow_mark(q, 1);
        shadow_st.special_pages++;
      }
    }
  }
}

/* -- Setting and reading -------------------------------------------------- */

/* Bytes [p, p + n) of shadow (inside one run) to byte value v. */
static void shadow_fill(uint8_t *p, uint64_t n, uint8_t v)
{
  for (uint64_t i = 0; i < n;) {
    uint8_t *q = p + i;
    uint64_t room = SHADOW_PAGE - ((uintptr_t)q & (SHADOW_PAGE - 1));
    if (room > n - i) room = n - i;
    shadow_own(q);
    lurk_memset(q, v, room);
    i += room;
  }
}

/* App bytes [a, b), all in one shadow byte, to state s. */
static void shadow_set_bits(uint64_t a, uint64_t b, unsigned s)
{
  uint8_t *sp = SHADOW_ADDR(a);
  uint8_t v = *sp, mask = 0, bits = 0;
  for (uint64_t x = a; x < b; x++) {
    mask |= (uint8_t)(3u << SHADOW_BITPOS(x));
    bits |= (uint8_t)(s << SHADOW_BITPOS(x));
  }
  uint8_t nv = (uint8_t)((v & ~mask) | bits);
  if (nv == v) return;
  shadow_own(sp);
  *sp = nv;
}

void shadow_set(uint64_t a, uint64_t n, unsigned s)
{
  if (!shadow_ready() || s > 3) return;
  if (a >= SHADOW_APP_END) return;
  if (n > SHADOW_APP_END - a) n = SHADOW_APP_END - a;
  if (!n) return;
  uint64_t e = a + n;
  shadow_lock();
  shadow_st.set_calls++;
  /* head: up to the first 4-aligned byte */
  uint64_t h = (a + 3) & ~3ULL;
  if (h > e) h = e;
  if (a < h) shadow_set_bits(a, h, s);
  uint64_t t = e & ~3ULL;
  if (t > h) {
    uint8_t *p = SHADOW_ADDR(h), *q = SHADOW_ADDR(t);
    uint8_t *pa = (uint8_t *)(((uintptr_t)p + SHADOW_PAGE - 1) & ~(uintptr_t)(SHADOW_PAGE - 1));
    uint8_t *qa = (uint8_t *)((uintptr_t)q & ~(uintptr_t)(SHADOW_PAGE - 1));
    if (pa < qa) {
      shadow_fill(p, (uint64_t)(pa - p), SHADOW_BYTE(s));
      shadow_set_pages(pa, (uint64_t)(qa - pa), s);
      shadow_fill(qa, (uint64_t)(q - qa), SHADOW_BYTE(s));
    } else {
      shadow_fill(p, (uint64_t)(q - p), SHADOW_BYTE(s));
    }
  }
  if (t >= h && t < e) shadow_set_bits(t, e, s);
  shadow_unlock();
}

/* Readers take no lock, and a shadow page being made private (shadow_own,
** shadow_set_pages) reads as zeros, noaccess, from its fresh mapping until
** it is filled (the fill's page fault included: a few microseconds). So a
** reader that sees noaccess looks again under the lock, which setters
** hold throughout: a byte another thread's set does not change is never
** reported unaddressable. */
unsigned shadow_get(uint64_t a)
{
  if (!shadow_ready() || a >= SHADOW_APP_END) return SHADOW_NOACCESS;
  unsigned s = (*SHADOW_ADDR(a) >> SHADOW_BITPOS(a)) & 3u;
  if (s != SHADOW_NOACCESS) return s;
  shadow_lock();
  s = (*SHADOW_ADDR(a) >> SHADOW_BITPOS(a)) & 3u;
  shadow_unlock();
  return s;
}

/* Addressable fields of shadow byte v (2-bit fields that are not 0). */
static unsigned shadow_nacc(uint8_t v)
{
  return (unsigned)__builtin_popcount((v | (v >> 1)) & 0x55u);
}

static uint64_t shadow_scan(uint64_t a, uint64_t n, uint64_t *first_bad)
{
  uint64_t good = 0, bad = a + n;
  uint64_t x = a, e = a + n;
  if (!shadow_ready()) {
    if (first_bad) *first_bad = n ? a : e;
    return 0;
  }
  while (x < e) {
    if (x >= SHADOW_APP_END) {
      if (bad == e) bad = x;
      break;
    }
    if (!(x & 3) && e - x >= 4) { /* a whole shadow byte */
      uint8_t v = *SHADOW_ADDR(x);
      if (v == 0xaa || shadow_nacc(v) == 4) { good += 4; x += 4; continue; }
      if (v == 0) { if (bad == e) bad = x; x += 4; continue; }
    }
    if ((*SHADOW_ADDR(x) >> SHADOW_BITPOS(x)) & 3u) good++;
    else if (bad == e) bad = x;
    x++;
  }
  if (first_bad) *first_bad = bad;
  return good;
}

/* The scan, again under the lock when it found an unaddressable byte
** (see shadow_get): the bad path only. */
uint64_t shadow_check(uint64_t a, uint64_t n, uint64_t *first_bad)
{
  uint64_t good = shadow_scan(a, n, first_bad);
  if (good == n || !shadow_ready()) return good;
  shadow_lock();
  good = shadow_scan(a, n, first_bad);
  shadow_unlock();
  return good;
}

uint64_t shadow_find(uint64_t a, uint64_t n, int want_addressable)
{
  uint64_t x = a, e = a + n;
  if (e > SHADOW_APP_END || e < a) e = SHADOW_APP_END;
  if (!shadow_ready()) return want_addressable ? a + n : a;
  while (x < e) {
    if (!(x & 31) && e - x >= 32) { /* 8 shadow bytes at once */
      uint64_t w = *(const uint64_t *)SHADOW_ADDR(x);
      if (want_addressable ? w == 0 : ((w | (w >> 1)) & 0x5555555555555555ULL) == 0x5555555555555555ULL) {
        x += 32;
        continue;
      }
    }
    unsigned st = (*SHADOW_ADDR(x) >> SHADOW_BITPOS(x)) & 3u;
    if ((st != SHADOW_NOACCESS) == !!want_addressable) return x;
    x++;
  }
  return a + n;
}

void shadow_get_stats(shadow_stats *st)
{
  shadow_lock();
  *st = shadow_st;
  shadow_unlock();
}

/* -- Definedness (memcheck's uninitialised values) ------------------------ */

/* Addressable bytes of [a, a + n) to state s; unaddressable ones stay so
** (a store into a redzone must not make it addressable). */
void shadow_set_addressable(uint64_t a, uint64_t n, unsigned s)
{
  uint64_t e = a + n, x = a;
  if (!shadow_ready() || e < a) return;
  while (x < e) {
    uint64_t y = shadow_find(x, e - x, 1);
    if (y >= e) break;
    uint64_t z = shadow_find(y, e - y, 0);
    shadow_set(y, z - y, s);
    x = z;
  }
}

/* First byte of [a, a + n) in state s, or a + n. */
uint64_t shadow_find_state(uint64_t a, uint64_t n, unsigned s)
{
  uint64_t e = a + n;
  if (!shadow_ready()) return e;
  if (e > SHADOW_APP_END || e < a) e = SHADOW_APP_END;
  for (uint64_t x = a; x < e;) {
    if (!(x & 3) && e - x >= 4) { /* a whole shadow byte of another state */
      uint8_t v = *SHADOW_ADDR(x);
      if (v == SHADOW_BYTE(SHADOW_DEFINED) && s != SHADOW_DEFINED) { x += 4; continue; }
    }
    if (((*SHADOW_ADDR(x) >> SHADOW_BITPOS(x)) & 3u) == s) return x;
    x++;
  }
  return a + n;
}

/* Bit i set when byte a + i (i < n <= 64) is UNDEFINED. */
uint64_t shadow_undef_mask(uint64_t a, unsigned n)
{
  uint64_t m = 0;
  if (!shadow_ready()) return 0;
  for (unsigned i = 0; i < n && i < 64; i++)
    if (a + i < SHADOW_APP_END && ((*SHADOW_ADDR(a + i) >> SHADOW_BITPOS(a + i)) & 3u) == SHADOW_UNDEFINED)
      m |= 1ULL << i;
  return m;
}

/* Addressable bytes a + i (i < n <= 64) to UNDEFINED where bit i of m is
** set, else DEFINED. */
void shadow_set_mask(uint64_t a, unsigned n, uint64_t m)
{
  for (unsigned i = 0; i < n && i < 64;) {
    unsigned j = i, bit = (unsigned)(m >> i) & 1u;
    while (j < n && j < 64 && ((m >> j) & 1u) == bit) j++;
    shadow_set_addressable(a + i, j - i, bit ? SHADOW_UNDEFINED : SHADOW_DEFINED);
    i = j;
  }
}

/* The definedness of [src, src + n) onto [dst, dst + n) (addressable
** destination bytes only; as memmove, overlap allowed), by chunks. */
void shadow_copy_def(uint64_t dst, uint64_t src, uint64_t n)
{
  enum { CH = 1024 };
  uint8_t st[CH];
  if (!shadow_ready() || dst == src) return;
  int back = dst > src && dst < src + n;
  for (uint64_t done = 0; done < n;) {
    uint64_t k = n - done < CH ? n - done : CH;
    uint64_t off = back ? n - done - k : done;
    for (uint64_t i = 0; i < k; i++) {
      uint64_t x = src + off + i;
      st[i] = x < SHADOW_APP_END ? (uint8_t)((*SHADOW_ADDR(x) >> SHADOW_BITPOS(x)) & 3u) : SHADOW_DEFINED;
      if (st[i] != SHADOW_UNDEFINED) st[i] = SHADOW_DEFINED; /* (noaccess, partial: as defined) */
    }
    for (uint64_t i = 0; i < k;) {
      uint64_t j = i;
      while (j < k && st[j] == st[i]) j++;
      shadow_set_addressable(dst + off + i, j - i, st[i]);
      i = j;
    }
    done += k;
  }
}
