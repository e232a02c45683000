/* lurk: the control channel (lurk nudge, lurk repl). A Unix socket
** /tmp/lurk-UID/PID (directory mode 0700, peer uid checked) served by a
** thread of lurk's own; requests run Lua through the bindings' hook, under
** the Lua lock, like event handlers. Off unless opt.ctl (lurk run --ctl).
*/
#ifndef LURK_CTL_H
#define LURK_CTL_H
#include "lurk.h"

/* -- Protocol (shared with the client, engine/ctl_client.c) ----------------
** A message is a 4-byte little-endian length n (1 <= n <= CTL_MAX), then n
** bytes: a type byte and the payload. Client to target: */
#define CTL_EVAL 'E'      /* a REPL line: expression or statements; may be incomplete */
#define CTL_NUDGE 'N'     /* a whole chunk (lurk nudge) */
#define CTL_LOAD 'L'      /* run a script file (%load FILE); "" reloads every script
                          ** loaded so far (%reload), "@FILE" reloads FILE */
#define CTL_COMPLETE 'C'  /* completions of the word in the payload */
#define CTL_INTR 'I'      /* interrupt the request in progress (ctrl-C) */
/* Target to client: zero or more CTL_OUT, then one of the other three. */
#define CTL_OUT 'O'       /* something the request printed */
#define CTL_OK 'R'        /* done: the results, pretty-printed */
#define CTL_ERR 'X'       /* failed: message and traceback (or a protocol error) */
#define CTL_MORE 'M'      /* the chunk is incomplete: send it again with more lines */
#define CTL_MAX (16u << 20)
#define CTL_DIR_FMT "/tmp/lurk-%u"   /* then "/PID" */

/* Start the channel: create the directory and the socket, then the thread.
** At takeover, after the Lua state exists (inj.c). */
void ctl_start(void);
/* In a fork child (engine locks released): drop the parent's channel and
** start the child's own, named by its pid. */
void ctl_after_fork(void);
/* After a detach, before the channel starts again (lurk attach): wait
** until the detached engine's channel thread has closed its socket and
** ended; 0 if it has not after 2 s. */
int ctl_wait_gone(void);
/* The process is ending: remove the socket file. */
void ctl_stop(void);

/* Filled by the bindings at start (the engine never calls Lua by name):
** handle one request of type kind with payload p[0..n), replying with
** ctl_send. Runs on the channel's thread. */
struct ctl_hooks {
  void (*request)(int kind, const char *p, size_t n);
};
extern struct ctl_hooks ctl_hooks;

/* Send one message to the client of the request in progress (a no-op once
** the client is gone). */
void ctl_send(int kind, const char *p, size_t n);
/* During a request: has the client asked to interrupt it, or gone away?
** Looks at the connection without waiting (one poll). */
int ctl_interrupted(void);
/* Is the calling thread the channel's? */
int ctl_is_self(void);
/* Is uid allowed to talk to a target running as self_uid? (the peer check) */
static inline int ctl_peer_ok(uint32_t uid, uint32_t self_uid) { return uid == self_uid; }

#endif
