/* lurk: sampling timers (prof.h). One POSIX timer per thread on the
** thread's CPU-time clock, notifying that thread (SIGEV_THREAD_ID) with
** PROF_SIG and a value that marks it as lurk's. */
#include "prof.h"
#include "lock.h"
#include "log.h"
#include "sig.h"
#include "../arch/x86_64/syscall.h"

#define PROF_COOKIE 0x6c75726bull /* "lurk": high half of the timer's sigval */
#define SI_TIMER (-2)

static prof_hook_fn prof_hook;
static volatile unsigned prof_hz;
static int prof_use_timer; /* POSIX timers even where perf events work */

/* Kernel struct sigevent (64 bytes), itimerspec, and the part of
** perf_event_attr lurk sets (PERF_ATTR_SIZE_VER0 is 64 bytes). */
struct k_sigevent {
  uint64_t value;
  int32_t signo, notify;
  int32_t tid, pad[11];
};
struct k_itimerspec { int64_t isec, insec, vsec, vnsec; };
struct k_perf_attr {
  uint32_t type, size;
  uint64_t config, sample_period, sample_type, read_format, flags;
  uint32_t wakeup_events, bp_type;
  uint64_t bp_addr;
};
#define PERF_TYPE_SOFTWARE 1
#define PERF_COUNT_SW_TASK_CLOCK 1
#define PERF_FLAG_EXCLUDE_KERNEL (1ull << 5)
#define PERF_FLAG_FD_CLOEXEC 8

void prof_set_hook(prof_hook_fn fn) { prof_hook = fn; }
unsigned prof_rate(void) { return prof_hz; }

/* The CPU-time clock of thread tid (the kernel's MAKE_THREAD_CPUCLOCK(tid,
** CPUCLOCK_SCHED)): lets one thread arm another's timer. */
static long thread_clock(int tid) { return (long)(((uint64_t)~(int64_t)tid << 3) | 4 | 2); }

