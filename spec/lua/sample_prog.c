/* sampling spec: CPU time spent almost all in hot(); with "threads" in 4
** threads; with "fork" in a forked child too; with "rtsig" the program
** sends itself SIGRTMAX (the sampling signal) under its own handler; with
** "ignore" it ignores SIGRTMAX. Output is deterministic. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile double sink;
static volatile int got;

__attribute__((noinline)) double hot(long n)
{
  double s = 0;
  for (long i = 0; i < n; i++) s += (double)i * 0.5;
  return s;
}

static void *worker(void *arg)
{
  (void)arg;
  sink += hot(150000000);
  return NULL;
}

static void on_rt(int s) { (void)s; got++; }

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "threads")) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("threads done\n");
    return 0;
  }
  if (!strcmp(mode, "fork")) {
    pid_t p = fork();
    sink += hot(150000000);
    if (p == 0) { printf("child done\n"); fflush(stdout); _exit(3); }
    int st;
    waitpid(p, &st, 0);
    printf("parent done, child status %d\n", WEXITSTATUS(st));
    return 0;
  }
  if (!strcmp(mode, "rtsig")) signal(SIGRTMAX, on_rt);
  if (!strcmp(mode, "ignore")) signal(SIGRTMAX, SIG_IGN);
  sink += hot(600000000);
  if (!strcmp(mode, "rtsig")) {
    for (int i = 0; i < 3; i++) raise(SIGRTMAX);
    printf("own signals %d\n", got);
  }
  printf("done\n");
  return 0;
}
