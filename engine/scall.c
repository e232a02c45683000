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
#include "cache.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "../arch/x86_64/syscall.h"

#define E(x) ((uint64_t)-(int64_t)(x))

/* -- Signals (delivery to app handlers arrives with issue #3) --------------- */

struct ksigaction { uint64_t handler, flags, restorer, mask; };
static struct ksigaction app_sa[65];

/* Installed in the kernel in place of an app handler until lurk can run app
** handlers from the cache: says so and ends the run rather than letting the
** handler run natively (uninstrumented). */
static void scall_sig_unsupported(int sig, void *info, void *uc)
{
  (void)info; (void)uc;
  log_fatal("signal %d arrived for an app signal handler: running app handlers under lurk "
            "is not supported yet (issue #3)", sig);
}

void scall_init(void)
{
  for (int s = 1; s <= 64; s++)
    sys_call4(SYS_rt_sigaction, s, 0, &app_sa[s], 8);
}

static uint64_t scall_sigaction(struct arch_mctx *m)
{
  long sig = (long)ARCH_SC_ARG(m, 0);
  struct ksigaction *act = (void *)ARCH_SC_ARG(m, 1), *oact = (void *)ARCH_SC_ARG(m, 2);
  if (sig < 1 || sig > 64 || ARCH_SC_ARG(m, 3) != 8) return arch_syscall_app(m);
  struct ksigaction k, old = app_sa[sig];
  if (act) {
    k = *act;
    if (k.handler > 1) { /* a real handler, not SIG_DFL/SIG_IGN */
      k.handler = (uint64_t)scall_sig_unsupported;
      k.restorer = (uint64_t)scall_sig_unsupported;
      k.flags |= 0x04000000 /* SA_RESTORER */ | 4 /* SA_SIGINFO */;
    }
    long r = sys_call4(SYS_rt_sigaction, sig, &k, 0, 8);
    if (SYS_FAILED(r)) return (uint64_t)r;
    app_sa[sig] = *act;
  }
  if (oact) *oact = old;
  return 0;
}

/* -- Processes ------------------------------------------------------------------ */

/* clone without CLONE_VM: both sides continue in their own copy of the engine.
** The child's new stack (if any) is applied to its app context, not to the
** engine's (the kernel would otherwise switch the engine's own stack). */
static uint64_t scall_fork_like(struct lurk_thread *t, uint64_t flags, uint64_t stack,
                                uint64_t ptid, uint64_t ctid, uint64_t tls)
{
  struct arch_mctx *m = &t->tls.mctx;
  long r = sys_call6(SYS_clone, (sys_word)flags, 0, (sys_word)ptid, (sys_word)ctid, (sys_word)tls, 0);
  if (r == 0) {
    t->tid = (int)sys_gettid();
    if (stack) m->gpr[MCTX_RSP] = stack;
  }
  return (uint64_t)r;
}

static uint64_t scall_clone(struct lurk_thread *t)
{
  struct arch_mctx *m = &t->tls.mctx;
  uint64_t flags = ARCH_SC_ARG(m, 0);
  if (flags & CLONE_VM) {
    if (!(flags & CLONE_VFORK))
      log_fatal("the app creates a thread (clone with CLONE_VM): threads are not supported "
                "yet (issue #3)");
    /* XXX(#3): vfork-style clone runs as a fork: the child's writes (such as
    ** posix_spawn's exec error code) do not reach the parent. */
    flags &= ~(uint64_t)(CLONE_VM | CLONE_VFORK);
  }
  return scall_fork_like(t, flags, ARCH_SC_ARG(m, 1), ARCH_SC_ARG(m, 2), ARCH_SC_ARG(m, 3),
                         ARCH_SC_ARG(m, 4));
}

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

