/* lurk: syscall handling in the dispatcher.
** Every app syscall comes here (a block ends at each one). Most go straight
** to the kernel; the ones that change code, processes, signals or the gs
** base are handled first. The app sees the native convention: result in
** rax, rcx = resume pc, r11 = rflags.
*/
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <asm/prctl.h>
#include "scall.h"
#include "hide.h"
#include "ldr.h"
#include "cache.h"
#include "ctl.h"
#include "lock.h"
#include "log.h"
#include "mem.h"
#include "mod.h"
#include "opt.h"
#include "proc.h"
#include "scall_ev.h"
#include "rseq.h"
#include "sig.h"
#include "vm.h"
#include "../bindings/lb.h"
#include "../arch/arch.h"
#include "../arch/x86_64/syscall.h"

#define E(x) ((uint64_t)-(int64_t)(x))

/* -- execve: put lurk back into the new program's environment -------------------- */

static int has_prefix(const char *s, const char *p) { return lurk_strncmp(s, p, lurk_strlen(p)) == 0; }

static char *str_cat3(const char *a, const char *b, const char *c)
{
  size_t la = lurk_strlen(a), lb = lurk_strlen(b), lc = lurk_strlen(c);
  char *s = mem_alloc(la + lb + lc + 1);
  lurk_memcpy(s, a, la);
  lurk_memcpy(s + la, b, lb);
  lurk_memcpy(s + la + lb, c, lc);
  return s;
}

/* Warn when the target is an ELF program LD_PRELOAD cannot reach; 1 if
** lurk will be in the new image (a dynamic ELF or a script, not setuid). */
static int exec_check(int dirfd, const char *path)
{
  long fd = sys_openat(dirfd, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return 0;
  uint8_t eh[64];
  int dynamic = 0, elf = 0;
  if (sys_call4(SYS_pread64, fd, eh, 64, 0) == 64 && lurk_memcmp(eh, "\177ELF", 4) == 0) {
    elf = 1;
    uint64_t phoff; uint16_t phentsize, phnum;
    __builtin_memcpy(&phoff, eh + 32, 8);
    __builtin_memcpy(&phentsize, eh + 54, 2);
    __builtin_memcpy(&phnum, eh + 56, 2);
    for (unsigned i = 0; i < phnum && i < 256; i++) {
      uint32_t type;
      if (sys_call4(SYS_pread64, fd, &type, 4, phoff + (uint64_t)i * phentsize) != 4) break;
      if (type == 3 /* PT_INTERP */) dynamic = 1;
    }
  }
  struct stat st;
  int suid = sys_call2(SYS_fstat, fd, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID));
  sys_close(fd);
  int reached = !(elf && !dynamic) || opt.early; /* --early maps static programs too */
  if (!reached)
    LOG(LOG_WARN, "warning: %s is statically linked: it runs without lurk (run lurk with --early)\n", path);
  else if (suid)
    LOG(LOG_WARN, "warning: %s is setuid/setgid: it runs without lurk\n", path);
  return reached && !suid;
}

/* Is the app's string at s readable up to its NUL (within the kernel's
** limit for one argument, MAX_ARG_STRLEN)? */
static int app_str_ok(uint64_t s)
{
  char buf[256];
  for (uint64_t p = s; p - s < (32u << 12);) {
    size_t k = 4096 - (p & 4095);
    if (k > sizeof buf) k = sizeof buf;
    if (arch_copy_in(buf, p, k)) return 0;
    for (size_t i = 0; i < k; i++)
      if (!buf[i]) return 1;
    p += k;
  }
  return 0;
}

/* Is the app's NULL-terminated vector of strings at v readable, strings
** included? Its length in *n. */
static int app_vec_ok(uint64_t v, size_t *n)
{
  for (size_t i = 0; i < (1u << 20); i++) {
    uint64_t p;
    if (arch_copy_in(&p, v + 8 * i, 8)) return 0;
    if (!p) { *n = i; return 1; }
    if (!app_str_ok(p)) return 0;
  }
  return 0;
}

/* --early: the app's path argument, when it is short enough to be one of
** the /proc files lurk answers for (hide.h). */
static int scall_short_path(uint64_t p, char *path, size_t cap)
{
  for (size_t i = 0; i < cap; i++) {
    if (arch_copy_in(&path[i], p + i, 1)) return 0;
    if (!path[i]) return 1;
  }
  return 0;
}

