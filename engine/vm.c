/* lurk: app memory protections and write-protected code pages.
**
** Code on a writable page (a JIT's, or self-modifying code) is translated
** and then its page is made read-only. A write to it faults into lurk's
** handler, which restores the permission; the dispatcher flushes the blocks
** built from the page before the writer goes on, and runs the writing
** instruction alone so a write into its own block is seen. The next
** translation from the page protects it again. Code on a MAP_SHARED file
** page (a memfd JIT) also gets the writable views of the same file page
** elsewhere in the app protected, a write there flushing the code page.
*/
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/personality.h>
#include <sys/sysmacros.h>
#include "vm.h"
#include "log.h"
#include "mem.h"
#include "../arch/x86_64/syscall.h"

/* -- The app's mappings (/proc/self/maps) ------------------------------------ */

/* shared: a MAP_SHARED mapping; dev, ino, off: its file (ino 0: none) */
struct vm_area { uint64_t lo, hi; int prot, shared; uint64_t dev, ino, off; };

static struct vm_area *areas;
static uint32_t nareas, cap_areas;
static int areas_valid;
static int areas_fresh; /* read since the last change lurk was not told of */

#define VM_PCACHE 4096
static struct { uint64_t key; int prot; } pcache[VM_PCACHE]; /* key: page + 1 */

uint64_t vm_hex(const char **s)
{
  uint64_t v = 0;
  for (;; (*s)++) {
    char c = **s;
    if (c >= '0' && c <= '9') v = v * 16 + (uint64_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v = v * 16 + (uint64_t)(c - 'a' + 10);
    else return v;
  }
}

int vm_line_parse(const char *s, struct vm_line *l)
{
  const char *p = s;
  l->lo = vm_hex(&p);
  if (p == s || *p++ != '-') return 0;
  l->hi = vm_hex(&p);
  if (*p++ != ' ' || !p[0] || !p[1] || !p[2] || !p[3]) return 0;
  l->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) | (p[2] == 'x' ? PROT_EXEC : 0);
  l->shared = p[3] == 's';
  p += 4;
  while (*p == ' ') p++;
  l->off = vm_hex(&p);
  while (*p == ' ') p++;
  l->dev = vm_hex(&p) << 32;
  if (*p == ':') { p++; l->dev |= vm_hex(&p); }
  while (*p == ' ') p++;
  l->ino = 0;
  for (; *p >= '0' && *p <= '9'; p++) l->ino = l->ino * 10 + (uint64_t)(*p - '0');
  while (*p == ' ') p++;
  l->name = p;
  return 1;
}

/* Add one line to the table. */
static void areas_line(const struct vm_line *l)
{
  if (nareas == cap_areas) {
    uint32_t ncap = cap_areas ? cap_areas * 2 : 256;
    areas = mem_realloc(areas, cap_areas * sizeof *areas, ncap * sizeof *areas);
    cap_areas = ncap;
  }
  areas[nareas++] = (struct vm_area){ l->lo, l->hi, l->prot, l->shared, l->dev, l->ino, l->off };
}

void vm_maps_read(void (*line)(const struct vm_line *))
{
  long fd = sys_openat(AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return;
  char buf[8192];
  size_t have = 0;
  for (;;) {
    long r = sys_read(fd, buf + have, sizeof buf - 1 - have);
    if (r == -4) continue;
    if (r <= 0) break;
    have += (size_t)r;
    char *start = buf, *end = buf + have;
    for (char *c = buf; c < end; c++)
      if (*c == '\n') {
        *c = 0;
        struct vm_line l;
        if (vm_line_parse(start, &l)) line(&l);
        start = c + 1;
      }
    have -= (size_t)(start - buf);
    lurk_memcpy(buf, start, have);
  }
  sys_close(fd);
}

static void areas_read(void)
{
  nareas = 0;
  areas_valid = 1;
  areas_fresh = 1;
  vm_maps_read(areas_line);
}

/* The area holding addr, or NULL (areas read if stale). */
static const struct vm_area *area_of(uint64_t addr)
{
  if (!areas_valid) areas_read();
  uint32_t lo = 0, hi = nareas;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (areas[mid].hi <= addr) lo = mid + 1;
    else if (areas[mid].lo > addr) hi = mid;
    else return &areas[mid];
  }
  return NULL;
}

