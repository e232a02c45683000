/* lurk: the module tracker (mod.h).
** A module is found by one of its executable mappings: the ELF header and
** program headers (read with pread from the file, or from memory for the
** vdso) give the load bias of that mapping, hence the module's base, end and
** entry. ld.so maps a library as a reservation of the whole extent and then
** each segment over it (MAP_FIXED); the first mapping with PROT_EXEC is the
** one that counts, and unmapping that text (munmap, or a MAP_FIXED mapping
** over it) unloads the module.
*/
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include "mod.h"
#include "vm.h"
#include "lock.h"
#include "log.h"
#include "ldr.h"
#include "mem.h"
#include "../arch/x86_64/syscall.h"
#include "../bindings/lb.h"

#define MOD_PAGE 4096ull
#define MOD_TRUNC(x) ((x) & ~(MOD_PAGE - 1))
#define MOD_ROUND(x) (((x) + MOD_PAGE - 1) & ~(MOD_PAGE - 1))
#define MOD_MAXPH 64

static struct lurk_lock mod_lk = LOCK_INIT;
static struct mod_info **mods; /* loaded, sorted by base */
static size_t nmods, capmods;
static uint64_t mod_at_entry;  /* AT_ENTRY: the program's entry point */

void mod_lock(void) { lock_acquire(&mod_lk); }
void mod_unlock(void) { lock_release(&mod_lk); }

/* -- ELF headers ------------------------------------------------------------- */

/* Read n bytes at file offset off from fd, or from the image at mem. */
static int mod_read(int fd, const uint8_t *mem, void *buf, size_t n, uint64_t off)
{
  if (mem) {
    lurk_memcpy(buf, mem + off, n);
    return 0;
  }
  long r;
  do r = sys_call4(SYS_pread64, fd, buf, n, off); while (r == -4);
  return r == (long)n ? 0 : -1;
}

/* Fill m's range and entry from the ELF file behind a mapping at addr of
** file offset off. 0, or -1 when it is not an ELF file lurk understands. */
static int mod_elf(int fd, const uint8_t *mem, uint64_t addr, uint64_t off, struct mod_info *m)
{
  Elf64_Ehdr eh;
  if (mod_read(fd, mem, &eh, sizeof eh, 0)) return -1;
  if (lurk_memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || eh.e_phentsize != sizeof(Elf64_Phdr) ||
      eh.e_phnum == 0 || eh.e_phnum > MOD_MAXPH)
    return -1;
  Elf64_Phdr ph[MOD_MAXPH];
  if (mod_read(fd, mem, ph, eh.e_phnum * sizeof ph[0], eh.e_phoff)) return -1;
  uint64_t lo = ~0ull, hi = 0, relro = 0;
  const Elf64_Phdr *seg = NULL;
  for (int i = 0; i < eh.e_phnum; i++) {
    if (ph[i].p_type == PT_GNU_RELRO) relro = ph[i].p_vaddr;
    if (ph[i].p_type != PT_LOAD) continue;
    if (MOD_TRUNC(ph[i].p_vaddr) < lo) lo = MOD_TRUNC(ph[i].p_vaddr);
    if (ph[i].p_vaddr + ph[i].p_memsz > hi) hi = ph[i].p_vaddr + ph[i].p_memsz;
    /* the segment this mapping is: same page of the file, executable first */
    if (MOD_TRUNC(ph[i].p_offset) == off && (!seg || (!(seg->p_flags & PF_X) && (ph[i].p_flags & PF_X))))
      seg = &ph[i];
  }
  if (!seg || lo > hi) return -1;
  uint64_t bias = addr - MOD_TRUNC(seg->p_vaddr);
  if (eh.e_type == ET_EXEC && bias) return -1;
  m->base = bias + lo;
  m->end = bias + MOD_ROUND(hi);
  m->entry = eh.e_entry + (eh.e_type == ET_DYN ? bias : 0);
  m->text_lo = addr;
  m->text_hi = bias + MOD_ROUND(seg->p_vaddr + seg->p_memsz);
  m->relro = relro ? bias + MOD_TRUNC(relro) : 0;
  return 0;
}

/* -- The table (module lock held) ---------------------------------------------- */

