/* lurk: the dispatcher.
** Entered when a block exits through an unlinked stub, a syscall, or an
** indirect-branch lookup miss, and from lurk's signal handler. Finds or
** builds the next block, links the exit to it (or records the lookup),
** delivers queued signals, and resumes.
*/
#include "disp.h"
#include "cache.h"
#include "log.h"
#include "park.h"
#include "lock.h"
#include "scall.h"
#include "sig.h"
#include "vm.h"
#include "../bindings/lb.h"

/* An engine invariant whose failure deserves the thread's state. */
#define LURK_ASSERT_DBG(c, t, msg)                                                          \
  do {                                                                                      \
    if (LURK_UNLIKELY(!(c))) {                                                              \
      log_printf("lurk: exit id 0x%lx, rip 0x%lx, rsp 0x%lx, [rsp] 0x%lx\n",                 \
                 (unsigned long)(t)->tls.exit_id, (unsigned long)(t)->tls.mctx.rip,         \
                 (unsigned long)(t)->tls.mctx.gpr[MCTX_RSP],                                \
                 (unsigned long)*(uint64_t *)(t)->tls.mctx.gpr[MCTX_RSP]);                  \
      lurk_panic(__FILE__, __LINE__, msg);                                                  \
    }                                                                                       \
  } while (0)

#define PENDING(t) (*(volatile uint64_t *)&(t)->tls.sig_pending)

/* Flush the blocks built from code pages this thread wrote. */
static void smc_flush(struct lurk_thread *t)
{
  if (t->nsmc > 8) {
    vm_unprotect_all(cache_flush_page);
  } else {
    for (uint32_t i = 0; i < t->nsmc; i++) cache_flush_page(t->smc_pages[i] >> 12);
  }
  t->nsmc = 0;
}

/* The block for the app pc in t's context, or NULL (a SIGSEGV is queued).
** ibl: 1 a lookup missed (into its table), 2 + g guard g validated pc. */
static struct cache_block *disp_block(struct lurk_thread *t, struct cache_exit *e, int ibl)
{
  uint64_t pc = t->tls.mctx.rip;
  LURK_ASSERT_DBG(!cache_holds(pc), t, "the app is about to run a code-cache address");
  cache_lock();
  if (t->nsmc) smc_flush(t);
  wrap_flush_pending_locked(); /* wraps added or removed by handlers */
  struct cache_block *b = cache_get(pc);
  if (b) {
    if (e) cache_link(e, b);
    else if (ibl >= 2) cache_guard_insert(ibl - 2, pc, b->cpc);
    else if (ibl) cache_ibl_insert(pc, b->cpc);
  }
  int prot = b ? 0 : vm_prot(pc);
  cache_unlock();
  if (!b) {
    LOG(LOG_INFO, "lurk: the app jumped to unreadable address 0x%lx\n", (unsigned long)pc);
    sig_fault(t, pc, prot < 0 ? 1 /* SEGV_MAPERR */ : 2 /* SEGV_ACCERR */);
  }
  return b;
}

/* A guarded lookup missed (TLS_GUARD_DATA: the site's data, context.S
** GIBL): ask the guard's handler. Returns disp_block's ibl argument: the
** guard number + 2 when the handler validated the target (its block goes
** into the guard's table), else 0 (not into any table: the next transfer
** there asks again). */
static int disp_guard(struct lurk_thread *t)
{
  const uint64_t *d = (const uint64_t *)t->tls.guard_data; /* pc, lo, hi, delta, g */
  t->tls.guard_data = 0;
  if (!arch_guard_data_ok((uint64_t)d)) {
    LOG(LOG_WARN, "a lookup miss with a forged guarded site (0x%lx), taken as unguarded\n", (unsigned long)d);
    return 1;
  }
  uint64_t pc = d[0], delta = d[3], g = d[4];
  return lb_guard_miss(t, (int)g, pc, t->tls.mctx.rip, (int64_t)delta) ? (int)g + 2 : 0;
}

static uint64_t disp_entry; /* the program's entry point, until reached */

void disp_entry_at(uint64_t pc) { disp_entry = pc; }

