/* Parent and child enter lurk's engine at the same time after a fork:
 * fork_tls.
 * Each runs its own loop of system calls (every one leaves the code cache
 * for the engine, which then writes where to resume into the thread
 * block's read-only page). The two loops are translated after the fork,
 * so each side's blocks sit at addresses the other side's cache uses for
 * other code: a page shared by parent and child would resume one in the
 * other's code. Both print their sums; the parent waits for the child. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 200000

static long __attribute__((noinline)) child_loop(void) {
  long s = 0;
  for (long i = 0; i < N; i++) s += (getpid() != 0) + (i & 3);
  return s;
}

static long __attribute__((noinline)) parent_loop(void) {
  long s = 0;
  for (long i = 0; i < N; i++) s += (getppid() != 0) * 2 + (i & 1);
  return s;
}

int main(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p < 0) return 2;
  if (p == 0) {
    printf("child sum %ld\n", child_loop());
    return 0;
  }
  long s = parent_loop();
  int st = 0;
  if (waitpid(p, &st, 0) != p) return 3;
  printf("parent sum %ld, child exit %d\n", s, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return 0;
}
