/* lurk: the syscall events, between the dispatcher's syscall handler and
** the Lua bindings (bindings/lb_syscall.c): the app's argument registers
** are handed over by address, so a handler's change is the app's.
*/
#include "scall_ev.h"
#include "../bindings/lb.h"

static void ev_args(struct arch_mctx *m, uint64_t *args[6])
{
  for (int i = 0; i < 6; i++) args[i] = &ARCH_SC_ARG(m, i);
}

int scall_ev_pre(struct lurk_thread *t, uint64_t *result)
{
  struct arch_mctx *m = &t->tls.mctx;
  uint64_t *args[6];
  ev_args(m, args);
  return lb_event_syscall_pre((long)ARCH_SC_NR(m), args, t->tid, result);
}

uint64_t scall_ev_post(struct lurk_thread *t, uint64_t nr, uint64_t result, int skipped)
{
  uint64_t *args[6];
  ev_args(&t->tls.mctx, args);
  return lb_event_syscall_post((long)nr, args, t->tid, result, skipped);
}
