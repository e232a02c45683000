/* Target of spec/live_spec.lua (lurk.flush, lurk.stop/cont, detach).
** live_prog spin GOFILE: 4 threads spin in spin_step() without a system
**   call until GOFILE exists (the main thread polls for it); each checks
**   its own result and the program prints "spin ok".
** live_prog one GOFILE: one thread (the main one) spins in spin_step(),
**   looking for GOFILE every 2^20 steps; prints how the result checks.
** live_prog churn GOFILE: threads are created and joined all the time (4
**   at once, each checks its own spin_step chain) until GOFILE exists;
**   prints "churn ok" if every one checked; status 4.
** live_prog mix GOFILE: 8 threads: 2 compute a fixed hash (again and again),
**   2 block in read on a pipe, 2 wait on a condition variable (futex), 2
**   sleep in nanosleep (again and again); once GOFILE exists the main thread
**   writes the pipe and signals the condition, and the others end. Prints a
**   checksum of all of it (the same however long it ran); status 7.
*/
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static const char *gofile;

__attribute__((noinline)) uint64_t spin_step(uint64_t x) { return x * 6364136223846793005ull + 1442695040888963407ull; }

static void *spinner(void *arg)
{
  uint64_t x = (uintptr_t)arg, n = 0;
  while (!stop) { x = spin_step(x); n++; }
  uint64_t y = (uintptr_t)arg;
  for (uint64_t i = 0; i < n; i++) y = spin_step(y);
  return (void *)(uintptr_t)(x == y);
}

static void nap(long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

static void wait_go(void)
{
  while (access(gofile, F_OK) != 0) nap(10);
}

/* -- mix ------------------------------------------------------------------ */

static int pipefd[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;
static volatile int done;
static uint64_t results[8];

static void *computer(void *arg)
{
  uintptr_t i = (uintptr_t)arg;
  uint64_t h;
  do {
    h = 1469598103934665603ull + i;
    for (int r = 0; r < 3000000; r++) h = (h ^ (uint64_t)r) * 1099511628211ull;
  } while (!done);
  results[i] = h;
  return NULL;
}

static void *reader(void *arg)
{
  uintptr_t i = (uintptr_t)arg;
  char c;
  ssize_t n = read(pipefd[0], &c, 1);
  results[i] = n == 1 ? (uint64_t)c : 0;
  return NULL;
}

static void *waiter(void *arg)
{
  uintptr_t i = (uintptr_t)arg;
  pthread_mutex_lock(&mu);
  while (!go) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  results[i] = 1000 + i;
  return NULL;
}

static void *sleeper(void *arg)
{
  uintptr_t i = (uintptr_t)arg;
  uint64_t s = 0;
  for (int k = 0; k < 60 || !done; k++) { nap(5); if (k < 60) s += (uint64_t)k * i; }
  results[i] = s;
  return NULL;
}

static int mix(void)
{
  pthread_t th[8];
  void *(*fn[8])(void *) = { computer, computer, reader, reader, waiter, waiter, sleeper, sleeper };
  if (pipe(pipefd)) return 1;
  for (uintptr_t i = 0; i < 8; i++) pthread_create(&th[i], NULL, fn[i], (void *)i);
  wait_go();
  done = 1;
  if (write(pipefd[1], "ab", 2) != 2) return 1;
  pthread_mutex_lock(&mu);
  go = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  uint64_t sum = 0;
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    if (i != 2 && i != 3) sum = sum * 31 + results[i];
  }
  /* the readers got one byte each, in either order */
  printf("mix %llx %llx\n", (unsigned long long)sum,
         (unsigned long long)(results[2] + results[3]));
  return 7;
}

static void *churner(void *arg)
{
  uint64_t x = (uintptr_t)arg, y = x;
  for (int i = 0; i < 20000; i++) x = spin_step(x);
  for (int i = 0; i < 20000; i++) y = y * 6364136223846793005ull + 1442695040888963407ull;
  return (void *)(uintptr_t)(x == y);
}

static int churn(void)
{
  int ok = 1;
  uintptr_t k = 0;
  do {
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, churner, (void *)++k);
    for (int i = 0; i < 4; i++) {
      void *r;
      pthread_join(th[i], &r);
      ok &= (int)(uintptr_t)r;
    }
  } while (access(gofile, F_OK) != 0);
  printf("churn %s\n", ok ? "ok" : "BAD");
  return 4;
}

int main(int argc, char **argv)
{
  if (argc != 3) { fprintf(stderr, "usage: live_prog spin|mix GOFILE\n"); return 2; }
  gofile = argv[2];
  if (!strcmp(argv[1], "mix")) return mix();
  if (!strcmp(argv[1], "churn")) return churn();
  if (!strcmp(argv[1], "one")) {
    uint64_t x = 1, n = 0;
    do {
      for (int k = 0; k < (1 << 20); k++) { x = spin_step(x); n++; }
    } while (access(gofile, F_OK) != 0);
    uint64_t y = 1;
    for (uint64_t i = 0; i < n; i++) y = spin_step(y);
    printf("one %s\n", x == y ? "ok" : "BAD");
    return 3;
  }
  pthread_t th[4];
  for (uintptr_t i = 0; i < 4; i++) pthread_create(&th[i], NULL, spinner, (void *)(i + 1));
  wait_go();
  stop = 1;
  int ok = 1;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(th[i], &r);
    ok &= (int)(uintptr_t)r;
  }
  printf("spin %s\n", ok ? "ok" : "BAD");
  return 0;
}
