/* lurk: signal dispositions, queues and delivery (arch-neutral part; the
** frames and the handler itself are in arch/x86_64/signal.c). */
#include "sig.h"
#include "cache.h"
#include "lock.h"
#include "log.h"
#include "mem.h"
#include "park.h"
#include "prof.h"
#include "rseq.h"
#include "scall.h"
#include "../bindings/lb.h"
#include "../arch/x86_64/syscall.h"

#define E(x) ((uint64_t)-(int64_t)(x))
#define NSIG_ 64

static struct sig_action app_sa[NSIG_ + 1];
static struct lurk_lock sa_lock = LOCK_INIT;
static uint8_t sa_reserved[NSIG_ + 1]; /* lurk's handler stays whatever the app asks */
static int sa_ready; /* sig_init has read the inherited dispositions */

extern void lurk_sig_entry(int sig, void *info, void *uc);
extern void lurk_sig_restorer(void);

/* Does sig's default action end the process (terminate or core)? */
static int sig_default_fatal(int sig)
{
  switch (sig) {
  case 9: case 17: case 18: case 19: case 20: case 21: case 22: case 23: case 28:
    return 0; /* KILL (not catchable), CHLD, CONT, STOP, TSTP, TTIN, TTOU, URG, WINCH */
  default:
    return sig >= 1 && sig <= NSIG_;
  }
}

/* Put into the kernel what lurk wants for sig given the app's disposition. */
static long sig_install(int sig)
{
  struct sig_action k = app_sa[sig];
  if (sig == 9 || sig == 19) return 0;
  /* SIGSEGV and SIGBUS stay lurk's even when ignored: the engine's own
  ** soft-faulting copies need them (an ignored fault is emulated). */
  if (k.handler > 1 || (k.handler == 0 && sig_default_fatal(sig)) || sig == 11 || sig == 7 ||
      sa_reserved[sig]) {
    k.handler = (uint64_t)lurk_sig_entry;
    k.restorer = (uint64_t)lurk_sig_restorer;
    k.flags = SIG_SA_SIGINFO | SIG_SA_ONSTACK | SIG_SA_RESTORER | SIG_SA_RESTART |
              (sig == 17 ? app_sa[sig].flags & (SIG_SA_NOCLDSTOP | SIG_SA_NOCLDWAIT) : 0);
    k.mask = ~0ull;
  }
  return sys_call4(SYS_rt_sigaction, sig, &k, 0, 8);
}

void sig_init(void)
{
  for (int s = 1; s <= NSIG_; s++) {
    sys_call4(SYS_rt_sigaction, s, 0, &app_sa[s], 8);
    sig_install(s);
  }
  sa_ready = 1;
}

void sig_thread_start(struct lurk_thread *t)
{
  struct { uint64_t sp; int32_t flags, pad; uint64_t size; } ss;
  /* The signal stack is the top 64 KiB of the thread's stack mapping. */
  ss.sp = ((uint64_t)t->stack + t->stack_size) - (64u << 10);
  ss.flags = 0;
  ss.pad = 0;
  ss.size = 64u << 10;
  long r = sys_call2(SYS_sigaltstack, &ss, 0);
  if (SYS_FAILED(r)) log_fatal("cannot set lurk's signal stack: error %ld", -r);
}

uint64_t sig_sigaction(struct arch_mctx *m)
{
  long sig = (long)ARCH_SC_ARG(m, 0);
  uint64_t act = ARCH_SC_ARG(m, 1), oact = ARCH_SC_ARG(m, 2);
  if (sig < 1 || sig > NSIG_ || ARCH_SC_ARG(m, 3) != 8) return arch_syscall_app(m);
  struct sig_action k, old;
  if (act && arch_copy_in(&k, act, sizeof k)) return E(14 /* EFAULT */);
  if (act && (sig == 9 || sig == 19)) return E(22 /* EINVAL */);
  lock_acquire(&sa_lock);
  old = app_sa[sig];
  if (act) {
    app_sa[sig] = k;
    long r = sig_install((int)sig);
    if (SYS_FAILED(r)) {
      app_sa[sig] = old;
      sig_install((int)sig);
      lock_release(&sa_lock);
      return (uint64_t)r;
    }
  }
  lock_release(&sa_lock);
  if (oact && arch_copy_out(oact, &old, sizeof old)) return E(14);
  return 0;
}

