/* lurk: function wrapping and replacing (drwrap / Frida Interceptor).
** Points are app pcs the translator instruments: a wrapped function's entry
** (a call into wrap_cc runs the pre hook and pushes the call on the
** thread's wrap stack), a return address seen at an entry (a call into
** wrap_cc pops every call whose stack pointer is below the current one and
** runs the post hook for it), and a replaced function's entry (the block
** jumps to the replacement). The app's stack is never changed.
**
** The engine calls the Lua layer only through the hooks (wrap_set_hooks).
** Lock order: cache lock, then the wrap lock (a leaf). Hooks are called with
** neither held; they must not be called with the Lua lock held either.
*/
#ifndef LURK_WRAP_H
#define LURK_WRAP_H
#include "lurk.h"

struct lurk_thread;
struct bb_plan;

/* One wrapped call in flight on a thread. */
struct wrap_call {
  uint64_t func;     /* the wrapped entry pc */
  uint64_t retaddr;  /* [sp] at entry */
  uint64_t sp;       /* rsp at entry (it points at retaddr) */
  uint32_t id;       /* the hooks' id for func (wrap_add) */
  uint32_t gen;      /* wrap_gen at entry */
  int32_t data;      /* the hooks' per-call data (0: none) */
  uint32_t depth;    /* 1 for the outermost call in flight */
  uint32_t pushed;   /* 0: a call without post (wrap_add's post = 0): not on the stack */
};

/* Per-thread state (inside struct lurk_thread; thr_init clears it for a
** new thread but keeps the memory of a reused block's stack). */
struct wrap_stack {
  struct wrap_call *c;
  uint32_t n, cap;
  /* Signal handlers on the app's alternate stack: the stack pointers there
  ** do not order with the rest, so the calls below fr_base[k] are set aside
  ** while the thread runs on [fr_lo, fr_hi). */
  uint32_t nfr;
  uint32_t fr_base[8];
  uint64_t fr_lo[8], fr_hi[8];
};

struct wrap_hooks {
  /* Before the wrapped function runs. Return 1 to skip it: the hook has set
  ** the return value; the function returns at once (rip = retaddr, rsp +=
  ** 8) and there is no post. */
  int (*pre)(struct lurk_thread *t, struct wrap_call *c);
  /* After it returned (unwound = 0: rax/xmm0 hold the result) or once it
  ** is known to have been left another way (unwound = 1: longjmp, an
  ** exception, a signal handler that did not return). */
  void (*post)(struct lurk_thread *t, struct wrap_call *c, int unwound);
};
void wrap_set_hooks(const struct wrap_hooks *h);

/* Wrap the function at pc with hook id (replaces the id of a pc already
** wrapped); post = 0: no hook wants its return, so its calls are not
** pushed and its return addresses get no check (a pre hook alone costs one
** clean call); stop wrapping it. The blocks that hold pc are flushed before
** the thread that asked runs more app code (wrap_flush_pending). */
void wrap_add(uint64_t pc, uint32_t id, int post);
void wrap_remove(uint64_t pc);
/* Send calls of pc to `to` instead (0: stop). */
void wrap_replace(uint64_t pc, uint64_t to);
/* Counter bumped by the Lua layer each time a wrapper is attached. */
extern uint32_t wrap_gen;

/* For the translator (cache lock held): add the ops for the points among
** the plan's instructions. wrap_any: are there points at all? */
int wrap_any(void);
void wrap_plan(struct bb_plan *p);
/* Flush the blocks of points added or removed since the last time. The
** first form takes the cache lock; the second is for a caller holding it. */
void wrap_flush_pending(void);
void wrap_flush_pending_locked(void);

/* The wrap lock, held across fork with the other engine locks (proc.c). */
void wrap_lock(void);
void wrap_unlock(void);

/* From lurk_cc, for a site id with the top bit set (context.S): the point's
** work. Returns 1 when the app must resume at the pc and stack pointer in
** the thread's context (a skipped call) instead of the block. */
int wrap_cc(struct lurk_thread *t);
#define WRAP_SITE_BIT 0x80000000u

#endif
