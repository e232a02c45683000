/* lurk: engine locks. A futex mutex (Drepper's three-state mutex) on raw
** syscalls: waiters sleep instead of spinning, which matters on two cores
** with hundreds of app threads. Never taken from lurk's signal handler.
*/
#ifndef LURK_LOCK_H
#define LURK_LOCK_H
#include "lurk.h"

struct lurk_lock { int v; }; /* 0 free, 1 held, 2 held with waiters */

#define LOCK_INIT { 0 }

void lock_acquire(struct lurk_lock *l);
void lock_release(struct lurk_lock *l);
/* Take the lock if it is free, without waiting: 1 taken, 0 held by another. */
int lock_try(struct lurk_lock *l);
/* All engine locks together: acquisitions that found the lock held, and
** the futex sleeps they took (--stats, lurk.stats()). */
void lock_counts(uint64_t *contended, uint64_t *slept);
/* After fork, in the child: the lock is free (its holder, if any, was the
** forking thread, which released it, or a thread that no longer exists). */
static inline void lock_reset(struct lurk_lock *l) { l->v = 0; }

/* Relaxed atomic counter bump (statistics touched outside any lock). */
#define LURK_COUNT(x) __atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)

#endif
