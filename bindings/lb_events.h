/* lurk: the events scripts can hook, listed once (STYLE #19).
** LB_EVENTDEF generates the C enum (LB_EV_<name>) and the names Lua sees
** (lurk.events, lurk.on's first argument). ORDER LB_EVENTDEF.
** LB_STAGEDEF lists the stages of the bb event, in the order they run.
*/
#ifndef LURK_LB_EVENTS_H
#define LURK_LB_EVENTS_H

#define LB_EVENTDEF(_)                                                      \
  _(init)          /* after every script's top level, before takeover */    \
  _(exit)          /* the process is ending: (status) */                    \
  _(thread_init)   /* a thread starts: (tid, data) */                       \
  _(thread_exit)   /* a thread ends: (tid, data) */                         \
  _(bb)            /* a block is translated: (instruction list) */          \
  _(module_load)   /* an ELF module was mapped: (path, base, size, entry) */ \
  _(module_unload) /* an ELF module was unmapped: same fields */            \
  _(syscall_pre)   /* before a syscall: (number, arguments; may skip) */    \
  _(syscall_post)  /* after a syscall: (number, arguments, result) */       \
  _(signal)        /* a signal is delivered to the program */              \
  _(fork)          /* in a new child process: (pid, ppid) */                \
  _(exec)          /* the program is about to exec: (path, argv) */         \
  _(sample)        /* a sampling tick on a thread: (tid, pc, sp) */      \
  _(entry)         /* the program's entry point is reached: (pc) */

enum lb_event {
#define LB_EVENUM(name) LB_EV_##name,
  LB_EVENTDEF(LB_EVENUM)
#undef LB_EVENUM
  LB_EV__MAX
};

#define LB_STAGEDEF(_) _(app2app) _(analysis) _(insertion) _(cleanup)

enum lb_stage {
#define LB_STAGEENUM(name) LB_STAGE_##name,
  LB_STAGEDEF(LB_STAGEENUM)
#undef LB_STAGEENUM
  LB_STAGE__MAX
};

/* The stage of a bb handler registered without one. */
#define LB_STAGE_DEFAULT LB_STAGE_insertion

#endif
