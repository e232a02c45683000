/* lurk: new threads and processes (clone, clone3, fork, vfork). */
#ifndef LURK_PROC_H
#define LURK_PROC_H
#include "thr.h"

/* The app's clone/clone3/fork/vfork (nr) from t's context. Every new thread
** starts in the code cache; a child process keeps the engine. */
uint64_t proc_clone(struct lurk_thread *t, long nr);

#endif
