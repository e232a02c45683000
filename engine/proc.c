/* lurk: clone, clone3, fork and vfork.
**
** Without CLONE_VM the child is a copy of the process, engine included:
** the forking thread holds every engine lock across the call so the
** child's copies are consistent, and the child forgets the other threads.
** With CLONE_VM (threads, vfork, posix_spawn) the child gets its own
** thread block and engine stack; the kernel starts it on that stack in
** lurk_clone, and it enters the cache at the app's resume pc with the app
** stack the caller asked for. A vfork-style parent sleeps in the kernel until
** the child execs or exits, then takes the child's block back.
*/
#include <linux/sched.h>
#include "proc.h"
#include "cache.h"
#include "ctl.h"
#include "lock.h"
#include "log.h"
#include "mem.h"
#include "mod.h"
#include "opt.h"
#include "prof.h"
#include "scall.h"
#include "sig.h"
#include "../arch/x86_64/syscall.h"
#include "../bindings/lb.h"

#define E(x) ((uint64_t)-(int64_t)(x))

/* The kernel's struct clone_args (version 2: up to cgroup). */
struct proc_clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  uint64_t set_tid, set_tid_size, cgroup;
};

/* No CLONE_VM: both sides continue with their own copy of the engine. */
static uint64_t proc_fork(struct lurk_thread *t, long nr, uint64_t flags, uint64_t stack,
                          uint64_t ptid, uint64_t ctid, uint64_t tls, struct proc_clone_args *ca,
                          uint64_t casize)
{
  struct arch_mctx *m = &t->tls.mctx;
  long r, parent_tid = t->tid;
  /* Signals are blocked across the fork: one sent to the child before it
  ** has emptied its copy of the parent's signal queue (thr_after_fork)
  ** would be queued there, then wiped with the copy. They wait in the
  ** kernel instead and come when the mask is put back. */
  uint64_t all = ~0ull, fork_mask = 0;
  sys_call4(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, &all, &fork_mask, 8);
  scall_maps_lock(); /* no mapping call half reported in the child */
  cache_lock();
  cache_fork_prepare();
  lb_fork_prepare();
  mod_lock();
  thr_lock();
  arch_tls_fork_prepare(&t->tls); /* the child's own read-only page */
  sig_lock();
  wrap_lock();
  log_fork_prepare();
  mem_fork_prepare();
  /* --early: the engine runs the call, with its own fs base; the child's
  ** app fs base is kept in its block instead */
  int settls = arch_engine_fs && (flags & CLONE_SETTLS);
  if (settls) {
    flags &= ~(uint64_t)CLONE_SETTLS;
    ca->flags = flags;
  }
  if (nr == SYS_clone3) {
    ca->stack = 0; /* the child's new stack is the app's, applied below */
    ca->stack_size = 0;
    r = lurk_sys_app6(SYS_clone3, (long)ca, (long)casize, 0, 0, 0, 0);
  } else if (nr == SYS_fork) {
    r = lurk_sys_app6(SYS_fork, 0, 0, 0, 0, 0, 0);
  } else {
    r = lurk_sys_app6(SYS_clone, (long)flags, 0, (long)ptid, (long)ctid, (long)tls, 0);
  }
  mem_fork_finish();
  cache_fork_finish(r == 0);
  arch_tls_fork_finish(&t->tls, r == 0);
  if (r == 0) { thr_after_fork(t); prof_after_fork(t); if (settls) t->tls.app_fs = tls; }
  log_fork_finish();
  wrap_unlock();
  sig_unlock();
  thr_unlock();
  mod_unlock();
  lb_fork_finish();
  cache_unlock();
  scall_maps_unlock();
  if (r == 0) {
    /* the child: signals lurk held back for the parent's queue are not its */
    fork_mask &= ~t->sig_tmpblocked;
    t->sig_tmpblocked = 0;
  }
  sys_call4(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, &fork_mask, 0, 8);
  if (r == 0) {
    if (stack) m->gpr[MCTX_RSP] = stack;
    if (flags & CLONE_CLEAR_SIGHAND) sig_clear_handlers();
    if (opt.ctl) ctl_after_fork();
    lb_event_fork(parent_tid);
  }
  return (uint64_t)r;
}

