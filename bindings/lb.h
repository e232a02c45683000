/* lurk: the C side of the Lua API, as the engine sees it.
** Every entry point takes the Lua lock (handlers are serialized) and ends
** the run with file:line and a traceback if a script raises an error.
*/
#ifndef LURK_LB_H
#define LURK_LB_H
#include "../engine/lurk.h"

/* Create the engine's Lua state, run the scripts of the command line
** (opt.scripts: -e chunks, -t tools and the script, in order), then fire
** `init`. envp is the program's environment with lurk's variables taken out;
** it is copied for os.getenv. Call once, before takeover, on the main
** thread. A script error ends the run (status 1). */
void lb_start(char **envp);

#endif
