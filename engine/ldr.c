/* lurk: the ELF loader of early injection (ldr.h). It follows the kernel's
** load_elf_binary: PT_LOAD segments mapped from the file with their
** protections and a zeroed bss, a PIE program at ELF_ET_DYN_BASE plus a
** random page offset, the interpreter where mmap puts it, the break after
** the program's bss (randomised within 32 MiB), and create_elf_tables'
** stack: strings, platform, random bytes, then argc, argv, envp and auxv.
*/
#include <elf.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <sys/mman.h>
#include "ldr.h"
#include "lock.h"
#include "log.h"
#include "mem.h"
#include "vm.h"
#include "../arch/x86_64/syscall.h"

#define LDR_PAGE 4096ull
#define LDR_TRUNC(x) ((x) & ~(LDR_PAGE - 1))
#define LDR_ROUND(x) (((x) + LDR_PAGE - 1) & ~(LDR_PAGE - 1))
#define LDR_MAXPH 64
#define LDR_DYN_BASE 0x555555554aaaull /* ELF_ET_DYN_BASE: 2/3 of the 47-bit space */
#define LDR_PLATFORM "x86_64"

int ldr_active;
char ldr_exe[4096];
int ldr_exe_kernel;
static int ldr_exe_fd = -1;       /* the program, for PR_SET_MM_MAP's exe_fd */
static uint64_t brk_start, brk_cur;
static struct prctl_mm_map ldr_mm; /* what the kernel would know of the image */
static uint64_t ldr_auxv[2 * 48];
static struct lurk_lock brk_lk = LOCK_INIT;

struct ldr_elf {
  Elf64_Ehdr eh;
  Elf64_Phdr ph[LDR_MAXPH];
  uint64_t lo, hi; /* page-aligned extent of the PT_LOADs, unbiased */
};

/* Random bits, or 0 when the process runs without address randomisation
** (setarch -R, or kernel.randomize_va_space = 0), as the kernel decides. */
static uint64_t ldr_random(uint64_t mask)
{
  static int norand = -1;
  if (norand < 0) {
    long pers = sys_call1(SYS_personality, 0xffffffff);
    char c = '2';
    long fd = sys_openat(AT_FDCWD, "/proc/sys/kernel/randomize_va_space", O_RDONLY | O_CLOEXEC, 0);
    if (!SYS_FAILED(fd)) {
      if (sys_read(fd, &c, 1) != 1) c = '2';
      sys_close(fd);
    }
    norand = (!SYS_FAILED(pers) && (pers & 0x0040000 /* ADDR_NO_RANDOMIZE */)) || c == '0';
  }
  uint64_t r = 0;
  if (norand || sys_call3(SYS_getrandom, &r, sizeof r, 0) != (long)sizeof r) return 0;
  return r & mask;
}

static int ldr_pread(long fd, void *buf, size_t n, uint64_t off)
{
  long r;
  do r = sys_call4(SYS_pread64, fd, buf, n, off); while (r == -4);
  return r == (long)n ? 0 : -1;
}

/* Read and check the headers of an ELF file lurk can load. */
static int ldr_headers(long fd, struct ldr_elf *e, const char *path, char *err, size_t errlen)
{
  Elf64_Ehdr *eh = &e->eh;
  if (ldr_pread(fd, eh, sizeof *eh, 0) || lurk_memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
    log_snprintf(err, errlen, "%s: not an ELF file", path);
    return -1;
  }
  if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
      (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)) {
    log_snprintf(err, errlen, "%s: not an x86-64 executable (ELF class %d, machine %d, type %d)",
                 path, eh->e_ident[EI_CLASS], eh->e_machine, eh->e_type);
    return -1;
  }
  if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum || eh->e_phnum > LDR_MAXPH ||
      ldr_pread(fd, e->ph, eh->e_phnum * sizeof(Elf64_Phdr), eh->e_phoff)) {
    log_snprintf(err, errlen, "%s: bad program headers", path);
    return -1;
  }
  e->lo = ~0ull;
  e->hi = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    const Elf64_Phdr *p = &e->ph[i];
    if (p->p_type != PT_LOAD) continue;
    if (LDR_TRUNC(p->p_vaddr) < e->lo) e->lo = LDR_TRUNC(p->p_vaddr);
    if (LDR_ROUND(p->p_vaddr + p->p_memsz) > e->hi) e->hi = LDR_ROUND(p->p_vaddr + p->p_memsz);
  }
  if (e->lo >= e->hi) {
    log_snprintf(err, errlen, "%s: no loadable segment", path);
    return -1;
  }
  return 0;
}

