/* One bug: writes through a pointer to a dead frame (below the stack
** pointer, past the red zone), from a thread: each thread's own stack is
** checked. */
#include <pthread.h>
#include <stdio.h>
static char *volatile saved;
static void __attribute__((noinline)) keep(void)
{
  volatile char buf[1024];
  buf[0] = 1;
  saved = (char *)buf;
}
static void *run(void *arg)
{
  keep();
  saved[100] = 7; /* memcheck: below-sp */
  return arg;
}
int main(void)
{
  pthread_t t;
  pthread_create(&t, NULL, run, NULL);
  pthread_join(t, NULL);
  puts("done");
  return 0;
}
