/* lurk: the process side of lurk attach (attach.h): the engine started in
** a running process, and its threads taken over one by one.
*/
#include <stddef.h>
#include <fcntl.h>
#include "attach.h"
#include "cache.h"
#include "ctl.h"
#include "disp.h"
#include "log.h"
#include "mod.h"
#include "mem.h"
#include "opt.h"
#include "park.h"
#include "sig.h"
#include "thr.h"
#include "../arch/x86_64/syscall.h"
#include "../bindings/lb.h"

_Static_assert(offsetof(struct attach_rec, xsave) == 512, "attach.S stores at 512");
_Static_assert(ATTACH_XSAVE >= TLS_XSAVE_SIZE, "attach_rec.xsave too small");

static void attach_fail(struct attach_rec *r, int status, const char *msg)
{
  r->status = status;
  log_snprintf(r->msg, sizeof r->msg, "%s", msg);
}

/* The control channel, and whether it opened (its socket file exists). */
static int attach_ctl(void)
{
  ctl_start();
  char path[64];
  log_snprintf(path, sizeof path, CTL_DIR_FMT "/%ld", (unsigned)sys_call0(SYS_geteuid), (long)sys_getpid());
  return !SYS_FAILED(sys_call2(SYS_access, path, F_OK));
}

/* Start the engine: what takeover does but for the threads (inj.c), with
** the control channel on. Every app thread is stopped by the launcher or
** has every signal blocked, so lurk's handlers, installed last, never run
** on a thread without a block. An engine that was detached starts again
** with its state (Lua state, handlers, code cache) as it was left. */
static void attach_init(struct attach_rec *r)
{
  if (inj_started && !park_detached()) { attach_fail(r, 1, "lurk is already running in this process"); return; }
  if (inj_started) {
    if (!ctl_wait_gone()) { attach_fail(r, 3, "the control channel of the last attach has not closed yet"); return; }
    park_rearm();
    if (!attach_ctl()) { attach_fail(r, 3, "the control channel did not open (see the program's stderr)"); return; }
    sig_init();
    r->status = 0;
    return;
  }
  /* opt keeps pointers into the string: a copy of lurk's own */
  const char *o = (const char *)r->opts;
  size_t n = lurk_strlen(o) + 1;
  char *copy = mem_alloc(n);
  lurk_memcpy(copy, o, n);
  if (LURK_FAILED(opt_parse(copy))) { attach_fail(r, 2, "bad options"); return; }
  inj_started = 1;
  inj_output();
  mod_scan();
  lb_start(r->environ_at ? *(char ***)r->environ_at : NULL);
  cache_init();
  mod_init();
  if (opt.ctl && !attach_ctl()) {
    /* No thread was taken over nor a handler installed: lurk stays inert. */
    attach_fail(r, 3, "the control channel did not open (see the program's stderr)");
    return;
  }
  sig_init();
  r->status = 0;
}

/* Take the calling thread over: its block, its app context from the
** record, then (after the launcher's trap) the app's signal mask back and
** the code cache from its pc. */
static LURK_NORETURN void attach_thread(struct attach_rec *r)
{
  struct lurk_thread *t = thr_adopt();
  arch_attach_ctx(&t->tls, r->regs, r->xsave);
  t->tls.app_gs = r->regs[AR_GS_BASE];
  t->start_mask = r->sigmask;
  lb_event_thread_init(t->tid);
  LOG(LOG_INFO, "thread %d taken over at 0x%lx\n", t->tid, (unsigned long)t->tls.mctx.rip);
  r->status = 0;
  lurk_attach_trap(); /* the record may be unmapped from here on */
  sys_call4(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, &t->start_mask, 0, 8);
  disp_start(t, t->tls.mctx.rip);
}

/* From lurk_attach (attach.S). */
void attach_main(struct attach_rec *r);
void attach_main(struct attach_rec *r)
{
  if (r->magic != ATTACH_MAGIC) return;
  if (r->kind == ATTACH_INIT) attach_init(r);
  else if (r->kind == ATTACH_THREAD) {
    if (!inj_started || park_detached()) attach_fail(r, 4, "the engine is not started");
    else attach_thread(r);
  }
}
