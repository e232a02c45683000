/* lurk: the control channel's client (engine/ctl_client.c, in the launcher). */
#ifndef LURK_CTL_CLIENT_H
#define LURK_CTL_CLIENT_H

/* lurk nudge PID CODE: run CODE in pid, print its output and results;
** 0, or 1 on an error (the error on stderr). */
int ctl_client_nudge(long pid, const char *code);
/* The interactive prompt into pid (what: the program, for the banner);
** returns when the user leaves it (ctrl-D, .detach) or the channel closes. */
int ctl_client_repl(long pid, const char *what);

#endif
