/* lurk: parking the app's threads at safe points (lurk.stop / lurk.cont)
** and detaching from them (every thread back to native execution). A
** thread is asked with a signal of lurk's own (PARK_SIG, invisible to the
** app) and parks in the dispatcher, where its app state is whole; a thread
** blocked in the app's system call is left there and parks when the call
** returns (or before it starts one). See docs/architecture.md, "Stopping
** and detaching".
*/
#ifndef LURK_PARK_H
#define LURK_PARK_H
#include "thr.h"

/* SIGRTMAX-1 (SIGRTMAX is the sampler's), queued with a cookie so the
** program's own PARK_SIG signals still reach it. */
#define PARK_SIG 63

/* PARK_HELD: stopped inside lurk, about to run Lua for the app (park_hold). */
enum { PARK_RUN, PARK_SYS, PARK_PARKED, PARK_DETACHED, PARK_HELD };

/* Ask every app thread to stop and wait until each is parked, blocked in
** the app's system call, or blocked inside lurk (e.g. waiting for the Lua
** lock the caller holds: it waits once it has the lock, before any Lua
** runs, see park_hold). Returns how
** many threads are not there yet (0: all stopped). From any thread; the
** calling app thread itself is not waited for. */
int park_stop(void);
/* Let every parked thread go on. */
void park_cont(void);
/* Is a stop (or detach) in force? */
int park_stopped(void);
/* Detach: stop every thread, give the program its signal dispositions back,
** then each thread leaves the code cache at its app pc (a thread blocked in
** a system call does when the call returns). Returns 0, or the number of
** threads that could not be stopped (nothing is changed then). From a
** thread that is not an app thread (the control channel's). */
int park_detach(void);
/* Has the process been detached? */
int park_detached(void);
/* lurk attach to a detached process: the engine runs again; the blocks of
** threads that left are dropped (threads still inside a call lurk made
** for them keep theirs, and stay when the call returns). */
void park_rearm(void);

/* -- For the dispatcher and lurk's signal code ----------------------------- */
/* In the dispatcher, the app state whole: park while a stop is in force,
** leave for native execution once detached (does not return then). */
void park_point(struct lurk_thread *t);
/* Around the app's system call: 1 means "a stop is in force: park first,
** then make the call" (the call is not made). */
int park_syscall_begin(struct lurk_thread *t);
void park_syscall_end(struct lurk_thread *t);
/* Should a thread about to run Lua for the app (a clean call, a wrap, a
** system-call event; the Lua lock just taken) wait where it is? True while
** a stop, not a detach, is in force. */
int park_hold_wanted(void);
/* Wait there until lurk.cont (or a detach begins); pc is the app pc shown
** meanwhile. The caller has released the Lua lock. */
void park_hold(struct lurk_thread *t, uint64_t pc);
/* Is the queued siginfo lurk's park request? (dropped by sig_deliver) */
int park_is_sig(const void *info);

#endif
