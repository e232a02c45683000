/* lurk: the syscall_pre / syscall_post events at the dispatcher's syscall
** handler (scall.c), on the app's argument registers.
*/
#ifndef LURK_SCALL_EV_H
#define LURK_SCALL_EV_H
#include "thr.h"

/* Raise syscall_pre for the call in t's context (handlers may change its
** arguments in place). 1 if they skipped it; *result is then its result.
** Call only when lb_event_wanted(LB_EV_syscall_pre). */
int scall_ev_pre(struct lurk_thread *t, uint64_t *result);
/* Raise syscall_post for call nr, which returned result (a real result);
** returns the result the app sees (handlers may change it). */
uint64_t scall_ev_post(struct lurk_thread *t, uint64_t nr, uint64_t result, int skipped);

#endif