static int ldr_prot(uint32_t f)
{
  return (f & PF_R ? PROT_READ : 0) | (f & PF_W ? PROT_WRITE : 0) | (f & PF_X ? PROT_EXEC : 0);
}

/* Map e's segments at bias. The whole extent was reserved first, so the
** holes between segments stay reserved (PROT_NONE), as ld.so leaves them. */
static int ldr_segments(long fd, const struct ldr_elf *e, uint64_t bias, const char *path,
                        char *err, size_t errlen)
{
  for (int i = 0; i < e->eh.e_phnum; i++) {
    const Elf64_Phdr *p = &e->ph[i];
    if (p->p_type != PT_LOAD || !p->p_memsz) continue;
    int prot = ldr_prot(p->p_flags);
    uint64_t va = bias + p->p_vaddr, page = LDR_TRUNC(va);
    uint64_t fend = va + p->p_filesz, mend = LDR_ROUND(va + p->p_memsz);
    if (p->p_filesz) {
      /* the last file page writable for a moment if its tail is bss */
      int wprot = prot | (p->p_memsz > p->p_filesz ? PROT_WRITE : 0);
      long r = sys_mmap(page, fend - page, wprot, MAP_PRIVATE | MAP_FIXED, fd, LDR_TRUNC(p->p_offset));
      if (SYS_FAILED(r)) {
        log_snprintf(err, errlen, "%s: cannot map a segment at 0x%lx: error %ld", path,
                     (unsigned long)page, -r);
        return -1;
      }
      if (p->p_memsz > p->p_filesz && (fend & (LDR_PAGE - 1))) {
        lurk_memset((void *)fend, 0, LDR_ROUND(fend) - fend);
        if (wprot != prot) sys_mprotect(LDR_TRUNC(fend), LDR_PAGE, prot);
      }
      page = LDR_ROUND(fend);
    }
    if (mend > page) {
      long r = sys_mmap(page, mend - page, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (SYS_FAILED(r)) {
        log_snprintf(err, errlen, "%s: cannot map its bss at 0x%lx: error %ld", path,
                     (unsigned long)page, -r);
        return -1;
      }
    }
  }
  return 0;
}

/* The interpreter goes where the kernel's execve would have put it: the
** top of the mmap area, above the vdso. That place holds the launcher's own
** ld.so; the app's goes right above it, at the bottom of the gap the kernel
** leaves below the stack (at least 128 MiB, and the stack rlimit plus a
** guard), so the app sees its libraries, vdso and ld.so in native order. */
static uint64_t top_stack_lo, top_hint, top_prev;

/* (maps is sorted: the mapping just below [stack] is the highest one) */
static void ldr_top_line(const struct vm_line *l)
{
  if (top_stack_lo == ~0ull && !lurk_strcmp(l->name, "[stack]")) {
    top_stack_lo = l->lo;
    top_hint = top_prev;
  }
  top_prev = l->hi;
}

static uint64_t ldr_interp_hint(void)
{
  top_stack_lo = ~0ull;
  top_hint = top_prev = 0;
  vm_maps_read(ldr_top_line);
  return top_stack_lo == ~0ull ? 0 : top_hint;
}

/* Open an ELF file lurk can load and read its headers: the descriptor,
** or -1. */
static long ldr_open(const char *path, struct ldr_elf *e, char *err, size_t errlen)
{
  long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) {
    log_snprintf(err, errlen, "%s: cannot open: error %ld", path, -fd);
    return -1;
  }
  if (ldr_headers(fd, e, path, err, errlen)) {
    sys_close(fd);
    return -1;
  }
  return fd;
}

