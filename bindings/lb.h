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
/* `exec`: just before the program's execve/execveat runs (the scripts'
** files are flushed, since a successful exec discards them). */
void lb_event_exec(const char *path, char *const argv[]);

/* The Lua lock, held by the forking thread across fork (proc.c). */
void lb_fork_prepare(void);
void lb_fork_finish(void);

/* An ELF module, as the module events report it. */
struct lb_module {
  const char *path;
  uint64_t base, size, entry; /* mapped range [base, base+size), entry pc */
};
void lb_event_module_load(const struct lb_module *m);
void lb_event_module_unload(const struct lb_module *m);

#endif
