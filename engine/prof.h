/* lurk: sampling. Each thread gets a timer on its own CPU-time clock that
** sends PROF_SIG; lurk's signal path takes the sample where the app state is
** whole (the next block start, as any asynchronous signal) and hands it to
** the hook, never to the program. See docs/architecture.md, "Sampling".
*/
#ifndef LURK_PROF_H
#define LURK_PROF_H
#include "thr.h"

/* The signal the timers send: SIGRTMAX, which glibc leaves to programs and
** which they rarely use; the program's own PROF_SIG signals still reach it. */
#define PROF_SIG 64

/* Called on the sampled thread, in the dispatcher, with the app's state in
** t->tls.mctx. Set once by the Lua bindings (the engine never calls them
** by name). */
typedef void (*prof_hook_fn)(struct lurk_thread *t);
void prof_set_hook(prof_hook_fn fn);

/* Sample every thread (those running now and those created later) hz times
** per second of its CPU time; 0 stops. Threads get a perf task-clock event
** (an hrtimer), or a POSIX CPU-time timer (tick-bound: at most CONFIG_HZ
** samples a second) where perf events are refused or when timer is set.
** Returns 0 or -errno. */
long prof_start(unsigned hz, int timer);
/* The current rate (0: off). */
unsigned prof_rate(void);
/* Is the queued siginfo one of lurk's samples for thread t? */
int prof_is_sample(const struct lurk_thread *t, const void *info);
/* lurk's handler dropped a tick that came where the program's state is not
** whole (lurk's own code); prof_dropped: how many so far, all threads. */
void prof_drop(struct lurk_thread *t);
uint64_t prof_dropped(void);
/* Take a sample (from sig_deliver): calls the hook. */
void prof_take(struct lurk_thread *t);
/* A new thread, on itself, before its first app instruction. */
void prof_thread_start(struct lurk_thread *t);
/* A thread ends, on itself. */
void prof_thread_exit(struct lurk_thread *t);
/* The only thread of a fork child (timers are not inherited). */
void prof_after_fork(struct lurk_thread *t);

#endif
