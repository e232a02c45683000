/* lurk: lurk attach PID, the launcher's side (engine/attach_client.c). */
#ifndef LURK_ATTACH_CLIENT_H
#define LURK_ATTACH_CLIENT_H
#include <stdint.h>

enum { ATTACH_OK = 0, ATTACH_NOPROC = 1, ATTACH_EPERM = 2, ATTACH_FAILED = 3 };

struct attach_result {
  int nthreads;         /* threads taken over */
  int nkept;            /* threads lurk's already (inside liblurk.so: after a detach) */
  int64_t stopped_us;   /* from the start until every thread was stopped */
  int64_t total_us;     /* until the last thread went on under lurk */
  char err[600];        /* why not (no "lurk: " prefix) */
};

/* Take over every thread of pid with the engine at lib (liblurk.so) and the
** options opts (opt.h encoding); ATTACH_OK or why not (res->err). On a
** failure before the engine started, the process goes on as it was. */
int attach_client(long pid, const char *lib, const char *opts, struct attach_result *res);

#endif