/* Map one ELF file (open on fd, headers in e): the program (main) or its
** interpreter. Returns the load bias, or -1. */
static int64_t ldr_map(long fd, const char *path, int main, int has_interp, const struct ldr_elf *e,
                       char *err, size_t errlen)
{
  uint64_t span = e->hi - e->lo;
  int64_t bias;
  long r;
  if (e->eh.e_type == ET_EXEC) {
    r = sys_mmap(e->lo, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (SYS_FAILED(r) || (uint64_t)r != e->lo) {
      log_snprintf(err, errlen, "%s: its fixed address range 0x%lx-0x%lx is taken by lurk itself",
                   path, (unsigned long)e->lo, (unsigned long)e->hi);
      return -1;
    }
    bias = 0;
  } else {
    /* A PIE program with an interpreter goes where the kernel puts it;
    ** lurk's own launcher may sit there already: try other offsets. */
    r = -1;
    for (int k = 0; main && has_interp && k < 16 && SYS_FAILED(r); k++) {
      uint64_t at = LDR_TRUNC(LDR_DYN_BASE + (ldr_random((1ull << 28) - 1) << 12));
      r = sys_mmap(at, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (!SYS_FAILED(r) && (uint64_t)r != at) { sys_munmap(r, span); r = -1; }
    }
    uint64_t hint = !main ? ldr_interp_hint() : 0;
    if (SYS_FAILED(r) && hint) {
      r = sys_mmap(hint, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (!SYS_FAILED(r) && (uint64_t)r != hint) { sys_munmap(r, span); r = -1; }
    }
    if (SYS_FAILED(r)) r = sys_mmap(0, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (SYS_FAILED(r)) {
      log_snprintf(err, errlen, "%s: cannot reserve %lu bytes: error %ld", path, (unsigned long)span, -r);
      return -1;
    }
    bias = r - (int64_t)e->lo;
  }
  return ldr_segments(fd, e, (uint64_t)bias, path, err, errlen) ? -1 : bias;
}

int ldr_load(const char *path, struct ldr_image *img, char *err, size_t errlen)
{
  static struct ldr_elf m, in;
  lurk_memset(img, 0, sizeof *img);
  /* The interpreter's path first: whether there is one decides the bias. */
  char interp[4096];
  interp[0] = 0;
  long fd = ldr_open(path, &m, err, errlen);
  if (fd < 0) return -1;
  char link[32];
  log_snprintf(link, sizeof link, "/proc/self/fd/%ld", fd);
  long n = sys_call4(SYS_readlinkat, AT_FDCWD, link, ldr_exe, sizeof ldr_exe - 1);
  ldr_exe[n > 0 ? n : 0] = 0;
  int bad = 0;
  for (int i = 0; !bad && i < m.eh.e_phnum; i++) {
    const Elf64_Phdr *p = &m.ph[i];
    if (p->p_type == PT_INTERP) {
      if (p->p_filesz < 2 || p->p_filesz > sizeof interp || ldr_pread(fd, interp, p->p_filesz, p->p_offset) ||
          interp[p->p_filesz - 1]) {
        log_snprintf(err, errlen, "%s: bad PT_INTERP", path);
        bad = 1;
      }
    }
    if (p->p_type == PT_GNU_STACK) img->exec_stack = (p->p_flags & PF_X) != 0;
  }
  if (bad) {
    sys_close(fd);
    return -1;
  }
  ldr_exe_fd = (int)fd; /* kept for ldr_commit's exe_fd */
  int64_t bias = ldr_map(fd, path, 1, interp[0] != 0, &m, err, errlen);
  if (bias < 0) return -1;
  img->lo = (uint64_t)bias + m.lo;
  img->hi = (uint64_t)bias + m.hi;
  img->entry = (uint64_t)bias + m.eh.e_entry;
  img->phnum = m.eh.e_phnum;
  /* AT_PHDR: where the headers are in memory (the segment holding them) */
  for (int i = 0; i < m.eh.e_phnum; i++) {
    const Elf64_Phdr *p = &m.ph[i];
    if (p->p_type == PT_LOAD && m.eh.e_phoff >= p->p_offset && m.eh.e_phoff < p->p_offset + p->p_filesz)
      img->phdr = (uint64_t)bias + p->p_vaddr + (m.eh.e_phoff - p->p_offset);
  }
  ldr_mm.start_code = ldr_mm.start_data = ~0ull;
  for (int i = 0; i < m.eh.e_phnum; i++) { /* as load_elf_binary sets them */
    const Elf64_Phdr *p = &m.ph[i];
    if (p->p_type != PT_LOAD) continue;
    uint64_t lo = (uint64_t)bias + p->p_vaddr, hi = lo + p->p_filesz;
    if (lo < ldr_mm.start_code) ldr_mm.start_code = lo;
    if (lo < ldr_mm.start_data) ldr_mm.start_data = lo;
    if ((p->p_flags & PF_X) && hi > ldr_mm.end_code) ldr_mm.end_code = hi;
    if (hi > ldr_mm.end_data) ldr_mm.end_data = hi;
  }
  img->start = img->entry;
  if (interp[0]) {
    long ifd = ldr_open(interp, &in, err, errlen);
    if (ifd < 0) return -1;
    int64_t ib = ldr_map(ifd, interp, 0, 0, &in, err, errlen);
    sys_close(ifd);
    if (ib < 0) return -1;
    img->interp_base = (uint64_t)ib + in.lo;
    img->ilo = img->interp_base;
    img->ihi = (uint64_t)ib + in.hi;
    img->start = (uint64_t)ib + in.eh.e_entry;
  }
  /* The break: after the bss, or for a static PIE at ELF_ET_DYN_BASE. */
  uint64_t b = img->hi;
  if (m.eh.e_type == ET_DYN && !interp[0]) b = LDR_ROUND(LDR_DYN_BASE);
  b += ldr_random(0x1fff) << 12; /* randomize_page(brk, 32 MiB) */
  brk_start = brk_cur = img->brk = b;
  ldr_active = 1;
  return 0;
}

/* -- The initial stack (create_elf_tables) ---------------------------------- */

/* Copy the strings of v downward from *p, lowest first; their addresses to out. */
static void ldr_strings(char **p, char *const v[], size_t n, uint64_t *out)
{
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += lurk_strlen(v[i]) + 1;
  *p -= total;
  char *q = *p;
  for (size_t i = 0; i < n; i++) {
    size_t len = lurk_strlen(v[i]) + 1;
    lurk_memcpy(q, v[i], len);
    out[i] = (uint64_t)q;
    q += len;
  }
}

static size_t ldr_count(char *const v[])
{
  size_t n = 0;
  while (v && v[n]) n++;
  return n;
}

uint64_t ldr_stack(uint64_t top, const struct ldr_image *img, const char *execfn,
                   char *const argv[], char *const envp[])
{
  size_t argc = ldr_count(argv), envc = ldr_count(envp);
  /* (up to ARG_MAX's worth of pointers: not on the boot stack) */
  uint64_t *aptr = mem_alloc((argc + 1) * 8), *eptr = mem_alloc((envc + 1) * 8);
  /* the kernel's auxv for this process, in its order, with the program's
  ** own values in place of the launcher's */
  uint64_t *auxv = ldr_auxv;
  size_t na = 0;
  long fd = sys_openat(AT_FDCWD, "/proc/self/auxv", O_RDONLY | O_CLOEXEC, 0);
  if (!SYS_FAILED(fd)) {
    long r = sys_read(fd, auxv, sizeof ldr_auxv - 16);
    sys_close(fd);
    for (na = 0; r > 0 && (long)(na * 16 + 16) <= r && auxv[2 * na] != AT_NULL; na++)
      ;
  }
  char *p = (char *)(top - 8);
  size_t flen = lurk_strlen(execfn) + 1;
  p -= flen;
  lurk_memcpy(p, execfn, flen);
  uint64_t u_execfn = (uint64_t)p;
  ldr_strings(&p, envp, envc, eptr);
  ldr_mm.env_start = (uint64_t)p;
  ldr_mm.env_end = u_execfn;
  ldr_strings(&p, argv, argc, aptr);
  ldr_mm.arg_start = (uint64_t)p;
  ldr_mm.arg_end = ldr_mm.env_start;
  /* arch_align_stack */
  p = (char *)(((uint64_t)p - ldr_random(8191)) & ~15ull);
  p -= sizeof LDR_PLATFORM;
  lurk_memcpy(p, LDR_PLATFORM, sizeof LDR_PLATFORM);
  uint64_t u_platform = (uint64_t)p;
  p -= 16;
  if (sys_call3(SYS_getrandom, p, 16, 0) != 16) lurk_memset(p, 0x5a, 16);
  uint64_t u_rand = (uint64_t)p;
  for (size_t i = 0; i < na; i++) {
    uint64_t *v = &auxv[2 * i + 1];
    switch (auxv[2 * i]) {
    case AT_PHDR: *v = img->phdr; break;
    case AT_PHNUM: *v = img->phnum; break;
    case AT_PHENT: *v = sizeof(Elf64_Phdr); break;
    case AT_BASE: *v = img->interp_base; break;
    case AT_ENTRY: *v = img->entry; break;
    case AT_EXECFN: *v = u_execfn; break;
    case AT_PLATFORM: *v = u_platform; break;
    case AT_RANDOM: *v = u_rand; break;
    case AT_FLAGS: *v = 0; break;
    }
  }
  size_t words = 1 + (argc + 1) + (envc + 1) + 2 * (na + 1);
  uint64_t *sp = (uint64_t *)(((uint64_t)p - 8 * words) & ~15ull);
  uint64_t *w = sp;
  *w++ = argc;
  for (size_t i = 0; i < argc; i++) *w++ = aptr[i];
  *w++ = 0;
  for (size_t i = 0; i < envc; i++) *w++ = eptr[i];
  *w++ = 0;
  for (size_t i = 0; i < 2 * na; i++) *w++ = auxv[i];
  *w++ = AT_NULL;
  *w++ = 0;
  ldr_mm.start_stack = (uint64_t)sp;
  ldr_mm.auxv = (__u64 *)ldr_auxv;
  ldr_mm.auxv_size = (uint32_t)(16 * (na + 1));
  ldr_auxv[2 * na] = AT_NULL;
  ldr_auxv[2 * na + 1] = 0;
  mem_free(aptr, (argc + 1) * 8);
  mem_free(eptr, (envc + 1) * 8);
  return (uint64_t)sp;
}

/* The launcher's own file mappings, found in maps by its path. */
static char launcher_path[4096];
static uint64_t launcher_maps[16][3]; /* lo, hi, prot */
static int launcher_n;

static void ldr_launcher_line(const struct vm_line *l)
{
  if (!lurk_strcmp(l->name, launcher_path) && launcher_n < 16) {
    launcher_maps[launcher_n][0] = l->lo, launcher_maps[launcher_n][1] = l->hi;
    launcher_maps[launcher_n++][2] = (uint64_t)l->prot;
  }
}

/* The kernel changes a process's exe link only when the old file is not
** mapped: the launcher's mappings become anonymous copies of themselves
** (its code does not run again; its headers stay readable for the
** launcher's libc, dl_iterate_phdr). */
static void ldr_unmap_launcher(void)
{
  long n = sys_call4(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", launcher_path, sizeof launcher_path - 1);
  if (n <= 0) return;
  launcher_path[n] = 0;
  launcher_n = 0;
  vm_maps_read(ldr_launcher_line);
  for (int i = 0; i < launcher_n; i++) {
    uint64_t lo = launcher_maps[i][0], len = launcher_maps[i][1] - lo;
    long tmp = sys_mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (SYS_FAILED(tmp)) return;
    if (launcher_maps[i][2] & PROT_READ) lurk_memcpy((void *)tmp, (void *)lo, len);
    sys_mprotect(tmp, len, (int)launcher_maps[i][2]);
    long r = sys_call6(SYS_mremap, tmp, len, len, 3 /* MREMAP_MAYMOVE | MREMAP_FIXED */, lo, 0);
    if (SYS_FAILED(r)) {
      sys_munmap(tmp, len);
      return;
    }
  }
}

int ldr_commit(void)
{
  ldr_unmap_launcher();
  ldr_mm.start_brk = ldr_mm.brk = brk_start;
  ldr_mm.exe_fd = (uint32_t)ldr_exe_fd;
  long r = sys_call6(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, (sys_word)&ldr_mm, sizeof ldr_mm, 0, 0);
  int exe = !SYS_FAILED(r);
  if (!exe) { /* changing exe_fd needs CAP_CHECKPOINT_RESTORE */
    ldr_mm.exe_fd = (uint32_t)-1;
    r = sys_call6(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, (sys_word)&ldr_mm, sizeof ldr_mm, 0, 0);
  }
  if (ldr_exe_fd >= 0) sys_close(ldr_exe_fd);
  ldr_exe_fd = -1;
  if (SYS_FAILED(r)) {
    LOG(LOG_INFO, "PR_SET_MM_MAP failed (error %ld): the heap break is emulated\n", -r);
    return 0;
  }
  ldr_active = 2; /* the kernel's own brk, at the program's break */
  ldr_exe_kernel = exe;
  return exe ? 2 : 1;
}

static uint64_t stack_sp, stack_end;

static void ldr_stack_line(const struct vm_line *l)
{
  if (stack_sp >= l->lo && stack_sp < l->hi) stack_end = l->hi;
}

uint64_t ldr_stack_end(uint64_t addr)
{
  stack_sp = addr;
  stack_end = 0;
  vm_maps_read(ldr_stack_line);
  return stack_end;
}

void ldr_exec_stack(uint64_t sp)
{
  if (ldr_stack_end(sp))
    sys_mprotect(LDR_TRUNC(sp), stack_end - LDR_TRUNC(sp),
                 PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN);
}

/* -- The app's break -------------------------------------------------------- */

uint64_t ldr_brk(uint64_t req)
{
  lock_acquire(&brk_lk);
  uint64_t r = brk_cur;
  if (req >= brk_start) {
    uint64_t have = LDR_ROUND(brk_cur), want = LDR_ROUND(req);
    long ok = 0;
    if (want > have)
      ok = sys_mmap(have, want - have, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    else if (want < have)
      sys_munmap(want, have - want);
    if (!SYS_FAILED(ok)) r = brk_cur = req;
  }
  lock_release(&brk_lk);
  return r;
}
