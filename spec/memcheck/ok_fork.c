/* No bug: parent and forked child each allocate, use and free. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void)
{
  char *shared = strdup("before fork");
  fflush(stdout);
  pid_t pid = fork();
  char *mine = malloc(100);
  strcpy(mine, pid == 0 ? "child" : "parent");
  if (pid == 0) {
    int r = (int)strlen(shared) + (int)strlen(mine);
    free(mine);
    free(shared);
    _exit(r);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("%s %d\n", mine, WEXITSTATUS(st));
  free(mine);
  free(shared);
  return 0;
}
