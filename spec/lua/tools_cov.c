/* coverage's test program: main, a thread running thread_fn, and with the
** argument "fork" a child that runs child_only (which the parent never
** runs). Usage: tools_cov [fork] */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static __attribute__((noinline)) long child_only(long x)
{
  for (int i = 0; i < 10; i++) x = x * 3 + i;
  return x;
}

static void *thread_fn(void *arg)
{
  long x = (long)arg;
  for (int i = 0; i < 100; i++) x += i & 1 ? i : -i;
  return (void *)x;
}

int main(int argc, char **argv)
{
  pthread_t t;
  void *r;
  pthread_create(&t, 0, thread_fn, (void *)7L);
  pthread_join(t, &r);
  printf("thread %ld\n", (long)r);
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "fork") == 0) {
    pid_t p = fork();
    if (p == 0) {
      printf("child %ld\n", child_only(1));
      fflush(stdout);
      _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    printf("parent %d\n", WEXITSTATUS(st));
  }
  return 0;
}