/* --early: readlink of /proc/self/exe says the program's path, not the
** launcher's (ld.so's $ORIGIN comes from it). -1: not that link. */
static long scall_exe_link(struct arch_mctx *m, int at)
{
  char path[64];
  if (!scall_short_path(ARCH_SC_ARG(m, at), path, sizeof path) || !hide_exe_link(path)) return -1;
  size_t n = lurk_strlen(ldr_exe), cap = ARCH_SC_ARG(m, at + 2);
  if ((long)cap <= 0) return (long)E(22 /* EINVAL */);
  if (n > cap) n = cap;
  return arch_copy_out(ARCH_SC_ARG(m, at + 1), ldr_exe, n) ? (long)E(14 /* EFAULT */) : (long)n;
}

/* --early: the new image is started by lurk's launcher, which maps it the
** same way: `lurk __exec OPTIONS PROG PATH ARGC ARGV... ENVP...` (PROG: the
** file, PATH: what the exec was given; /proc/self/exe is the program lurk
** runs, not lurk's launcher) with an empty
** environment of its own (the app's LD_PRELOAD and the like must not load
** into lurk's launcher). What the kernel would refuse is refused first by
** making the app's own call, which fails the same way. */
static uint64_t exec_early(struct arch_mctx *m, int at, const char *optbuf, size_t nargv, size_t nenv)
{
  const char *path = (const char *)ARCH_SC_ARG(m, at), *prog = path;
  char *const *argv = (char *const *)ARCH_SC_ARG(m, at + 1);
  char *const *envp = (char *const *)ARCH_SC_ARG(m, at + 2);
  if (ldr_exe[0] && hide_exe_link(path)) prog = ldr_exe;
  long fd = sys_openat(AT_FDCWD, prog, O_RDONLY | O_CLOEXEC, 0);
  struct stat st;
  uint8_t eh[20];
  int ok = !SYS_FAILED(fd) && sys_call2(SYS_fstat, fd, &st) == 0 && S_ISREG(st.st_mode) &&
           sys_call4(SYS_faccessat, AT_FDCWD, prog, 1 /* X_OK */, 0) == 0 &&
           sys_call4(SYS_pread64, fd, eh, sizeof eh, 0) == (long)sizeof eh;
  /* what lurk's loader takes: a "#!" script, or a 64-bit x86-64 ELF program
  ** (anything else is the kernel's to run or refuse: ENOEXEC, for which a
  ** shell then tries sh, or a 32-bit program, which runs without lurk) */
  ok = ok && ((eh[0] == '#' && eh[1] == '!') ||
              (!lurk_memcmp(eh, "\177ELF", 4) && eh[4] == 2 /* ELFCLASS64 */ && eh[18] == 62 /* EM_X86_64 */));
  if (!SYS_FAILED(fd)) sys_close(fd);
  if (!ok) return arch_syscall_app(m);
  size_t cap = (7 + nargv + nenv) * sizeof(char *);
  char **nv = mem_alloc(cap);
  char argc[24];
  log_snprintf(argc, sizeof argc, "%lu", (unsigned long)nargv);
  size_t k = 0;
  nv[k++] = (char *)opt.launcher;
  nv[k++] = "__exec";
  nv[k++] = (char *)optbuf;
  nv[k++] = (char *)prog;
  nv[k++] = (char *)path;
  nv[k++] = argc;
  for (size_t i = 0; i < nargv; i++) nv[k++] = argv[i];
  for (size_t i = 0; i < nenv; i++) nv[k++] = envp[i];
  nv[k] = NULL;
  char *noenv[1] = { NULL };
  uint64_t r = (uint64_t)lurk_sys_app6(SYS_execve, (long)opt.launcher, (long)nv, (long)noenv, 0, 0, 0);
  mem_free(nv, cap);
  return r;
}