/* Warn when the target is an ELF program LD_PRELOAD cannot reach. */
static void exec_check(int dirfd, const char *path)
{
  long fd = sys_openat(dirfd, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return;
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
  if (elf && !dynamic)
    LOG(LOG_WARN, "warning: %s is statically linked: it runs without lurk (not supported yet)\n", path);
  else if (suid)
    LOG(LOG_WARN, "warning: %s is setuid/setgid: it runs without lurk\n", path);
}

static uint64_t scall_execve(struct arch_mctx *m, int at)
{
  int dirfd = at ? (int)ARCH_SC_ARG(m, 0) : AT_FDCWD;
  const char *path = (const char *)ARCH_SC_ARG(m, at);
  char **envp = (char **)ARCH_SC_ARG(m, at + 2);
  if (!opt.follow || !opt.lib) return arch_syscall_app(m);
  if (path) exec_check(dirfd, path);
  size_t n = 0;
  while (envp && envp[n]) n++;
  size_t cap = (n + 4) * sizeof(char *);
  char **env = mem_alloc(cap);
  char *optbuf = mem_alloc(4096);
  opt_format(optbuf, 4096);
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
  /* Only reached when the exec failed: the app continues with native errno. */
  mem_free(preload, lurk_strlen(preload) + 1);
  if (app_preload) mem_free(app_preload, lurk_strlen(app_preload) + 1);
  mem_free(optenv, lurk_strlen(optenv) + 1);
  mem_free(optbuf, 4096);
  mem_free(env, cap);
  return r;
}

/* The app's mappings changed over [lo, hi): blocks built from there are
** stale, and so is the translator's knowledge of readable pages. */
static void maps_changed(uint64_t lo, uint64_t hi)
{
  arch_memory_changed(lo, hi);
  cache_flush_range(lo, hi);
}

/* -- The handler --------------------------------------------------------------------- */

void scall_on_exit(void)
{
  if (opt.stats) {
    for (struct lurk_thread *t = thr_list; t; t = t->next) stats.ibl_lookups += t->tls.ibl_count;
    cache_print_stats();
  }
}

void scall_handle(struct lurk_thread *t)
{
  struct arch_mctx *m = &t->tls.mctx;
  uint64_t nr = ARCH_SC_NR(m), r;
  uint64_t a0 = ARCH_SC_ARG(m, 0), a1 = ARCH_SC_ARG(m, 1), a2 = ARCH_SC_ARG(m, 2);
  stats.syscalls++;
  switch (nr) {
  case SYS_exit_group:
  case SYS_exit: /* XXX(#3): with threads, SYS_exit ends only one of them */
    scall_on_exit();
    r = arch_syscall_app(m);
    break;
  case SYS_execve: r = scall_execve(m, 0); break;
  case SYS_execveat: r = scall_execve(m, 1); break;
  case SYS_mmap:
    r = arch_syscall_app(m);
    if (!SYS_FAILED(r) && (ARCH_SC_ARG(m, 3) & MAP_FIXED)) maps_changed(r, r + a1);
    break;
  case SYS_munmap:
  case SYS_mprotect:
    r = arch_syscall_app(m);
    if (!SYS_FAILED(r)) maps_changed(a0, a0 + a1);
    break;
  case SYS_mremap:
    r = arch_syscall_app(m);
    if (!SYS_FAILED(r)) {
      maps_changed(a0, a0 + a1);
      maps_changed(r, r + a2);
    }
    break;
  case SYS_brk: {
    /* A shrinking heap unmaps [new break, old break). The break is tracked
    ** from brk's own results (0: not seen yet since takeover). */
    static uint64_t cur_brk;
    r = arch_syscall_app(m);
    if (cur_brk && r < cur_brk) maps_changed(r, cur_brk);
    cur_brk = r;
    break;
  }
  case SYS_shmdt:
    /* XXX: the segment's size is not tracked (shmat is not watched), so
    ** only the translator's readable-page knowledge is dropped, wholesale;
    ** code run from a SysV segment is not flushed. */
    r = arch_syscall_app(m);
    arch_memory_changed(0, ~0ull);
    break;
  case SYS_arch_prctl:
    if (a0 == ARCH_SET_GS) { t->app_gs_base = a1; r = 0; }
    else if (a0 == ARCH_GET_GS) { *(uint64_t *)a1 = t->app_gs_base; r = 0; }
    else r = arch_syscall_app(m);
    break;
  case SYS_rt_sigaction: r = scall_sigaction(m); break;
  case SYS_rt_sigreturn:
    log_fatal("rt_sigreturn outside a lurk-delivered signal: not supported yet (issue #3)");
  case SYS_clone: r = scall_clone(t); break;
  case SYS_clone3:
    /* XXX(#3): glibc falls back to clone(2), which lurk handles. */
    r = E(38 /* ENOSYS */);
    break;
  case SYS_vfork:
    /* XXX(#3): runs as fork (see scall_clone). */
    r = scall_fork_like(t, 17 /* SIGCHLD */, 0, 0, 0, 0);
    break;
  case SYS_close:
    if (log_fd > 2 && (int)a0 == log_fd) { r = E(9 /* EBADF */); break; }
    r = arch_syscall_app(m);
    break;
  default:
    r = arch_syscall_app(m);
    break;
  }
  m->gpr[MCTX_RAX] = r;
  m->gpr[MCTX_RCX] = m->rip;
  m->gpr[MCTX_R11] = m->rflags;
}
