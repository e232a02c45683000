/* lurk: engine threads. Each app thread has one block, reached through the
** gs base; its first member is the arch's layout used by generated code.
** Blocks of exited threads are reused, never unmapped (see thr.c).
*/
#ifndef LURK_THR_H
#define LURK_THR_H
#include "lurk.h"
#include "../arch/arch.h"
#include "wrap.h"

/* A signal waiting in a thread's queue until it can be delivered: the
** kernel's siginfo plus the fault details that go into the app's frame. */
struct sig_entry {
  uint8_t info[128];
  uint64_t err, trapno, cr2;
  int sync;                 /* a fault of the app's own instruction */
};

#define THR_SIGQ 32
enum { PROF_NONE, PROF_PERF, PROF_TIMER };

struct lurk_thread {
  struct arch_tls tls;      /* first: gs base points here */
  int tid;
  int done;                 /* 1 once the thread can no longer touch its block */
  uint8_t *stack;           /* mapping: guard page, engine stack, signal stack */
  size_t stack_size;
  struct lurk_thread *next; /* live list, or reuse list once exited */
  uint64_t start_mask;      /* signal mask a new thread restores when it starts */
  uint64_t clone_flags;     /* how it was created (CLONE_* of the app's call) */
  /* Signals (sig.c). The queue is filled by lurk's handler and drained by the
  ** dispatcher on the same thread; head/tail are only touched there. */
  struct { uint64_t sp; int32_t flags, pad; uint64_t size; } app_ss; /* app's sigaltstack */
  volatile uint32_t sigq_head, sigq_tail;
  struct sig_entry sigq[THR_SIGQ];
  uint64_t sig_tmpblocked;  /* signals lurk blocked while they wait in the queue */
  int stepping;             /* single-stepping to a point where the app state is whole */
  int sc_again;             /* scall_handle: deliver queued signals, then make the call again */
  int step_trap_blocked;    /* SIGTRAP was blocked by the app when stepping began */
  int step_pushf;           /* the instruction being stepped is a pushf */
  /* The app's own trap flag (arch/x86_64/signal.c, engine/disp.c): */
  uint64_t tf_from;         /* app pc the thread last resumed at */
  uint8_t tf_owed;          /* an app instruction completed inside lurk's code: one SIGTRAP owed */
  uint8_t tf_resume;        /* stepping through the resume: its landing is not an instruction */
  uint8_t tf_engine;        /* TF was taken off for lurk's code outside the cache: put it back */
  uint8_t tf_active;        /* the thread resumed with TF (else a trap means a popf just set it) */
  uint8_t tf_skip;          /* TF just set: up to the next block, nothing is the app's */
  int smc_solo;             /* resume with the faulting writer translated alone */
  uint32_t nsmc;
  uint64_t smc_pages[8];    /* code pages written by this thread, to flush */
  int32_t prof_kind;        /* its sampling source (prof.c): PROF_NONE, _PERF, _TIMER */
  int32_t prof_fd, prof_timer;
  struct wrap_stack wrap;   /* wrapped calls in flight (wrap.c) */
  int park_state;           /* PARK_RUN, _SYS, _PARKED, _DETACHED, _HELD (park.c) */
  uint64_t park_pc;         /* app pc while PARK_HELD */
  uint32_t rseq_sig;        /* its rseq registration's signature (rseq.c) */
  uint64_t rseq_last;       /* the last armed rseq_cs value looked at */
};

extern struct lurk_thread *thr_list;

/* The calling thread's block (through the gs base). */
static inline struct lurk_thread *thr_self(void)
{
  struct lurk_thread *t;
  __asm__("mov %%gs:0, %0" : "=r"(t));
  return t;
}
static inline struct lurk_thread *thr_of(struct arch_tls *t) { return (struct lurk_thread *)t; }

/* The first thread, at takeover. */
struct lurk_thread *thr_main(void);
/* A thread that exists already (lurk attach): its block, installed. */
struct lurk_thread *thr_adopt(void);
/* A block for a thread about to be created (not live yet). */
struct lurk_thread *thr_alloc(void);
/* A block that never became live (the clone failed, or a vfork child is gone). */
void thr_release(struct lurk_thread *t);
/* 1 if this is the only thread sharing the address space (and so the Lua
** state): no other thread can be in a handler, nor appear before this one
** goes back to app code. */
int thr_alone(void);
/* A vfork-style child is gone (exec'd or exited): take its block back. */
void thr_forget(struct lurk_thread *t);
/* Entry of a new thread, on its engine stack (from lurk_clone). */
LURK_NORETURN void thr_child_start(struct lurk_thread *t);
/* The app thread ends with SYS_exit; the last one ends the process. */
LURK_NORETURN void thr_exit(struct lurk_thread *t, int status);
/* In a fork child: only the calling thread exists. */
void thr_after_fork(struct lurk_thread *t);
/* Under the lock, t already taken out of thr_list: its block to reuse. */
void thr_unlist_locked(struct lurk_thread *t);
/* The thread-list lock (also held across fork). */
void thr_lock(void);
void thr_unlock(void);
/* The indirect-branch table moved: update every thread's copy. */
void thr_ibl_table_changed(void);
/* Sum of the per-thread lookup counters. */
uint64_t thr_ibl_count(void);

#endif
