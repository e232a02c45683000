/* lurk: stopping, continuing and detaching the app's threads (park.h). */
#include <fcntl.h>
#include <linux/futex.h>
#include "park.h"
#include "log.h"
#include "prof.h"
#include "sig.h"
#include "../arch/x86_64/syscall.h"

#define PARK_COOKIE 0x6c75726b7061726bull /* "lurkpark", the sigval */
#define SI_QUEUE (-1)

/* What the threads are asked: 0 nothing, PARK_STOP, PARK_LEAVE (detach). */
enum { PARK_STOP = 1, PARK_LEAVE = 2 };
static volatile int park_req;
static int park_gone;   /* detached: the engine is inert */
static int park_strict; /* a detach's stop: held threads must reach a park point */

int park_stopped(void) { return __atomic_load_n(&park_req, __ATOMIC_SEQ_CST) != 0; }
int park_detached(void) { return park_gone; }

int park_is_sig(const void *info)
{
  const int32_t *si = info;
  uint64_t v;
  __builtin_memcpy(&v, (const uint8_t *)info + 24, 8);
  return si[0] == PARK_SIG && si[2] == SI_QUEUE && v == PARK_COOKIE && si[4] == (int32_t)sys_getpid();
}

/* -- The app threads' side ---------------------------------------------------- */

void park_point(struct lurk_thread *t)
{
  int r = __atomic_load_n(&park_req, __ATOMIC_SEQ_CST);
  if (!r) return;
  __atomic_store_n(&t->park_state, PARK_PARKED, __ATOMIC_SEQ_CST);
  /* A signal meanwhile interrupts the wait (lurk's handler queues it): the
  ** loop waits again, and it is delivered once the thread goes on. */
  while ((r = __atomic_load_n(&park_req, __ATOMIC_SEQ_CST)) == PARK_STOP)
    sys_call4(SYS_futex, &park_req, FUTEX_WAIT_PRIVATE, PARK_STOP, 0);
  if (r == PARK_LEAVE) {
    __atomic_store_n(&t->park_state, PARK_DETACHED, __ATOMIC_SEQ_CST);
    /* What lurk's handler queued while the thread was parked (a park
    ** request sent just before it parked, a program's signal before the
    ** dispositions went back): delivered now. That also lifts the signals
    ** lurk blocked while they waited, so the thread leaves with the
    ** program's own mask. No more can be queued: the handlers are the
    ** program's now. */
    while (t->sigq_head != t->sigq_tail || t->sig_tmpblocked) sig_deliver(t);
    /* Its own signal stack back to the app's (or none). */
    struct { uint64_t sp; int32_t flags, pad; uint64_t size; } ss = { t->app_ss.sp, 0, 0, t->app_ss.size };
    if (!ss.size) ss.flags = 2 /* SS_DISABLE */;
    sys_call2(SYS_sigaltstack, &ss, 0);
    arch_detach(&t->tls, t->tls.app_gs);
  }
  __atomic_store_n(&t->park_state, PARK_RUN, __ATOMIC_SEQ_CST);
}

int park_hold_wanted(void)
{
  return __atomic_load_n(&park_req, __ATOMIC_SEQ_CST) == PARK_STOP && !__atomic_load_n(&park_strict, __ATOMIC_SEQ_CST);
}

void park_hold(struct lurk_thread *t, uint64_t pc)
{
  t->park_pc = pc;
  __atomic_store_n(&t->park_state, PARK_HELD, __ATOMIC_SEQ_CST);
  while (park_hold_wanted())
    sys_call4(SYS_futex, &park_req, FUTEX_WAIT_PRIVATE, PARK_STOP, 0);
  __atomic_store_n(&t->park_state, PARK_RUN, __ATOMIC_SEQ_CST);
}

int park_syscall_begin(struct lurk_thread *t)
{
  __atomic_store_n(&t->park_state, PARK_SYS, __ATOMIC_SEQ_CST);
  if (!__atomic_load_n(&park_req, __ATOMIC_SEQ_CST)) return 0;
  __atomic_store_n(&t->park_state, PARK_RUN, __ATOMIC_SEQ_CST);
  return 1;
}

void park_syscall_end(struct lurk_thread *t) { __atomic_store_n(&t->park_state, PARK_RUN, __ATOMIC_SEQ_CST); }

/* -- The stopper's side ---------------------------------------------------------- */

