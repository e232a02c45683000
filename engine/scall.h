/* lurk: system calls the engine must see or own. */
#ifndef LURK_SCALL_H
#define LURK_SCALL_H
#include "thr.h"

/* Run the app's syscall described by t's machine context (number in the
** syscall register, resume pc in mctx.rip), with the engine's handling. */
void scall_handle(struct lurk_thread *t);
/* lurk is about to end with the process: print what must be printed. */
void scall_on_exit(int status);
/* The lock that keeps address-space calls and their syscall_post events
** in the kernel's order (held by the forking thread across fork). */
void scall_maps_lock(void);
void scall_maps_unlock(void);

#endif
