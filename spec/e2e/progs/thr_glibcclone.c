// CFLAGS: -O2 -fno-stack-protector
/* glibc's clone() wrapper with CLONE_VM|SIGCHLD (no CLONE_THREAD): a child
 * process that shares the parent's memory, runs on an mmap'd stack, writes
 * its results into the parent's variables and exits with its function's
 * return value; the parent reaps it with waitpid. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define STACK (64 * 1024)
static volatile uint64_t shared[3];

static int child(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    uint64_t s = 7;
    for (uint64_t i = 0; i < 300000; i++) s = s * 6364136223846793005ull + i + id;
    shared[id] = s;          /* the parent sees this: CLONE_VM */
    return 40 + (int)id;     /* becomes the exit status */
}

int main(void)
{
    for (uintptr_t i = 0; i < 3; i++) {
        char *stk = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stk == MAP_FAILED) { perror("mmap"); return 1; }
        int pid = clone(child, stk + STACK, CLONE_VM | SIGCHLD, (void *)i);
        if (pid < 0) { perror("clone"); return 1; }
        int st;
        if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); return 1; }
        printf("child %lu: exited %d, wrote %016llx into the parent\n", (unsigned long)i,
               WIFEXITED(st) ? WEXITSTATUS(st) : -1, (unsigned long long)shared[i]);
        munmap(stk, STACK);
    }
    return 0;
}