int vm_prot(uint64_t addr)
{
  uint64_t page = addr >> 12;
  unsigned h = (unsigned)(page & (VM_PCACHE - 1));
  if (pcache[h].key == page + 1) return pcache[h].prot;
  const struct vm_area *a = area_of(addr);
  if (!a && !areas_fresh) { /* the kernel maps some pages by itself (stack growth) */
    areas_read();
    a = area_of(addr);
  }
  int prot = a ? a->prot : -1;
  pcache[h].key = page + 1;
  pcache[h].prot = prot;
  return prot;
}

/* Make room for d more areas at index at (d < 0: drop the -d from at on). */
static void areas_shift(uint32_t at, int32_t d)
{
  if (d > 0 && nareas + (uint32_t)d > cap_areas) {
    uint32_t ncap = (nareas + (uint32_t)d) * 2;
    areas = mem_realloc(areas, cap_areas * sizeof *areas, ncap * sizeof *areas);
    cap_areas = ncap;
  }
  uint32_t from = d > 0 ? at : at - (uint32_t)d;
  lurk_memmove(&areas[(int64_t)from + d], &areas[from], (nareas - from) * sizeof *areas);
  nareas = (uint32_t)((int64_t)nareas + d);
}

/* A boundary at addr: the area holding it inside is split in two. The
** index of the first area at or above addr. */
static uint32_t areas_cut(uint64_t addr)
{
  uint32_t lo = 0, hi = nareas;
  while (lo < hi) { /* the first area ending above addr */
    uint32_t mid = (lo + hi) / 2;
    if (areas[mid].hi <= addr) lo = mid + 1;
    else hi = mid;
  }
  if (lo == nareas || areas[lo].lo >= addr) return lo;
  areas_shift(lo + 1, 1);
  areas[lo + 1] = areas[lo];
  areas[lo + 1].lo = addr;
  areas[lo + 1].off += addr - areas[lo].lo;
  areas[lo].hi = addr;
  return lo + 1;
}

/* Merge the equal neighbours among areas [i, j] (the table stays as
** compact as the kernel's own list). */
static void areas_merge(uint32_t i, uint32_t j)
{
  if (!nareas) return;
  if (j >= nareas) j = nareas - 1;
  while (i < j) {
    struct vm_area *a = &areas[i], *b = &areas[i + 1];
    if (a->hi == b->lo && a->prot == b->prot && a->shared == b->shared && a->dev == b->dev && a->ino == b->ino &&
        (!a->ino || a->off + (a->hi - a->lo) == b->off)) {
      a->hi = b->hi;
      areas_shift(i + 1, -1);
      j--;
    } else {
      i++;
    }
  }
}

/* Replace [lo, hi) in the table with the area n, or (!n) set the
** protection of what is there to prot (-1: remove it). */
static void areas_splice(uint64_t lo, uint64_t hi, const struct vm_area *n, int prot)
{
  uint32_t i = areas_cut(lo), j = areas_cut(hi);
  if (n) { /* [i, j) becomes one */
    if (j == i) areas_shift(i, 1);
    else if (j > i + 1) areas_shift(i + 1, -(int32_t)(j - i - 1));
    areas[i] = *n;
    j = i + 1;
  } else if (prot < 0) {
    areas_shift(i, -(int32_t)(j - i));
    j = i;
  } else {
    for (uint32_t k = i; k < j; k++) areas[k].prot = prot;
  }
  areas_merge(i ? i - 1 : 0, j);
}

/* -- Write-protected code pages ------------------------------------------------- */

/* Open addressing, never rehashed: key = page + 2 (0 empty, 1 deleted);
** state = the app's protection | WP_ON while lurk's protection is in force.
** Entries stay after a fault (WP_ON cleared) so a second thread that
** faulted on the same write before the permission came back is recognised. */
#define WP_SIZE 65536u
#define WP_ON 0x100
struct wp_ent { uint64_t key; int state; uint64_t code; }; /* code: 0, or the code page + 1 this alias maps */
static struct wp_ent *wp;
static int wp_full_warned;

