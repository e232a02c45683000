/* lurk: signals. lurk owns every real handler; the app's dispositions are
** kept here and emulated. A signal is queued on the thread it arrived on
** and delivered by the dispatcher at a point where the app state is whole:
** at once for faults and for signals that interrupt translated app code at
** an instruction boundary, at the next dispatcher exit otherwise (docs/
** architecture.md, "Signals").
*/
#ifndef LURK_SIG_H
#define LURK_SIG_H
#include "thr.h"

/* Kernel sigaction layout (x86-64). */
struct sig_action { uint64_t handler, flags, restorer, mask; };

#define SIG_SA_NOCLDSTOP 0x1ull
#define SIG_SA_NOCLDWAIT 0x2ull
#define SIG_SA_SIGINFO 0x4ull
#define SIG_SA_ONSTACK 0x08000000ull
#define SIG_SA_RESTART 0x10000000ull
#define SIG_SA_NODEFER 0x40000000ull
#define SIG_SA_RESETHAND 0x80000000ull
#define SIG_SA_RESTORER 0x04000000ull
#define SIG_BIT(s) (1ull << ((s) - 1))

/* Syscall results lurk's app-syscall routine reports when a signal came
** first: the kernel's own restart codes, which never reach user space. */
#define SIG_RESTART_IF_SA ((uint64_t)-512) /* interrupted; restart if SA_RESTART */
#define SIG_NOT_STARTED ((uint64_t)-513)   /* never entered the kernel */

/* Before takeover: read the inherited dispositions, install lurk's handler
** where the default action ends the process (so lurk can finish first). */
void sig_init(void);
/* Per thread: lurk's handler stack. */
void sig_thread_start(struct lurk_thread *t);
/* The app's rt_sigaction / sigaltstack / rt_sigreturn. */
uint64_t sig_sigaction(struct arch_mctx *m);
uint64_t sig_altstack(struct lurk_thread *t, struct arch_mctx *m);
void sig_return(struct lurk_thread *t);
/* Does the first queued signal's app handler ask for SA_RESTART? */
int sig_restart_wanted(struct lurk_thread *t);
/* Deliver what is queued on t: build app frames, point t's context at the
** handler. Called by the dispatcher just before it resumes the app. */
void sig_deliver(struct lurk_thread *t);
/* From lurk's handler: queue a signal for t. */
void sig_queue(struct lurk_thread *t, const void *info, uint64_t err, uint64_t trapno, uint64_t cr2,
               int sync);
#define SIG_NSAVE 65
/* The app's dispositions (SIG_NSAVE entries) for a vfork child to change and its parent to get back. */
void sig_save(struct sig_action *save);
void sig_restore(const struct sig_action *save);
/* CLONE_CLEAR_SIGHAND in a new child: app handlers back to SIG_DFL. */
void sig_clear_handlers(void);
/* Keep (on) lurk's handler on sig whatever the app's disposition (sampling). */
void sig_reserve(int sig, int on);
/* Detach: put the app's dispositions into the kernel (lurk's handler no
** longer runs). PARK_SIG, if the app leaves it at SIG_DFL, is ignored (a
** park request still in flight must not end the program). */
void sig_detach(void);
/* The dispositions lock, held across fork. */
void sig_lock(void);
void sig_unlock(void);
/* A fault lurk found itself (the app jumped to an unreadable address):
** queue SIGSEGV for addr, with the app's context at addr. */
void sig_fault(struct lurk_thread *t, uint64_t addr, int code);
/* A synchronous signal lurk raises for the app (an instruction it emulates
** faulted): queued with si_code code, si_addr addr, the app at pc, and the
** frame's trapno and err (cr2 = addr for a page fault, #PF = 14). As the
** kernel forces it: blocked or ignored, the default action ends the process. */
void sig_force(struct lurk_thread *t, int sig, int code, uint64_t addr, uint64_t pc,
               uint64_t trapno, uint64_t err);
/* End the process by sig's default action, as natively, after lurk's exit work. */
LURK_NORETURN void sig_die(int sig);
/* lurk's handler cannot go on (a fault inside the engine): say so and die by sig. */
LURK_NORETURN void sig_internal(int sig, uint64_t pc, uint64_t addr);
/* A meta instruction (where: who inserted it, bb.h) faulted: the tool's
** bug. Report it and end the process with status 1, like a script error. */
LURK_NORETURN void sig_meta_fault(int sig, uint64_t addr, const char *where);

#endif
