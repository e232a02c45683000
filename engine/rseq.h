/* lurk: restartable sequences (rseq) for code run from the cache.
**
** The kernel aborts a critical section by comparing the interrupted
** instruction pointer with the section's [start_ip, post_commit_ip); in
** the cache that pointer is lurk's, so the kernel only ever clears the
** app's rseq_cs. lurk gives the app the kernel's semantics back
** (docs/decisions.md, rseq): sections are learnt from the descriptor a
** thread has armed when it asks for a translation; a section's commit
** instruction is translated to commit only if rseq_cs is still armed (the
** kernel clears it on every preemption, migration or signal while armed),
** under a descriptor of lurk's own so the kernel aborts the last window
** itself; a signal delivered inside a section goes to its abort_ip.
*/
#ifndef LURK_RSEQ_H
#define LURK_RSEQ_H
#include "lurk.h"

struct lurk_thread;
struct arch_mctx;

/* A critical section, from an app descriptor the kernel would accept. */
struct rseq_sec {
  uint64_t start, post, abort; /* [start, post) the section, abort its abort_ip */
  uint32_t sig;                /* the signature before abort_ip */
};

/* The rseq system call: made as it is; a registration's area and
** signature are recorded for the thread. */
uint64_t rseq_syscall(struct lurk_thread *t, struct arch_mctx *m);
/* Before a translation (cache lock held): learn the section the thread
** has armed, and flush the blocks translated from it without knowing. */
void rseq_discover(struct lurk_thread *t);
/* The known section whose commit instruction is [pc, next), or NULL. */
const struct rseq_sec *rseq_commit_at(uint64_t pc, uint64_t next);
/* Before a signal handler's frame is built: the thread's app pc inside a
** known section moves to its abort_ip, as the kernel's signal delivery. */
void rseq_signal(struct lurk_thread *t);

#endif