static uint64_t scall_execve(struct lurk_thread *t, struct arch_mctx *m, int at)
{
  /* A signal must not be lost to the exec. One already in lurk's queue is
  ** delivered first (the call is made again afterwards); from here on they
  ** are blocked, so they stay pending in the kernel, which keeps them
  ** across the exec, and the new image's lurk restores the app's mask
  ** (LURK_OPTIONS sigmask). Without lurk in the new image the mask is put
  ** back before the call (a signal in that window waits in lurk's queue). */
  /* (not the fault signals: lurk's soft-faulting reads of the arguments
  ** need its SIGSEGV/SIGBUS handler; SIGILL, SIGTRAP, SIGFPE likewise) */
  uint64_t all = ~(SIG_BIT(4) | SIG_BIT(5) | SIG_BIT(7) | SIG_BIT(8) | SIG_BIT(11)), app_mask = 0;
  sys_call4(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, &all, &app_mask, 8);
  if (t->tls.sig_pending) {
    sys_call4(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, &app_mask, 0, 8);
    t->sc_again = 1;
    return 0;
  }
  int dirfd = at ? (int)ARCH_SC_ARG(m, 0) : AT_FDCWD;
  const char *path = (const char *)ARCH_SC_ARG(m, at);
  char **envp = (char **)ARCH_SC_ARG(m, at + 2);
  size_t n = 0, nargv = 0;
  /* Arguments the kernel cannot read are the kernel's to refuse (EFAULT,
  ** or first ENOENT and the like, in its order): lurk reads none of them. */
  int path_ok = path && app_str_ok((uint64_t)path);
  int argv_ok = !ARCH_SC_ARG(m, at + 1) || app_vec_ok(ARCH_SC_ARG(m, at + 1), &nargv);
  int envp_ok = !envp || app_vec_ok((uint64_t)envp, &n);
  if (path_ok && argv_ok) lb_event_exec(path, (char *const *)ARCH_SC_ARG(m, at + 1));
  int lurk_there = opt.follow && opt.lib && path_ok && argv_ok && envp_ok && exec_check(dirfd, path);
  if (!lurk_there) sys_call4(SYS_rt_sigprocmask, 2, &app_mask, 0, 8);
  if (!opt.follow || !opt.lib || !path_ok || !argv_ok || !envp_ok) return arch_syscall_app(m);
  char maskbuf[24];
  log_snprintf(maskbuf, sizeof maskbuf, "%lx", (unsigned long)app_mask);
  const char *mask_was = opt.sigmask;
  if (lurk_there) opt.sigmask = maskbuf;
  size_t cap = (n + 4) * sizeof(char *);
  char *optbuf = mem_alloc(4096);
  opt_format(optbuf, 4096);
  opt.sigmask = mask_was;
  if (opt.early && opt.launcher && (dirfd == AT_FDCWD || path[0] == '/')) {
    uint64_t r = exec_early(m, at, optbuf, nargv, n);
    if (lurk_there) sys_call4(SYS_rt_sigprocmask, 2, &app_mask, 0, 8);
    mem_free(optbuf, 4096);
    return r;
  }
  char **env = mem_alloc(cap);
  size_t k = 0;
  char *preload = NULL, *app_preload = NULL;
  for (size_t i = 0; i < n; i++) {
    if (has_prefix(envp[i], "LD_PRELOAD=") && !preload) {
      /* lurk first, then the app's own preloads; the app's value kept aside
      ** so the child's lurk can give it back (inj.c env_clean). */
      const char *val = envp[i] + 11;
      char *head = str_cat3("LD_PRELOAD=", opt.lib, *val ? ":" : "");
      env[k++] = preload = str_cat3(head, val, "");
      mem_free(head, lurk_strlen(head) + 1);
      app_preload = str_cat3("LURK_APP_PRELOAD=", val, "");
    } else {
      env[k++] = envp[i];
    }
  }
  if (!preload) env[k++] = preload = str_cat3("LD_PRELOAD=", opt.lib, "");
  if (app_preload) env[k++] = app_preload;
  char *optenv = str_cat3("LURK_OPTIONS=", optbuf, "");
  env[k++] = optenv;
  env[k] = NULL;
  uint64_t saved = ARCH_SC_ARG(m, at + 2);
  ARCH_SC_ARG(m, at + 2) = (uint64_t)env;
  uint64_t r = arch_syscall_app(m);
  ARCH_SC_ARG(m, at + 2) = saved;
  /* Only reached when the exec failed: the app continues with native errno,
  ** and its mask (signals that came meanwhile are delivered now). */
  if (lurk_there) sys_call4(SYS_rt_sigprocmask, 2, &app_mask, 0, 8);
  mem_free(preload, lurk_strlen(preload) + 1);
  if (app_preload) mem_free(app_preload, lurk_strlen(app_preload) + 1);
  mem_free(optenv, lurk_strlen(optenv) + 1);
  mem_free(optbuf, 4096);
  mem_free(env, cap);
  return r;
}