/* Resume at the app pc in t's context: deliver queued signals first. A
** signal queued after the last look at the queue points TLS_RESUME at
** lurk_reenter itself, so none waits past the resume. */
static void disp_finish(struct lurk_thread *t, struct cache_exit *e, int ibl)
{
  /* Every first arrival at a pc comes through here (it is in no lookup
  ** table and no link leads to it yet): the entry event's place. */
  uint64_t entry = __atomic_load_n(&disp_entry, __ATOMIC_RELAXED);
  if (LURK_UNLIKELY(entry) && t->tls.mctx.rip == entry &&
      __atomic_compare_exchange_n(&disp_entry, &entry, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
    lb_event_entry(entry);
  struct cache_block *b = disp_block(t, e, ibl);
  if (b) t->tls.w->resume = (uint64_t)b->cpc;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  for (int rounds = 0; PENDING(t) || !b || park_stopped(); rounds++) {
    LURK_ASSERT(rounds < 1000, "signal delivery does not settle");
    sig_deliver(t);
    park_point(t); /* lurk.stop, detach: the app state is whole here */
    b = disp_block(t, NULL, 0);
    if (b) t->tls.w->resume = (uint64_t)b->cpc;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
  }
  t->tf_from = t->tls.mctx.rip; /* the app's TF: where the next step starts */
  t->tf_active = (t->tls.mctx.rflags & 0x100) != 0;
}

void disp_dispatch(struct arch_tls *tls)
{
  struct lurk_thread *t = thr_of(tls);
  uint32_t id = (uint32_t)tls->exit_id;
  struct cache_exit *e = NULL;
  int ibl = 0, tf_owed = 0;
  LURK_COUNT(stats.disp_entries);
  if (t->tf_engine) { /* the app's TF, taken off for lurk's code (signal.c, app_step) */
    t->tf_engine = 0;
    tls->mctx.rflags |= 0x100;
    tf_owed = t->tf_owed && !t->tf_skip;
    t->tf_owed = 0;
    t->tf_skip = 0;
  }
  if (id == EXIT_IBL) {
    tls->mctx.rip = tls->ibl_target;
    LURK_COUNT(stats.ibl_misses);
    ibl = 1;
    if (tls->guard_data) ibl = disp_guard(t);
  } else if (id == EXIT_REENTER) {
    /* lurk_reenter: mctx.rip is where the resume was going */
  } else {
    e = cache_exit_get(id);
    tls->mctx.rip = e->target;
    if (e->kind == CACHE_EXIT_SYSCALL) {
      /* A signal that arrived before the call is delivered before it, as
      ** the kernel would (after an execve there is no later: the signal
      ** would be lost); a stop in force parks first. Either way the
      ** syscall instruction runs again afterwards. */
      tf_owed = 0; /* natively no step trap follows a syscall */
      if (PENDING(t) || park_syscall_begin(t)) tls->mctx.rip -= 2;
      else {
        scall_handle(t);
        park_syscall_end(t);
        if (t->sc_again) { t->sc_again = 0; tls->mctx.rip -= 2; }
      }
      e = NULL;
    } else if (e->kind == CACHE_EXIT_X87) {
      arch_x87_fip(t, (uint64_t)(uintptr_t)e->from->cpc);
      e = NULL;
    } else if (e->kind == CACHE_EXIT_EMUL) {
      arch_emulate(t);
      tf_owed = !PENDING(t) && (tls->mctx.rflags & 0x100); /* it ran: the step trap after it */
      e = NULL;
    }
  }
  /* An app instruction completed on the way here (a branch to an unlinked
  ** exit or a lookup miss) while the app single-steps itself. */
  if (tf_owed && (tls->mctx.rflags & 0x100)) sig_force(t, 5, 2 /* TRAP_TRACE */, tls->mctx.rip, tls->mctx.rip, 1, 0);
  disp_finish(t, e, ibl);
}

void disp_signal(struct arch_tls *tls)
{
  struct lurk_thread *t = thr_of(tls);
  if (t->smc_solo && !PENDING(t)) {
    /* A write to protected code: flush the page's blocks and run the
    ** writer alone; what follows it is translated from the new bytes. */
    t->smc_solo = 0;
    cache_lock();
    smc_flush(t);
    struct cache_block *b = cache_solo(tls->mctx.rip);
    cache_unlock();
    if (b) {
      t->tls.w->resume = (uint64_t)b->cpc;
      __atomic_signal_fence(__ATOMIC_SEQ_CST);
      if (!PENDING(t)) return;
    }
  }
  t->smc_solo = 0;
  disp_finish(t, NULL, 0);
}

void disp_resume_new(struct lurk_thread *t)
{
  disp_finish(t, NULL, 0);
  arch_resume(&t->tls);
}

void disp_start(struct lurk_thread *t, uint64_t pc)
{
  t->tls.mctx.rip = pc;
  disp_resume_new(t);
}