static struct wp_ent *wp_find(uint64_t page)
{
  if (!wp) return NULL;
  uint32_t h = (uint32_t)((page * 0x9E3779B97F4A7C15ull) >> 48) & (WP_SIZE - 1);
  for (uint32_t i = 0; i < 64; i++, h = (h + 1) & (WP_SIZE - 1)) {
    uint64_t k = __atomic_load_n(&wp[h].key, __ATOMIC_ACQUIRE);
    if (k == page + 2) return &wp[h];
    if (k == 0) return NULL;
  }
  return NULL;
}

static struct wp_ent *wp_insert(uint64_t page, int state)
{
  if (!wp) wp = mem_map(WP_SIZE * sizeof *wp, PROT_READ | PROT_WRITE);
  uint32_t h = (uint32_t)((page * 0x9E3779B97F4A7C15ull) >> 48) & (WP_SIZE - 1);
  for (uint32_t i = 0; i < 64; i++, h = (h + 1) & (WP_SIZE - 1))
    if (wp[h].key <= 1) {
      wp[h].state = state;
      wp[h].code = 0;
      __atomic_store_n(&wp[h].key, page + 2, __ATOMIC_RELEASE);
      return &wp[h];
    }
  if (!wp_full_warned++)
    LOG(LOG_WARN, "lurk: too many writable code pages: changes to some are not detected\n");
  return NULL;
}

/* [lo, hi) changed: forget the cached protections and lurk's write
** protection there (the app set these pages' protection itself). */
static void vm_forget(uint64_t lo, uint64_t hi)
{
  areas_fresh = 0;
  uint64_t first = lo >> 12, last = (hi - 1) >> 12;
  if (last - first >= VM_PCACHE) lurk_memset(pcache, 0, sizeof pcache);
  else
    for (uint64_t pg = first; pg <= last; pg++)
      if (pcache[pg & (VM_PCACHE - 1)].key == pg + 1) pcache[pg & (VM_PCACHE - 1)].key = 0;
  if (!wp) return;
  if (last - first >= WP_SIZE) {
    for (uint32_t i = 0; i < WP_SIZE; i++)
      if (wp[i].key > 1 && wp[i].key - 2 >= first && wp[i].key - 2 <= last) wp[i].key = 1;
  } else {
    for (uint64_t pg = first; pg <= last; pg++) {
      struct wp_ent *e = wp_find(pg);
      if (e) e->key = 1;
    }
  }
}

void vm_changed(uint64_t lo, uint64_t hi)
{
  if (hi <= lo) return;
  vm_forget(lo, hi);
  areas_valid = 0;
}

static int vm_persona = -1; /* the app's personality, -1: ask */

void vm_personality_changed(void) { vm_persona = -1; }

/* prot as the kernel applies it: readable implies executable under the
** READ_IMPLIES_EXEC personality (old binaries, an executable stack). */
static int vm_kernel_prot(int prot)
{
  prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
  if ((prot & (PROT_READ | PROT_EXEC)) != PROT_READ) return prot;
  if (vm_persona < 0) vm_persona = (int)sys_call1(SYS_personality, 0xffffffff);
  return vm_persona & READ_IMPLIES_EXEC ? prot | PROT_EXEC : prot;
}

void vm_mapped(uint64_t lo, uint64_t hi, int prot, int shared, int fd, uint64_t off)
{
  if (hi <= lo) return;
  vm_forget(lo, hi);
  if (!areas_valid) return;
  struct vm_area n = { lo, hi, vm_kernel_prot(prot), shared, 0, 0, fd >= 0 ? off : 0 };
  struct stat st;
  if (shared && fd >= 0) { /* the file's identity: wp_aliases looks for other views of it */
    if (sys_call2(SYS_fstat, fd, &st)) { areas_valid = 0; return; }
    n.dev = ((uint64_t)major(st.st_dev) << 32) | minor(st.st_dev);
    n.ino = st.st_ino;
  }
  areas_splice(lo, hi, &n, 0);
}