#define MAPS_UNKNOWN (-2) /* maps_changed's prot: a change vm.c cannot follow */
#define MAPS_UNMAPPED (-1)

static uint64_t page_up(uint64_t a) { return (a + 4095) & ~4095ull; }

/* The app's mappings changed over [lo, hi): blocks built from there are
** stale, and so is the translator's knowledge of readable pages. prot:
** the range's new protection, MAPS_UNMAPPED or MAPS_UNKNOWN. */
static void maps_changed(uint64_t lo, uint64_t hi, int prot)
{
  cache_lock();
  arch_memory_changed(lo, hi);
  if (prot == MAPS_UNKNOWN) vm_changed(lo, hi);
  else vm_reprotected(lo, hi, prot);
  cache_flush_range(lo, hi);
  cache_unlock();
}

/* A syscall failed with EFAULT: it may have written to a code page lurk
** write-protects, where the app could write. Give every such page its
** permission back (flushing its blocks) and say whether to retry. */
static int efault_retry(void)
{
  cache_lock();
  int n = vm_unprotect_all(cache_flush_page);
  cache_unlock();
  return n > 0;
}

/* -- Address-space calls in order -------------------------------------------------- */

/* The calls that change the app's address space. With a syscall_post
** handler for one, the call and its event are made under scall_maps_lk:
** handlers see them in the kernel's order. Unlocked, a thread's munmap
** event could come after another thread's mmap of the range it freed
** (memcheck then marked a new thread's stack unaddressable). */
static struct lurk_lock scall_maps_lk = LOCK_INIT;

static int scall_maps_call(uint64_t nr)
{
  switch (nr) {
  case SYS_mmap: case SYS_munmap: case SYS_mremap: case SYS_mprotect: case SYS_pkey_mprotect:
  case SYS_brk: case SYS_shmat: case SYS_shmdt:
    return 1;
  default:
    return 0;
  }
}

void scall_maps_lock(void) { lock_acquire(&scall_maps_lk); }
void scall_maps_unlock(void) { lock_release(&scall_maps_lk); }

/* -- The handler --------------------------------------------------------------------- */

void scall_on_exit(int status)
{
  static int done;
  /* A vfork child shares the parent's memory and Lua state: its end is not
  ** the program's (the parent, resumed, reports its own exit). */
  if (thr_self()->clone_flags & 0x4000 /* CLONE_VFORK */) return;
  if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL)) return;
  if (opt.ctl) ctl_stop();
  lb_event_exit(status);
  if (opt.stats) {
    stats.ibl_lookups += thr_ibl_count();
    cache_print_stats();
  }
}

