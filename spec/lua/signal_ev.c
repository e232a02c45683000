/* signal_spec: 5 SIGUSR1 to a handler, then a fault caught by a SIGSEGV
** handler that siglongjmps out, then SIGTERM with the default action. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
static volatile int got;
static sigjmp_buf env;
static void usr1(int s) { (void)s; got++; }
static void segv(int s) { (void)s; siglongjmp(env, 1); }
int main(int argc, char **argv)
{
  signal(SIGUSR1, usr1);
  for (int i = 0; i < 5; i++) raise(SIGUSR1);
  printf("usr1 %d\n", got);
  signal(SIGSEGV, segv);
  if (!sigsetjmp(env, 1)) *(volatile int *)(uintptr_t)(argc * 8) = 1;
  printf("segv caught\n");
  fflush(stdout);
  if (argc > 1 && argv[1][0] == 't') raise(SIGTERM);
  return 0;
}
