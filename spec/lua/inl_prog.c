/* Program for spec/inline_spec.lua: deterministic work in the main
** executable, in phases separated by write(2) calls, in threads, or in a
** forked child (argv[1]: "phases", "threads", "fork"), or forked while a
** thread that has worked waits on a pipe ("threadfork": the child starts
** with that thread's work done and no thread running). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long sink;

static __attribute__((noinline)) long step(long x) { return (x * 7 + 3) % 1013; }

static __attribute__((noinline)) void work(long n)
{
  long s = 0;
  for (long i = 0; i < n; i++) {
    s += step(i);
    if (s & 1) s ^= 5;
  }
  sink = s;
}

static void *thread_fn(void *arg)
{
  work((long)arg);
  return NULL;
}

static int done_fd[2], go_fd[2];

/* Work, say so, then wait for the word to end. */
static void *waiting_fn(void *arg)
{
  char c;
  work((long)arg);
  if (write(done_fd[1], "d", 1) != 1 || read(go_fd[0], &c, 1) != 1) exit(4);
  return NULL;
}

static void say(const char *s) { if (write(1, s, strlen(s)) < 0) exit(3); }

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "phases";
  if (!strcmp(mode, "phases")) {
    for (int p = 1; p <= 4; p++) {
      work(20000L * p);
      say("phase\n");
    }
  } else if (!strcmp(mode, "threads")) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_fn, (void *)(100000 * (i + 1)));
    work(50000);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    say("joined\n");
  } else if (!strcmp(mode, "fork")) {
    work(30000);
    pid_t pid = fork();
    if (pid == 0) {
      work(70000);
      _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    work(10000);
    say(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "child ok\n" : "child failed\n");
  } else if (!strcmp(mode, "threadfork")) {
    pthread_t t;
    char c;
    if (pipe(done_fd) || pipe(go_fd)) return 3;
    pthread_create(&t, NULL, waiting_fn, (void *)60000);
    if (read(done_fd[0], &c, 1) != 1) return 3;
    pid_t pid = fork();
    if (pid == 0) {
      work(20000);
      _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (write(go_fd[1], "g", 1) != 1) return 3;
    pthread_join(t, NULL);
    say(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "child ok\n" : "child failed\n");
  } else {
    return 2;
  }
  return 0;
}