void scall_handle(struct lurk_thread *t)
{
  struct arch_mctx *m = &t->tls.mctx;
  uint64_t r = 0; /* syscall_pre may change the arguments, or skip the call */
  int skipped = lb_event_syscall_wanted(LB_EV_syscall_pre, (long)ARCH_SC_NR(m)) && scall_ev_pre(t, &r);
  uint64_t nr = ARCH_SC_NR(m);
  uint64_t a0 = ARCH_SC_ARG(m, 0), a1 = ARCH_SC_ARG(m, 1), a2 = ARCH_SC_ARG(m, 2);
  LURK_COUNT(stats.syscalls);
  /* lurk's output shares stderr with the program: what scripts printed
  ** comes out before anything the program writes with this call. */
  if (log_sync_app) log_flush();
  int ordered = scall_maps_call(nr) && lb_event_syscall_wanted(LB_EV_syscall_post, (long)nr);
  if (ordered) scall_maps_lock();
  if (skipped) goto result;
  switch (nr) {
  case SYS_exit_group:
    scall_on_exit((int)a0);
    r = arch_syscall_app(m);
    break;
  case SYS_exit: thr_exit(t, (int)a0);
  case SYS_execve: r = scall_execve(t, m, 0); break;
  case SYS_execveat: r = scall_execve(t, m, 1); break;
  case SYS_mmap:
    r = arch_syscall_app(m);
    if (SYS_FAILED(r)) break;
    cache_lock();
    if (ARCH_SC_ARG(m, 3) & MAP_FIXED) arch_memory_changed(r, r + a1); /* else a new range: no blocks */
    vm_mapped(r, r + page_up(a1), (int)a2, (ARCH_SC_ARG(m, 3) & MAP_TYPE) != MAP_PRIVATE,
              ARCH_SC_ARG(m, 3) & MAP_ANONYMOUS ? -1 : (int)ARCH_SC_ARG(m, 4), ARCH_SC_ARG(m, 5));
    if (ARCH_SC_ARG(m, 3) & MAP_FIXED) cache_flush_range(r, r + a1);
    cache_unlock();
    mod_mmap(r, a1, (int)a2, (int)ARCH_SC_ARG(m, 3), (int)ARCH_SC_ARG(m, 4), ARCH_SC_ARG(m, 5));
    break;
  case SYS_munmap:
  case SYS_mprotect:
  case SYS_pkey_mprotect:
    r = arch_syscall_app(m);
    /* (a failed mprotect may have changed part of the range) */
    if (nr == SYS_munmap && !SYS_FAILED(r)) maps_changed(a0, a0 + page_up(a1), MAPS_UNMAPPED);
    else if (nr != SYS_munmap) /* PROT_GROWSDOWN/UP reach past the range */
      maps_changed(a0, a0 + page_up(a1), SYS_FAILED(r) || (a2 & ~7ull) ? MAPS_UNKNOWN : (int)a2);
    if (nr == SYS_munmap && !SYS_FAILED(r)) mod_munmap(a0, a1);
    if (nr != SYS_munmap && !SYS_FAILED(r)) mod_mprotect(a0, a1, (int)a2);
    break;
  case SYS_mremap:
    /* The pages it moves or copies (old size 0) keep their protection:
    ** not lurk's write protection, which would stay behind unknown. */
    cache_lock();
    vm_unprotect_range(a0, a0 + (a1 ? a1 : a2), cache_flush_page);
    cache_unlock();
    r = arch_syscall_app(m);
    if (!SYS_FAILED(r)) {
      maps_changed(a0, a0 + a1, MAPS_UNKNOWN);
      maps_changed(r, r + a2, MAPS_UNKNOWN);
    }
    break;
  case SYS_brk: {
    /* A shrinking heap unmaps [new break, old break). The break is tracked
    ** from brk's own results (0: not seen yet since takeover). */
    static uint64_t cur_brk;
    r = ldr_active == 1 ? ldr_brk(a0) : arch_syscall_app(m);
    uint64_t old = __atomic_exchange_n(&cur_brk, r, __ATOMIC_ACQ_REL);
    if (old && r < old) maps_changed(r, old, MAPS_UNKNOWN);
    break;
  }
  case SYS_personality:
    r = arch_syscall_app(m);
    vm_personality_changed();
    break;
  case SYS_shmdt:
    /* XXX: the segment's size is not tracked (shmat is not watched), so
    ** only the translator's readable-page knowledge is dropped, wholesale;
    ** code run from a SysV segment is not flushed. */
    r = arch_syscall_app(m);
    cache_lock();
    arch_memory_changed(0, ~0ull);
    vm_changed(0, ~0ull);
    cache_unlock();
    break;
  case SYS_open:
  case SYS_openat: {
    char path[64];
    int at = nr == SYS_openat;
    long fd;
    if (ldr_active && scall_short_path(ARCH_SC_ARG(m, at), path, sizeof path) &&
        hide_open(at ? (int)a0 : AT_FDCWD, path, (int)ARCH_SC_ARG(m, at + 1), &fd))
      r = (uint64_t)fd;
    else
      r = arch_syscall_app(m);
    break;
  }
  case SYS_getdents64:
    r = arch_syscall_app(m);
    if (ldr_active && !SYS_FAILED(r)) r = (uint64_t)hide_getdents((int)a0, (uint8_t *)a1, (long)r);
    break;
  case SYS_getrlimit:
  case SYS_setrlimit:
  case SYS_prlimit64: {
    long h = 1;
    if (ldr_active && nr != SYS_prlimit64)
      h = hide_rlimit((int)a0, nr == SYS_getrlimit ? a1 : 0, nr == SYS_setrlimit ? a1 : 0);
    else if (ldr_active && (a0 == 0 || (long)a0 == t->tid || (long)a0 == sys_getpid()))
      h = hide_rlimit((int)a1, ARCH_SC_ARG(m, 3), a2);
    r = h == 1 ? arch_syscall_app(m) : (uint64_t)h;
    break;
  }
  case SYS_readlink:
  case SYS_readlinkat:
    if (!ldr_exe[0] || ldr_exe_kernel || (long)(r = scall_exe_link(m, nr == SYS_readlinkat)) == -1) r = arch_syscall_app(m);
    break;
  case SYS_arch_prctl:
    if (a0 == ARCH_SET_GS) { /* the kernel refuses a base above user space */
      if (a1 >= 0x7ffffffff000ull) r = E(1 /* EPERM */);
      else { t->tls.app_gs = a1; r = 0; }
    }
    else if (a0 == ARCH_GET_GS)
      r = arch_copy_out(a1, &t->tls.app_gs, 8) ? E(14 /* EFAULT */) : 0;
    else if (a0 == ARCH_SET_FS && arch_engine_fs) { /* --early: fs is the engine's while here */
      if (a1 >= 0x7ffffffff000ull) r = E(1 /* EPERM */);
      else { t->tls.app_fs = a1; r = 0; }
    }
    else if (a0 == ARCH_GET_FS && arch_engine_fs)
      r = arch_copy_out(a1, &t->tls.app_fs, 8) ? E(14 /* EFAULT */) : 0;
    else {
      r = arch_syscall_app(m);
      /* (without --early: TLS_APP_FS follows the base, for compiled handlers) */
      if (a0 == ARCH_SET_FS && !SYS_FAILED(r)) t->tls.app_fs = a1;
    }
    break;
  case SYS_seccomp:
    r = a0 == 1 /* SECCOMP_SET_MODE_FILTER */ ? arch_seccomp_filter(m, 2) : arch_syscall_app(m);
    break;
  case SYS_prctl:
    r = a0 == 22 /* PR_SET_SECCOMP */ && a1 == 2 /* SECCOMP_MODE_FILTER */ ? arch_seccomp_filter(m, 2)
                                                                          : arch_syscall_app(m);
    break;
  case SYS_rseq: r = rseq_syscall(t, m); break;
  case SYS_rt_sigaction: r = sig_sigaction(m); break;
  case SYS_sigaltstack: r = sig_altstack(t, m); break;
  case SYS_rt_sigreturn: sig_return(t); return;
  case SYS_clone:
  case SYS_clone3:
  case SYS_fork:
  case SYS_vfork: r = proc_clone(t, (long)nr); break;
  case SYS_close:
    if ((log_fd > 2 && (int)a0 == log_fd) || hide_fd_is((int)a0)) { r = E(9 /* EBADF */); break; }
    r = arch_syscall_app(m);
    break;
  case SYS_dup2:
  case SYS_dup3: /* onto lurk's descriptors: above the app's limit, EBADF as natively */
    r = hide_fd_is((int)a1) ? E(9 /* EBADF */) : arch_syscall_app(m);
    break;
  default:
    r = arch_syscall_app(m);
    if (r == E(14 /* EFAULT */) && efault_retry()) r = arch_syscall_app(m);
    break;
  }
  if (r == SIG_NOT_STARTED || (r == SIG_RESTART_IF_SA && sig_restart_wanted(t))) {
    /* A signal came first: it is delivered with the app at the syscall
    ** instruction (2 bytes), which runs again when the handler returns. */
    m->rip -= 2;
    if (r == SIG_RESTART_IF_SA) { /* the kernel had entered it: rcx/r11 are spent */
      m->gpr[MCTX_RCX] = m->rip + 2;
      m->gpr[MCTX_R11] = m->rflags;
    }
    if (ordered) scall_maps_unlock();
    return;
  }
  if (r == SIG_RESTART_IF_SA) r = E(4 /* EINTR */);
result:
  if (t->sc_again) { /* not made: the dispatcher delivers, then runs it again */
    if (ordered) scall_maps_unlock();
    return;
  }
  if (lb_event_syscall_wanted(LB_EV_syscall_post, (long)nr)) r = scall_ev_post(t, nr, r, skipped);
  if (ordered) scall_maps_unlock();
  m->gpr[MCTX_RAX] = r;
  m->gpr[MCTX_RCX] = m->rip;
  m->gpr[MCTX_R11] = m->rflags;
}
