/* One bug, in a forked child: reads a block the child freed. */
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void)
{
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int *p = malloc(8 * sizeof *p); /* alloc */
    p[2] = 5;
    free(p);
    int v = p[2]; /* memcheck: use-after-free */
    _exit(v == 5 ? 0 : 0);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("child %d\n", WEXITSTATUS(st));
  return 0;
}