static void park_kick(int tid)
{
  int32_t info[32];
  lurk_memset(info, 0, sizeof info);
  info[0] = PARK_SIG;
  info[2] = SI_QUEUE;
  info[4] = (int32_t)sys_getpid();
  info[5] = (int32_t)sys_call0(SYS_getuid);
  uint64_t v = PARK_COOKIE;
  __builtin_memcpy((uint8_t *)info + 24, &v, 8);
  sys_call4(SYS_rt_tgsigqueueinfo, sys_getpid(), tid, PARK_SIG, info);
}

/* Is tid blocked in a system call (any: the app's, or lurk's own futex)? */
static int park_blocked(int tid)
{
  char path[64], buf[32];
  log_snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
  long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return 1; /* gone */
  long n = sys_read(fd, buf, sizeof buf - 1);
  sys_close(fd);
  return n > 0 && buf[0] >= '0' && buf[0] <= '9';
}

/* Kick the threads still running app code; count those not stopped. A
** thread blocked inside lurk (a lock wait; it holds once it has the lock,
** park_hold) or held counts as stopped for a stop, not for a detach
** (strict): it must leave from its park point, before the program's
** signal dispositions are back. */
static int park_round(int kick, int self, int strict)
{
  int tids[256], n = 0, left = 0;
  thr_lock();
  for (struct lurk_thread *t = thr_list; t; t = t->next) {
    int s = __atomic_load_n(&t->park_state, __ATOMIC_SEQ_CST);
    if (t->tid == self || s == PARK_PARKED || s == PARK_SYS || s == PARK_DETACHED) continue;
    if (s == PARK_HELD && !strict) continue;
    if (n < 256) tids[n++] = t->tid;
    else left++;
  }
  thr_unlock();
  for (int i = 0; i < n; i++) {
    if (kick) park_kick(tids[i]);
    else if (strict || !park_blocked(tids[i])) left++;
  }
  return left;
}

static int park_stop_mode(int strict)
{
  static int reserved;
  if (!reserved) { sig_reserve(PARK_SIG, 1); reserved = 1; }
  if (park_gone) return 0;
  __atomic_store_n(&park_strict, strict, __ATOMIC_SEQ_CST);
  __atomic_store_n(&park_req, PARK_STOP, __ATOMIC_SEQ_CST);
  /* Threads held by an earlier stop go on to their park points. */
  if (strict) sys_call3(SYS_futex, &park_req, FUTEX_WAKE_PRIVATE, 0x7fffffff);
  int self = (int)sys_gettid(), left = 0;
  /* Kicked again every 10 ms: a thread can run on in linked blocks when
  ** its kick came while it was between the dispatcher's last look at its
  ** queue and its resume. Give up after about 5 s. */
  for (int i = 0; i < 5000; i++) {
    if (i % 10 == 0) park_round(1, self, strict);
    struct { long s, ns; } ts = { 0, 1000000 };
    sys_call2(SYS_nanosleep, &ts, 0);
    if (!(left = park_round(0, self, strict))) break;
  }
  return left;
}

int park_stop(void) { return park_stop_mode(0); }

void park_cont(void)
{
  if (park_gone) return;
  __atomic_store_n(&park_req, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&park_strict, 0, __ATOMIC_SEQ_CST);
  sys_call3(SYS_futex, &park_req, FUTEX_WAKE_PRIVATE, 0x7fffffff);
}

int park_detach(void)
{
  if (park_gone) return 0;
  prof_start(0, 0); /* no more sampling ticks: the program would get them */
  int left = park_stop_mode(1);
  if (left) { park_cont(); return left; }
  sig_detach();
  park_gone = 1;
  __atomic_store_n(&park_req, PARK_LEAVE, __ATOMIC_SEQ_CST);
  sys_call3(SYS_futex, &park_req, FUTEX_WAKE_PRIVATE, 0x7fffffff);
  return 0;
}

void park_rearm(void)
{
  thr_lock();
  for (struct lurk_thread **pp = &thr_list; *pp; ) {
    struct lurk_thread *t = *pp;
    if (__atomic_load_n(&t->park_state, __ATOMIC_SEQ_CST) == PARK_DETACHED) {
      *pp = t->next;
      thr_unlist_locked(t);
    } else {
      pp = &t->next;
    }
  }
  thr_unlock();
  park_gone = 0;
  park_strict = 0;
  __atomic_store_n(&park_req, 0, __ATOMIC_SEQ_CST);
}