void vm_reprotected(uint64_t lo, uint64_t hi, int prot)
{
  if (hi <= lo) return;
  vm_forget(lo, hi);
  if (areas_valid) areas_splice(lo, hi, NULL, prot >= 0 ? vm_kernel_prot(prot) : -1);
}

/* Write-protect the writable pages that map the same file page as the
** shared code page pg (a memfd JIT's read/write view of the code it runs
** through another view): a write there must flush pg's blocks. */
static int wp_aliases(uint64_t pg)
{
  const struct vm_area *a = area_of(pg << 12);
  if (!a || !a->shared || !a->ino) return 0;
  uint64_t fo = a->off + ((pg << 12) - a->lo);
  int n = 0;
  for (uint32_t i = 0; i < nareas; i++) {
    const struct vm_area *b = &areas[i];
    if (b == a || !b->shared || b->ino != a->ino || b->dev != a->dev || !(b->prot & PROT_WRITE) ||
        fo < b->off || fo - b->off >= b->hi - b->lo)
      continue;
    uint64_t ap = (b->lo + (fo - b->off)) >> 12;
    struct wp_ent *e = wp_find(ap);
    if (e && (e->state & WP_ON)) continue;
    if (!e) e = wp_insert(ap, b->prot);
    if (!e) continue;
    if (SYS_FAILED(sys_mprotect(ap << 12, 4096, b->prot & ~PROT_WRITE))) continue;
    e->code = pg + 1;
    __atomic_store_n(&e->state, b->prot | WP_ON, __ATOMIC_RELEASE);
    n++;
  }
  return n;
}

int vm_protect_code(uint64_t lo, uint64_t hi)
{
  int n = 0;
  for (uint64_t pg = lo >> 12; pg <= (hi - 1) >> 12; pg++) {
    n += wp_aliases(pg);
    struct wp_ent *e = wp_find(pg);
    int prot;
    if (e) {
      if (e->state & WP_ON) continue;
      prot = e->state;
    } else {
      prot = vm_prot(pg << 12);
      if (prot < 0 || !(prot & PROT_WRITE)) continue;
      e = wp_insert(pg, prot);
      if (!e) continue;
    }
    if (SYS_FAILED(sys_mprotect(pg << 12, 4096, prot & ~PROT_WRITE))) continue;
    __atomic_store_n(&e->state, prot | WP_ON, __ATOMIC_RELEASE);
    n++;
  }
  return n;
}

int vm_wp_fault(uint64_t addr, uint64_t *code)
{
  struct wp_ent *e = wp_find(addr >> 12);
  if (!e) return 0;
  int st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
  sys_mprotect(addr & ~0xfffull, 4096, st & ~WP_ON);
  __atomic_store_n(&e->state, st & ~WP_ON, __ATOMIC_RELEASE);
  *code = e->code ? (e->code - 1) << 12 : addr & ~0xfffull;
  return 1;
}

void vm_unprotect_range(uint64_t lo, uint64_t hi, void (*flush)(uint64_t page))
{
  if (!wp || hi <= lo || (hi - lo) >> 12 > WP_SIZE) return;
  for (uint64_t pg = lo >> 12; pg <= (hi - 1) >> 12; pg++) {
    struct wp_ent *e = wp_find(pg);
    if (!e || !(e->state & WP_ON)) continue;
    sys_mprotect(pg << 12, 4096, e->state & ~WP_ON);
    e->state &= ~WP_ON;
    flush(e->code ? e->code - 1 : pg);
  }
}

int vm_unprotect_all(void (*flush)(uint64_t page))
{
  int n = 0;
  for (uint32_t i = 0; wp && i < WP_SIZE; i++)
    if (wp[i].key > 1 && (wp[i].state & WP_ON)) {
      uint64_t page = wp[i].key - 2;
      sys_mprotect(page << 12, 4096, wp[i].state & ~WP_ON);
      wp[i].state &= ~WP_ON;
      flush(wp[i].code ? wp[i].code - 1 : page);
      n++;
    }
  return n;
}