/* CLONE_VM: a new thread block; the child starts in thr_child_start. */
static uint64_t proc_thread(struct lurk_thread *t, long nr, uint64_t flags, uint64_t stack,
                            uint64_t ptid, uint64_t ctid, uint64_t tls, struct proc_clone_args *ca,
                            uint64_t casize)
{
  struct arch_mctx *m = &t->tls.mctx;
  struct lurk_thread *c = thr_alloc();
  c->tls.mctx = *m;
  c->tls.mctx.gpr[MCTX_RAX] = 0;
  c->tls.mctx.gpr[MCTX_RCX] = m->rip; /* what the syscall instruction leaves */
  c->tls.mctx.gpr[MCTX_R11] = m->rflags;
  if (stack) c->tls.mctx.gpr[MCTX_RSP] = stack;
  lurk_memcpy(c->tls.xsave, t->tls.xsave, arch_xsave_bytes);
  c->tls.app_gs = t->tls.app_gs;
  c->tls.app_fs = (flags & CLONE_SETTLS) ? tls : t->tls.app_fs; /* used with --early */
  c->clone_flags = flags;
  if (flags & CLONE_VFORK) c->app_ss = t->app_ss;
  int own_sighand = !(flags & CLONE_SIGHAND);
  struct sig_action *saved = NULL;
  if (own_sighand) { /* the child's sigaction calls must not change ours */
    saved = mem_alloc(SIG_NSAVE * sizeof *saved);
    sig_save(saved);
  }
  uint64_t all = ~0ull;
  sys_call4(SYS_rt_sigprocmask, 2, &all, &c->start_mask, 8);
  long r;
  if (t->tls.sig_pending) {
    r = (long)SIG_NOT_STARTED; /* deliver first, then make the call */
  } else if (nr == SYS_clone3) {
    uint64_t lo = (uint64_t)c->stack + 4096;
    ca->stack = lo;
    ca->stack_size = c->tls.engine_sp - lo;
    r = lurk_clone(SYS_clone3, (long)ca, (long)casize, 0, 0, 0, c);
  } else {
    r = lurk_clone(SYS_clone, (long)flags, (long)c->tls.engine_sp, (long)ptid, (long)ctid,
                   (long)tls, c);
  }
  sys_call4(SYS_rt_sigprocmask, 2, &c->start_mask, 0, 8);
  if (SYS_FAILED(r)) thr_release(c);
  else if (flags & CLONE_VFORK) { /* it has exec'd or exited */
    lb_inl_flush();
    lb_hc_retire(c);
    thr_forget(c);
  }
  if (saved) {
    if (flags & CLONE_VFORK) sig_restore(saved);
    mem_free(saved, SIG_NSAVE * sizeof *saved);
  }
  return (uint64_t)r;
}

uint64_t proc_clone(struct lurk_thread *t, long nr)
{
  struct arch_mctx *m = &t->tls.mctx;
  struct proc_clone_args ca;
  uint64_t casize = 0, flags, stack = 0, ptid = 0, ctid = 0, tls = 0;
  lurk_memset(&ca, 0, sizeof ca);
  if (nr == SYS_clone3) {
    casize = ARCH_SC_ARG(m, 1);
    if (casize < 64 || casize > 4096) return E(22);
    size_t n = casize < sizeof ca ? casize : sizeof ca;
    if (arch_copy_in(&ca, ARCH_SC_ARG(m, 0), n)) return E(14);
    if (casize > sizeof ca) casize = sizeof ca; /* newer fields: not passed on */
    flags = ca.flags;
    tls = ca.tls;
    if (ca.stack) stack = ca.stack + ca.stack_size;
  } else if (nr == SYS_vfork) {
    flags = CLONE_VM | CLONE_VFORK | 17 /* SIGCHLD */;
  } else if (nr == SYS_fork) {
    flags = 17;
  } else {
    flags = ARCH_SC_ARG(m, 0);
    stack = ARCH_SC_ARG(m, 1);
    ptid = ARCH_SC_ARG(m, 2);
    ctid = ARCH_SC_ARG(m, 3);
    tls = ARCH_SC_ARG(m, 4);
  }
  if (!(flags & CLONE_VM)) return proc_fork(t, nr, flags, stack, ptid, ctid, tls, &ca, casize);
  if (nr == SYS_vfork) nr = SYS_clone;
  return proc_thread(t, nr, flags, stack, ptid, ctid, tls, &ca, casize);
}