/* Is sp on the app's alternate signal stack? */
static int on_app_stack(struct lurk_thread *t, uint64_t sp)
{
  return t->app_ss.size && sp > t->app_ss.sp && sp - t->app_ss.sp <= t->app_ss.size;
}

uint64_t sig_altstack(struct lurk_thread *t, struct arch_mctx *m)
{
  uint64_t uss = ARCH_SC_ARG(m, 0), uoss = ARCH_SC_ARG(m, 1);
  uint64_t sp = m->gpr[MCTX_RSP];
  __typeof__(t->app_ss) old = t->app_ss, ss;
  old.flags = (!old.size ? 2 /* SS_DISABLE */ : on_app_stack(t, sp) ? 1 /* SS_ONSTACK */ : 0) |
              (t->app_ss.flags & (int32_t)0x80000000 /* SS_AUTODISARM */);
  if (uss) {
    if (arch_copy_in(&ss, uss, sizeof ss)) return E(14);
    if (on_app_stack(t, sp)) return E(1 /* EPERM */);
    int mode = ss.flags & ~(int32_t)0x80000000;
    if (mode != 0 && mode != 2 && mode != 1) return E(22);
    if (mode == 2) { ss.sp = 0; ss.size = 0; }
    else if (ss.size < 2048) return E(12 /* ENOMEM */);
    t->app_ss = ss;
  }
  if (uoss && arch_copy_out(uoss, &old, sizeof old)) return E(14);
  return 0;
}

void sig_return(struct lurk_thread *t)
{
  uint64_t mask;
  if (!arch_sig_restore(t, &mask, &t->app_ss)) {
    /* A frame the kernel would refuse: it kills with SIGSEGV. */
    sig_die(11);
  }
  mask &= ~(SIG_BIT(9) | SIG_BIT(19));
  mask |= t->sig_tmpblocked; /* still waiting in the queue */
  sys_call4(SYS_rt_sigprocmask, 2, &mask, 0, 8);
}

int sig_restart_wanted(struct lurk_thread *t)
{
  if (t->sigq_head == t->sigq_tail) return 0;
  const void *info = t->sigq[t->sigq_head % THR_SIGQ].info;
  int sig = *(const int32_t *)info;
  if (prof_is_sample(t, info) || park_is_sig(info)) return 1; /* invisible: the call goes on */
  /* No app handler runs for an ignored signal: natively it interrupts nothing. */
  return app_sa[sig].handler <= 1 || (app_sa[sig].flags & SIG_SA_RESTART) != 0;
}

void sig_queue(struct lurk_thread *t, const void *info, uint64_t err, uint64_t trapno, uint64_t cr2,
               int sync)
{
  uint32_t tail = t->sigq_tail;
  if (tail - t->sigq_head >= THR_SIGQ) {
    /* Full: only possible with a flood while the thread cannot deliver. A
    ** standard signal coalesces natively too; a real-time one is lost. */
    static int warned;
    if (!warned++) LOG(LOG_WARN, "lurk: signal queue full, signal %d dropped\n", *(const int32_t *)info);
    return;
  }
  struct sig_entry *e = &t->sigq[tail % THR_SIGQ];
  lurk_memcpy(e->info, info, sizeof e->info);
  e->err = err;
  e->trapno = trapno;
  e->cr2 = cr2;
  e->sync = sync;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  t->sigq_tail = tail + 1;
  t->tls.w->sig_pending = 1;
}

