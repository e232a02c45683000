/* lurk: the dispatcher — where the cache hands control back to the engine. */
#ifndef LURK_DISP_H
#define LURK_DISP_H
#include "thr.h"

/* Called from lurk_ctx_enter with the app's state saved in t. */
void disp_dispatch(struct arch_tls *t);
/* Called from lurk_sig_reenter: lurk's handler put the app's state in t. */
void disp_signal(struct arch_tls *t);
/* Start running the app at pc from the cache, on this thread (no return). */
LURK_NORETURN void disp_start(struct lurk_thread *t, uint64_t pc);
/* Raise the entry event when a thread is about to run pc (the program's
** entry point), once. */
void disp_entry_at(uint64_t pc);
/* Start a new thread at the pc in its context (no return). */
LURK_NORETURN void disp_resume_new(struct lurk_thread *t);

#endif
