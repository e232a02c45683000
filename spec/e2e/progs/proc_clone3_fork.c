// CFLAGS: -O2
/* clone3 (syscall 435) called directly through syscall() as a fork: no
 * CLONE_VM, exit_signal SIGCHLD, CLONE_PARENT_SETTID; the child runs on a
 * copy of the parent's stack, prints, and exits; the parent waits.  The
 * engine must not turn this into ENOSYS: glibc's fork falls back, this
 * program does not. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

int main(void)
{
    static int ptid;
    int local = 5;
    for (int round = 0; round < 3; round++) {
        struct clone_args ca;
        memset(&ca, 0, sizeof ca);
        ca.flags = CLONE_PARENT_SETTID;
        ca.parent_tid = (uintptr_t)&ptid;
        ca.exit_signal = SIGCHLD;
        fflush(stdout);
        long pid = syscall(SYS_clone3, &ca, sizeof ca);
        if (pid < 0) { printf("clone3 failed: %s\n", strerror(errno)); return 1; }
        if (pid == 0) {
            local += 100;                 /* the child's own copy */
            printf("child %d: local=%d\n", round, local);
            fflush(stdout);
            _exit(20 + round);
        }
        int st;
        if (waitpid((pid_t)pid, &st, 0) != pid) { perror("waitpid"); return 1; }
        printf("parent: child %d exited %d, parent tid %s, local still %d\n", round,
               WIFEXITED(st) ? WEXITSTATUS(st) : -1, ptid == pid ? "set" : "NOT set", local);
    }
    return 0;
}