void sig_die(int sig)
{
  scall_on_exit(128 + sig);
  struct sig_action dfl = { 0, 0, 0, 0 };
  sys_call4(SYS_rt_sigaction, sig, &dfl, 0, 8);
  uint64_t unblock = SIG_BIT(sig);
  sys_call4(SYS_rt_sigprocmask, 1 /* SIG_UNBLOCK */, &unblock, 0, 8);
  sys_call3(SYS_tgkill, sys_getpid(), sys_gettid(), sig);
  sys_exit_group(128 + sig);
  __builtin_unreachable();
}

void sig_meta_fault(int sig, uint64_t addr, const char *where)
{
  log_printf("lurk: a meta instruction faulted (signal %d, address 0x%lx): %s\n", sig, (unsigned long)addr, where);
  sys_exit_group(1);
  __builtin_unreachable();
}

void sig_internal(int sig, uint64_t pc, uint64_t addr)
{
  log_printf("lurk: internal error: signal %d at pc 0x%lx (address 0x%lx) inside lurk\n", sig,
             (unsigned long)pc, (unsigned long)addr);
  struct sig_action dfl = { 0, 0, 0, 0 };
  sys_call4(SYS_rt_sigaction, sig, &dfl, 0, 8);
  uint64_t unblock = SIG_BIT(sig);
  sys_call4(SYS_rt_sigprocmask, 1, &unblock, 0, 8);
  sys_call3(SYS_tgkill, sys_getpid(), sys_gettid(), sig);
  sys_exit_group(128 + sig);
  __builtin_unreachable();
}

void sig_deliver(struct lurk_thread *t)
{
  uint64_t cur, orig, mask;
  sys_call4(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, 0, &cur, 8);
  /* The app's mask: without what lurk blocked while signals waited. */
  orig = cur & ~t->sig_tmpblocked;
  t->sig_tmpblocked = 0;
  mask = orig;
  for (;;) {
    t->tls.w->sig_pending = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    uint32_t head = t->sigq_head;
    if (head == t->sigq_tail) break;
    struct sig_entry e = t->sigq[head % THR_SIGQ];
    t->sigq_head = head + 1;
    int sig = *(int32_t *)(void *)e.info;
    if (prof_is_sample(t, e.info)) { prof_take(t); continue; }
    if (park_is_sig(e.info)) continue; /* a park request: the dispatcher parks next */
    struct sig_action act = app_sa[sig];
    if (lb_event_wanted(LB_EV_signal) &&
        lb_event_signal(sig, e.info, t->tid, t->tls.mctx.rip, act.handler > 1 ? 2 : (int)act.handler, e.sync))
      continue; /* a script suppressed it */
    if (act.handler == 1 /* SIG_IGN */) {
      if (e.sync) sig_die(sig); /* a fault cannot be ignored: the kernel forces it */
      continue;
    }
    if (act.handler == 0) {
      if (sig_default_fatal(sig)) sig_die(sig);
      continue;
    }
    if ((mask & ~orig) & SIG_BIT(sig)) {
      /* Blocked by a handler delivered just now: back to the kernel, which
      ** keeps it pending until that handler's mask is lifted. */
      sys_call4(SYS_rt_tgsigqueueinfo, sys_getpid(), sys_gettid(), sig, e.info);
      continue;
    }
    int onstack = (act.flags & SIG_SA_ONSTACK) && t->app_ss.size &&
                  !on_app_stack(t, t->tls.mctx.gpr[MCTX_RSP]);
    uint64_t stack_top = onstack ? t->app_ss.sp + t->app_ss.size : 0;
    rseq_signal(t); /* inside an rseq section: the handler sees abort_ip */
    if (!(act.flags & SIG_SA_RESTORER) ||
        !arch_sig_frame(t, &e, &act, mask, stack_top, &t->app_ss)) {
      /* The frame cannot be written (an unwritable alternate stack, no
      ** restorer): as the kernel's force_sigsegv, SIGSEGV (SI_KERNEL) is
      ** delivered next, on whatever stack its own handler asks for; fatal
      ** if the failed signal was SIGSEGV or SIGSEGV is blocked or ignored. */
      if (sig == 11 || (mask & SIG_BIT(11)) || app_sa[11].handler <= 1) sig_die(11);
      int32_t info[32];
      lurk_memset(info, 0, sizeof info);
      info[0] = 11;
      info[2] = 0x80; /* SI_KERNEL */
      sig_queue(t, info, 0, 0, 0, 1);
      continue;
    }
    if (t->app_ss.flags & (int32_t)0x80000000 && onstack) { t->app_ss.sp = 0; t->app_ss.size = 0; }
    mask |= act.mask;
    if (!(act.flags & SIG_SA_NODEFER)) mask |= SIG_BIT(sig);
    mask &= ~(SIG_BIT(9) | SIG_BIT(19));
    if (act.flags & SIG_SA_RESETHAND) {
      lock_acquire(&sa_lock);
      app_sa[sig].handler = 0;
      app_sa[sig].flags &= ~SIG_SA_SIGINFO;
      sig_install(sig);
      lock_release(&sa_lock);
    }
  }
  if (mask != cur) sys_call4(SYS_rt_sigprocmask, 2, &mask, 0, 8);
}

