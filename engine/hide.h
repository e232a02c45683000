/* lurk: what --early hides from the app (DynamoRIO's model): lurk's own
** mappings in /proc/self/maps and smaps, lurk's file descriptors in
** /proc/self/fd, and the descriptor slots lurk keeps at the top of the
** app's RLIMIT_NOFILE, which the app sees lowered by HIDE_FDS.
*/
#ifndef LURK_HIDE_H
#define LURK_HIDE_H
#include "lurk.h"

#define HIDE_FDS 32 /* descriptor slots lurk keeps */

/* --early, at boot: take the top HIDE_FDS slots under the soft limit. */
void hide_init(void);
/* Where lurk's descriptors go: the reserved slots with --early, else 1000. */
int hide_fd_floor(void);
/* Note fd as lurk's (listed nowhere the app looks), or no longer. */
void hide_fd_add(int fd);
void hide_fd_del(int fd);
int hide_fd_is(int fd);
/* The app's open/openat of path: 1 with *fd the result when the app is to
** read something else (/proc/self/maps and smaps without lurk's lines, the
** program for /proc/self/exe); 0: open the path itself. */
int hide_open(int dirfd, const char *path, int flags, long *fd);
/* The program's path, when the kernel's /proc/self/exe names lurk's
** launcher instead ("" otherwise). */
extern const char *hide_exe;
/* Does path name this process's exe link (/proc/self/exe, /proc/PID/exe,
** /proc/thread-self/exe)? */
int hide_exe_link(const char *path);
/* After the app's getdents64 on fd returned n bytes into buf: the entries
** of lurk's descriptors taken out of a /proc/self/fd listing. */
long hide_getdents(int fd, uint8_t *buf, long n);
/* The app's getrlimit/setrlimit/prlimit64 of RLIMIT_NOFILE for itself:
** res: the resource; old, new: the app's struct rlimit pointers (0 if
** none). Returns the syscall result, or 1 when not for lurk to handle. */
long hide_rlimit(int res, uint64_t old_addr, uint64_t new_addr);

#endif
