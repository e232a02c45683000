/* lurk: the C side of the Lua API. */
#ifndef LURK_LB_H
#define LURK_LB_H
#include "../engine/lurk.h"

/* Create the engine's Lua state and run a chunk given with -e, before
** takeover. A syntax or runtime error ends the run (message + traceback). */
void lb_run_eval(const char *code);

#endif