void sig_reserve(int sig, int on)
{
  lock_acquire(&sa_lock);
  sa_reserved[sig] = (uint8_t)on;
  if (sa_ready) sig_install(sig); /* else sig_init installs it after reading the app's */
  lock_release(&sa_lock);
}

void sig_detach(void)
{
  lock_acquire(&sa_lock);
  for (int s = 1; s <= NSIG_; s++) {
    if (s == 9 || s == 19) continue;
    struct sig_action k = app_sa[s];
    if (s == PARK_SIG && k.handler == 0) k.handler = 1; /* SIG_IGN */
    sys_call4(SYS_rt_sigaction, s, &k, 0, 8);
  }
  lock_release(&sa_lock);
}

void sig_lock(void) { lock_acquire(&sa_lock); }
void sig_unlock(void) { lock_release(&sa_lock); }

void sig_clear_handlers(void)
{
  lock_acquire(&sa_lock);
  for (int s = 1; s <= NSIG_; s++)
    if (app_sa[s].handler > 1) {
      app_sa[s] = (struct sig_action){ 0, 0, 0, 0 };
      sig_install(s);
    }
  lock_release(&sa_lock);
}

void sig_force(struct lurk_thread *t, int sig, int code, uint64_t addr, uint64_t pc,
               uint64_t trapno, uint64_t err)
{
  uint64_t cur;
  sys_call4(SYS_rt_sigprocmask, 0, 0, &cur, 8);
  /* As the kernel's force_sig: blocked or ignored means the default action. */
  if ((cur & SIG_BIT(sig)) || app_sa[sig].handler <= 1) sig_die(sig);
  int32_t info[32];
  lurk_memset(info, 0, sizeof info);
  info[0] = sig;
  info[2] = code;
  __builtin_memcpy(&info[4], &addr, 8);
  t->tls.mctx.rip = pc;
  sig_queue(t, info, err, trapno, trapno == 14 ? addr : 0, 1);
}

void sig_fault(struct lurk_thread *t, uint64_t addr, int code)
{
  /* An instruction fetch: #PF with the user and fetch bits, and the
  ** protection bit for a present page or a kernel address (the kernel
  ** sets it for those so that user space cannot probe its mappings). */
  uint64_t err = 0x14 | (code == 2 || addr >= 0x800000000000ull ? 1 : 0);
  sig_force(t, 11, code, addr, addr, 14, err);
}

void sig_save(struct sig_action *save) { lurk_memcpy(save, app_sa, sizeof app_sa); }
_Static_assert(sizeof app_sa == SIG_NSAVE * sizeof(struct sig_action), "SIG_NSAVE");
void sig_restore(const struct sig_action *save) { lurk_memcpy(app_sa, save, sizeof app_sa); }
