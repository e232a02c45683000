/* A signal sent to a child right after fork (before and while it execs or
** runs) must reach it: the parent forks, kills at once, and reports how
** each child ended. Lurk used to wipe it with the child's copy of the
** parent's signal queue. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
  int killed = 0, other = 0;
  for (int i = 0; i < 60; i++) {
    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) {
      if (i % 2) execl("/bin/sleep", "sleep", "5", (char *)0);
      sleep(5);
      _exit(0);
    }
    kill(p, SIGTERM);
    int st;
    waitpid(p, &st, 0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) killed++;
    else other++;
  }
  printf("killed by SIGTERM: %d, other: %d\n", killed, other);
  return 0;
}
