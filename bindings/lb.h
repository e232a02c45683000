/* lurk: the C side of the Lua API, as the engine sees it.
** Every entry point takes the Lua lock (handlers are serialized) and ends
** the run with file:line and a traceback if a script raises an error.
*/
#ifndef LURK_LB_H
#define LURK_LB_H
#include "../engine/lurk.h"
#include "lb_events.h"

/* Create the engine's Lua state, run the scripts of the command line
** (opt.scripts: -e chunks, -t tools and the script, in order), then fire
** `init`. envp is the program's environment with lurk's variables taken out;
** it is copied for os.getenv. Call once, before takeover, on the main
** thread. A script error ends the run (status 1). */
void lb_start(char **envp);

/* -- Events ---------------------------------------------------------------
** Each entry point is a no-op without scripts (the null tool), takes the
** Lua lock, and runs the handlers of its event in order. None may be called
** from inside a handler (the lock is not recursive). */

/* Are there handlers for ev (enum lb_event)? No lock: a cheap test before
** building what an event needs. */
int lb_event_wanted(int ev);
/* Does some handler of syscall event ev (LB_EV_syscall_pre/post) want call
** nr? Handlers registered with `only` want just their calls. No lock. */
int lb_event_syscall_wanted(int ev, long nr);
/* `exit`: the process is ending with status (exit_group, or the last
** thread's exit). Runs the handlers once per process and flushes the
** scripts' files; the caller then ends the process. */
void lb_event_exit(int status);
/* `thread_init` / `thread_exit`, on the thread itself. */
void lb_event_thread_init(long tid);
void lb_event_thread_exit(long tid);
/* `fork`: in the child, right after fork/clone without CLONE_VM returned 0
** there, before any app instruction; parent_tid is the forking thread's
** tid in the parent (its thread data carries over). */
void lb_event_fork(long parent_tid);
/* `entry`: the main program's entry point is about to run, once per
** process image: every library loaded at start-up is mapped, relocated and
** initialised (a static program: its first instruction). On the thread
** that reaches it, with its state whole. */
void lb_event_entry(uint64_t pc);
/* `exec`: just before the program's execve/execveat runs (the scripts'
** files are flushed, since a successful exec discards them). */
void lb_event_exec(const char *path, char *const argv[]);

/* Did every `bb` handler take `superblocks = true` (lurk.on's option)?
** Its blocks may then go on past a conditional branch (docs/lua-api.md,
** "Superblocks"). No lock. */
int lb_event_bb_superblocks(void);
/* `bb`: a block is being translated; the handlers see its app instructions
** and leave their edits and clean calls in plan (engine/bb.h). Called with
** the cache lock held. */
struct bb_plan;
void lb_event_bb(struct bb_plan *plan);

/* The Lua lock, held by the forking thread across fork (proc.c). */
void lb_fork_prepare(void);
/* Fold the counters of inlined clean calls into Lua now (a vfork child's
** block is about to be taken back). */
void lb_inl_flush(void);
/* A vfork child is gone: its lurk.counters shares join the total. */
struct lurk_thread;
void lb_hc_retire(struct lurk_thread *t);
void lb_fork_finish(void);

/* `syscall_pre`: the app is about to make syscall nr with the arguments
** *args[0..5] (the registers themselves: a handler may change them). Returns
** 1 if a handler skipped the call (e:skip(v)); *result is then v. Call only
** when lb_event_wanted(LB_EV_syscall_pre). */
int lb_event_syscall_pre(long nr, uint64_t *const args[6], long tid, uint64_t *result);
/* `syscall_post`: syscall nr returned result (a real result: never for a
** call that did not return, nor for a signal's restart marker); skipped: the
** pre handlers skipped it. Returns the result, which handlers may change. */
uint64_t lb_event_syscall_post(long nr, uint64_t *const args[6], long tid, uint64_t result,
                               int skipped);

/* `signal`: signal sig (siginfo at info: si_code, si_addr) is about to be
** delivered to thread tid at app pc; action 0 default, 1 ignored, 2 the
** app's handler; sync: a fault of the app's instruction. Returns 1 if a
** handler suppressed it (e:suppress(); never for a fault). Call only when
** lb_event_wanted(LB_EV_signal), from the dispatcher (not a signal handler). */
int lb_event_signal(int sig, const void *info, long tid, uint64_t pc, int action, int sync);

/* A guarded lookup missed (arch/x86_64/context.S GIBL): run guard g's
** handler for the branch at app pc to target (the app context at the miss,
** rsp moved by delta to what it was before the branch). Returns 1 if the
** handler validated target; 0 if not, or if it redirected (ctx.pc written:
** the context's pc is then the new one). From the dispatcher. */
struct lurk_thread;
int lb_guard_miss(struct lurk_thread *t, int g, uint64_t pc, uint64_t target, int64_t delta);

/* An ELF module, as the module events report it. */
struct lb_module {
  const char *path;
  uint64_t base, size, entry; /* mapped range [base, base+size), entry pc */
  int main;                   /* the program's own executable */
};
void lb_event_module_load(const struct lb_module *m);
void lb_event_module_unload(const struct lb_module *m);

#endif
