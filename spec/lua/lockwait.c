/* Two threads make the same system call at once, after a barrier (the
** lock-contention case of events_spec: the tool's handler holds lurk's
** Lua lock long enough for the other thread to wait on it). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_barrier_t go;

static void *run(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&go);
  getppid();
  return NULL;
}

int main(void)
{
  pthread_t t[2];
  pthread_barrier_init(&go, NULL, 2);
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, run, NULL);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  puts("done");
  return 0;
}