/* Index of the first module with base > pc. */
static size_t mod_upper(uint64_t pc)
{
  size_t lo = 0, hi = nmods;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (mods[mid]->base <= pc) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static struct mod_info *mod_holding(uint64_t pc)
{
  size_t i = mod_upper(pc);
  return i && pc < mods[i - 1]->end ? mods[i - 1] : NULL;
}

static void mod_insert(struct mod_info *m)
{
  if (nmods == capmods) {
    size_t ncap = capmods ? capmods * 2 : 64;
    mods = mem_realloc(mods, capmods * sizeof *mods, ncap * sizeof *mods);
    capmods = ncap;
  }
  size_t at = mod_upper(m->base);
  for (size_t i = nmods; i > at; i--) mods[i] = mods[i - 1];
  mods[at] = m;
  nmods++;
  m->loaded = 1;
}

/* Take out the modules whose text meets [lo, hi); up to max into out. */
static size_t mod_remove(uint64_t lo, uint64_t hi, struct mod_info **out, size_t max)
{
  size_t k = 0, n = 0;
  for (size_t i = 0; i < nmods; i++) {
    struct mod_info *m = mods[i];
    if (m->text_lo < hi && lo < m->text_hi && n < max) {
      m->loaded = 0;
      out[n++] = m;
    } else {
      mods[k++] = m;
    }
  }
  nmods = k;
  return n;
}

/* -- Events ----------------------------------------------------------------------- */

static void mod_fire(const struct mod_info *m, int load)
{
  struct lb_module lm = { m->path, m->base, m->end - m->base, m->entry, m->main };
  if (load) lb_event_module_load(&lm);
  else lb_event_module_unload(&lm);
}

static struct mod_info *mod_new(const char *path, size_t n)
{
  struct mod_info *m = mem_alloc(sizeof *m);
  char *p = mem_alloc(n + 1);
  lurk_memcpy(p, path, n);
  p[n] = 0;
  m->path = p;
  return m;
}

static int mod_is_lurk(const struct mod_info *m)
{
  uint64_t self = (uint64_t)(uintptr_t)&mod_init;
  return self >= m->base && self < m->end;
}

/* -- At takeover: /proc/self/maps ---------------------------------------------------- */

static uint64_t (*mod_spans)[2]; /* --early: the app's images; the rest is lurk's */
static size_t mod_nspans;


static void mod_auxv(void)
{
  long fd = sys_openat(AT_FDCWD, "/proc/self/auxv", O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return;
  uint64_t av[2];
  while (sys_read(fd, av, sizeof av) == (long)sizeof av && av[0] != AT_NULL)
    if (av[0] == AT_ENTRY) mod_at_entry = av[1];
  sys_close(fd);
}

/* One line of maps: "lo-hi perms offset dev inode   path". An executable
** mapping of a path not yet known starts a module. */
static void mod_maps_line(const struct vm_line *l)
{
  uint64_t lo = l->lo, off = l->off;
  const char *s = l->name;
  if (!(l->prot & PROT_EXEC) || (*s != '/' && lurk_strcmp(s, "[vdso]"))) return;
  if (*s == '/' && mod_nspans) { /* --early: only the program lurk mapped */
    size_t i = 0;
    while (i < mod_nspans && !(lo >= mod_spans[i][0] && lo < mod_spans[i][1])) i++;
    if (i == mod_nspans) return;
  }
  if (mod_holding(lo)) return; /* a second executable segment */
  struct mod_info tmp;
  lurk_memset(&tmp, 0, sizeof tmp);
  int ok;
  if (*s == '[') {
    ok = off == 0 && mod_elf(-1, (const uint8_t *)lo, lo, 0, &tmp) == 0;
  } else {
    long fd = sys_openat(AT_FDCWD, s, O_RDONLY | O_CLOEXEC, 0);
    ok = !SYS_FAILED(fd) && mod_elf((int)fd, NULL, lo, off, &tmp) == 0;
    if (!SYS_FAILED(fd)) sys_close(fd);
  }
  if (!ok || mod_is_lurk(&tmp)) return;
  struct mod_info *m = mod_new(s, lurk_strlen(s));
  const char *path = m->path;
  *m = tmp;
  m->path = path;
  m->main = mod_at_entry && m->entry == mod_at_entry;
  mod_insert(m);
}

void mod_scan(void)
{
  mod_auxv();
  mod_lock();
  vm_maps_read(mod_maps_line);
  mod_unlock();
}

/* One line of maps at --early's start: lurk's, but the stack (the app's
** grows in it) and the kernel's special mappings ([vdso], [vvar],
** [vsyscall]...: the app's too); the launcher's [heap] is lurk's. */
static void mod_host_line(const struct vm_line *l)
{
  if (*l->name == '[' && lurk_strcmp(l->name, "[heap]")) return;
  mem_note(l->lo, l->hi, MEM_KIND_ENGINE);
}

void mod_host_begin(void)
{
  vm_maps_read(mod_host_line);
}

void mod_scan_app(uint64_t entry, uint64_t (*spans)[2], size_t n)
{
  mod_at_entry = entry;
  mod_spans = spans;
  mod_nspans = n;
  mod_lock();
  vm_maps_read(mod_maps_line);
  mod_unlock();
  mod_nspans = 0;
}

void mod_init(void)
{
  mod_lock();
  size_t n = nmods;
  struct mod_info **all = mem_alloc((n + 1) * sizeof *all);
  lurk_memcpy(all, mods, n * sizeof *all);
  mod_unlock();
  for (size_t i = 0; i < n; i++) mod_fire(all[i], 1);
  mem_free(all, (n + 1) * sizeof *all);
}

/* -- The app's mmap and munmap -------------------------------------------------------- */

#define MOD_BATCH 16

static void mod_unload_range(uint64_t lo, uint64_t hi)
{
  struct mod_info *gone[MOD_BATCH];
  size_t n;
  do {
    mod_lock();
    n = mod_remove(lo, hi, gone, MOD_BATCH);
    mod_unlock();
    for (size_t i = 0; i < n; i++) mod_fire(gone[i], 0);
  } while (n == MOD_BATCH);
}

void mod_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
  if ((flags & MAP_FIXED) && nmods) mod_unload_range(addr, addr + len);
  if (!(prot & PROT_EXEC) || (flags & MAP_ANONYMOUS) || fd < 0) return;
  mod_lock();
  int known = mod_holding(addr) != NULL;
  mod_unlock();
  if (known) return;
  struct mod_info tmp;
  lurk_memset(&tmp, 0, sizeof tmp);
  if (mod_elf(fd, NULL, addr, off, &tmp)) return;
  char link[32], path[4096];
  log_snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  long n = sys_call4(SYS_readlinkat, AT_FDCWD, link, path, sizeof path);
  if (SYS_FAILED(n)) return;
  struct mod_info *m = mod_new(path, (size_t)n);
  const char *p = m->path;
  *m = tmp;
  m->path = p;
  m->main = mod_at_entry && m->entry == mod_at_entry;
  m->pending = ldr_active && m->relro; /* announced once relocated (mod_mprotect) */
  mod_lock();
  int raced = mod_holding(addr) != NULL; /* another thread mapped it first */
  if (!raced) mod_insert(m);
  mod_unlock();
  if (!raced && !m->pending) mod_fire(m, 1);
}

void mod_mprotect(uint64_t addr, uint64_t len, int prot)
{
  if (!ldr_active || prot != PROT_READ) return;
  struct mod_info *ready[MOD_BATCH];
  size_t n = 0;
  mod_lock();
  for (size_t i = 0; i < nmods && n < MOD_BATCH; i++)
    if (mods[i]->pending && mods[i]->relro >= addr && mods[i]->relro < addr + len) {
      mods[i]->pending = 0;
      ready[n++] = mods[i];
    }
  mod_unlock();
  for (size_t i = 0; i < n; i++) mod_fire(ready[i], 1);
}

void mod_munmap(uint64_t addr, uint64_t len)
{
  if (nmods) mod_unload_range(addr, addr + MOD_ROUND(len));
}

/* -- Lookups ----------------------------------------------------------------------------- */

uint64_t mod_entry(void) { return mod_at_entry; }

const struct mod_info *mod_find(uint64_t pc)
{
  mod_lock();
  const struct mod_info *m = mod_holding(pc);
  mod_unlock();
  return m;
}

size_t mod_list(const struct mod_info **out, size_t max)
{
  mod_lock();
  size_t n = nmods;
  for (size_t i = 0; i < n && i < max; i++) out[i] = mods[i];
  mod_unlock();
  return n;
}
