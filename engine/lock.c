/* lurk: the futex mutex. */
#include <linux/futex.h>
#include "lock.h"
#include "../arch/x86_64/syscall.h"

static int cas(int *p, int expect, int want)
{
  __atomic_compare_exchange_n(p, &expect, want, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
  return expect;
}

/* Acquisitions that found the lock held, and futex sleeps (--stats). */
static uint64_t lock_contended, lock_slept;

void lock_counts(uint64_t *contended, uint64_t *slept)
{
  *contended = __atomic_load_n(&lock_contended, __ATOMIC_RELAXED);
  *slept = __atomic_load_n(&lock_slept, __ATOMIC_RELAXED);
}

void lock_acquire(struct lurk_lock *l)
{
  int c = cas(&l->v, 0, 1);
  if (c == 0) return;
  LURK_COUNT(lock_contended);
  for (int spin = 0; spin < 64 && c != 0; spin++) {
    __builtin_ia32_pause();
    c = cas(&l->v, 0, 1);
    if (c == 0) return;
  }
  if (c != 2) c = __atomic_exchange_n(&l->v, 2, __ATOMIC_ACQUIRE);
  while (c != 0) {
    LURK_COUNT(lock_slept);
    sys_call4(SYS_futex, &l->v, FUTEX_WAIT_PRIVATE, 2, 0);
    c = __atomic_exchange_n(&l->v, 2, __ATOMIC_ACQUIRE);
  }
}

int lock_try(struct lurk_lock *l) { return cas(&l->v, 0, 1) == 0; }

void lock_release(struct lurk_lock *l)
{
  if (__atomic_exchange_n(&l->v, 0, __ATOMIC_RELEASE) == 2)
    sys_call3(SYS_futex, &l->v, FUTEX_WAKE_PRIVATE, 1);
}
