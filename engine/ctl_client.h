/* lurk: the control channel's client (engine/ctl_client.c, in the launcher). */
#ifndef LURK_CTL_CLIENT_H
#define LURK_CTL_CLIENT_H

/* lurk nudge PID CODE: run CODE in pid, print its output and results;
** 0, or 1 on an error (the error on stderr). */
int ctl_client_nudge(long pid, const char *code);
/* Does pid's channel answer? (a detached engine's closes without a word) */
int ctl_client_alive(long pid);
/* The interactive prompt into pid (what: the program, for the banner);
** returns when the user leaves it (ctrl-D, .detach) or the channel closes. */
int ctl_client_repl(long pid, const char *what);
/* Set by lurk attach: ctrl-D at the prompt is .detach. */
extern int ctl_client_eof_detach;

#endif