/* A task-clock perf event on thread t that signals it every 1/hz s of its
** CPU time: an hrtimer, so 1 kHz is 1 kHz (a POSIX CPU-time timer only
** fires on scheduler ticks, 250 Hz here). The fd sits at 1000+ with lurk's. */
static long prof_perf(struct lurk_thread *t, unsigned hz)
{
  struct k_perf_attr a = { 0 };
  a.type = PERF_TYPE_SOFTWARE;
  a.size = sizeof a;
  a.config = PERF_COUNT_SW_TASK_CLOCK;
  a.sample_period = 1000000000ull / hz;
  a.flags = PERF_FLAG_EXCLUDE_KERNEL;
  a.wakeup_events = 1;
  long fd = sys_call6(SYS_perf_event_open, (sys_word)&a, t->tid, -1, -1, PERF_FLAG_FD_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return fd;
  long hi = sys_call3(SYS_fcntl, fd, 1030 /* F_DUPFD_CLOEXEC */, 1000);
  if (!SYS_FAILED(hi)) { sys_close(fd); fd = hi; }
  struct { int32_t type, pid; } own = { 0 /* F_OWNER_TID */, t->tid };
  long r = sys_call3(SYS_fcntl, fd, 15 /* F_SETOWN_EX */, &own);
  if (!SYS_FAILED(r)) r = sys_call3(SYS_fcntl, fd, 10 /* F_SETSIG */, PROF_SIG);
  if (!SYS_FAILED(r)) r = sys_call3(SYS_fcntl, fd, 4 /* F_SETFL */, 020000 | 04000 /* O_ASYNC|O_NONBLOCK */);
  if (SYS_FAILED(r)) { sys_close(fd); return r; }
  t->prof_fd = (int32_t)fd;
  t->prof_kind = PROF_PERF;
  return 0;
}

/* Fallback without perf events: a POSIX timer on t's CPU-time clock. */
static long prof_timer(struct lurk_thread *t)
{
  struct k_sigevent ev = { 0 };
  ev.value = (PROF_COOKIE << 32) | (uint32_t)t->tid;
  ev.signo = PROF_SIG;
  ev.notify = 4; /* SIGEV_THREAD_ID */
  ev.tid = t->tid;
  int32_t id = 0;
  long r = sys_call3(SYS_timer_create, thread_clock(t->tid), &ev, &id);
  if (SYS_FAILED(r)) return r;
  t->prof_timer = id;
  t->prof_kind = PROF_TIMER;
  return 0;
}

/* Close t's sampling source (the thread ends, or a fork child's copy). */
static void prof_close(struct lurk_thread *t)
{
  if (t->prof_kind == PROF_PERF) sys_close(t->prof_fd);
  if (t->prof_kind == PROF_TIMER) sys_call1(SYS_timer_delete, t->prof_timer);
  t->prof_kind = PROF_NONE;
}

/* Sample t at hz (0: stop). A stopped source is kept, not closed, so a
** signal it sent before it stopped is still recognised as lurk's. */
static long prof_arm(struct lurk_thread *t, unsigned hz)
{
  if (t->prof_kind == PROF_PERF) {
    if (!hz) return sys_call3(SYS_ioctl, t->prof_fd, 0x2401 /* PERF_EVENT_IOC_DISABLE */, 0);
    uint64_t period = 1000000000ull / hz;
    long r = sys_call3(SYS_ioctl, t->prof_fd, 0x40082404 /* PERF_EVENT_IOC_PERIOD */, &period);
    return SYS_FAILED(r) ? r : sys_call3(SYS_ioctl, t->prof_fd, 0x2400 /* PERF_EVENT_IOC_ENABLE */, 0);
  }
  if (t->prof_kind == PROF_NONE) {
    if (!hz) return 0;
    if (!prof_use_timer && !SYS_FAILED(prof_perf(t, hz))) return 0;
    long r = prof_timer(t);
    if (SYS_FAILED(r)) return r;
  }
  int64_t ns = hz ? 1000000000ll / hz : 0;
  struct k_itimerspec its = { ns / 1000000000ll, ns % 1000000000ll, ns / 1000000000ll, ns % 1000000000ll };
  return sys_call4(SYS_timer_settime, t->prof_timer, 0, &its, 0);
}

long prof_start(unsigned hz, int timer)
{
  if (hz) prof_use_timer = timer;
  if (hz > 100000) return -22; /* EINVAL: above 100 kHz the timers cannot keep up */
  if (hz) sig_reserve(PROF_SIG, 1);
  prof_hz = hz;
  long r = 0;
  thr_lock();
  for (struct lurk_thread *t = thr_list; t; t = t->next) {
    long e = prof_arm(t, hz);
    if (SYS_FAILED(e) && !r) r = e;
  }
  thr_unlock();
  return r;
}

int prof_is_sample(const struct lurk_thread *t, const void *info)
{
  const int32_t *si = info;
  if (si[0] != PROF_SIG) return 0;
  if (t->prof_kind == PROF_PERF) return si[2] > 0 && si[6] == t->prof_fd; /* si_code POLL_*, si_fd */
  uint64_t v;
  __builtin_memcpy(&v, (const uint8_t *)info + 24, 8);
  return si[2] == SI_TIMER && (v >> 32) == PROF_COOKIE;
}

static uint64_t prof_ndropped;

void prof_drop(struct lurk_thread *t)
{
  (void)t;
  __atomic_fetch_add(&prof_ndropped, 1, __ATOMIC_RELAXED); /* from a signal handler: no lock */
}

uint64_t prof_dropped(void) { return __atomic_load_n(&prof_ndropped, __ATOMIC_RELAXED); }

void prof_take(struct lurk_thread *t)
{
  if (prof_hook && prof_hz) prof_hook(t);
}

void prof_thread_start(struct lurk_thread *t)
{
  t->prof_kind = PROF_NONE;
  unsigned hz = prof_hz;
  if (hz) prof_arm(t, hz);
}

void prof_thread_exit(struct lurk_thread *t) { prof_close(t); }

void prof_after_fork(struct lurk_thread *t)
{
  /* The fd copy still signals the parent's thread; a timer is not inherited. */
  if (t->prof_kind == PROF_PERF) sys_close(t->prof_fd);
  t->prof_kind = PROF_NONE;
  t->prof_timer = 0;
  unsigned hz = prof_hz;
  if (hz) prof_arm(t, hz);
}
