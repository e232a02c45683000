/* countcalls' test program: two threads make K direct calls and M indirect
** calls (through a function pointer) each. Usage: tools_calls K M
** Build with -O1 -fno-inline: every call in the loops stays a call. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long K, M;

static __attribute__((noinline)) long direct(long x)
{
  __asm__ volatile("" : "+r"(x));
  return x + 1;
}

static __attribute__((noinline)) long indirect(long x)
{
  __asm__ volatile("" : "+r"(x));
  return x ^ 3;
}

static long (*volatile fp)(long) = indirect;

static void *worker(void *arg)
{
  long s = (long)arg;
  for (long i = 0; i < K; i++) s = direct(s);
  for (long i = 0; i < M; i++) s = fp(s);
  return (void *)s;
}

int main(int argc, char **argv)
{
  pthread_t t[2];
  void *r[2];
  K = argc > 1 ? strtol(argv[1], 0, 10) : 1000;
  M = argc > 2 ? strtol(argv[2], 0, 10) : 100;
  for (int i = 0; i < 2; i++) pthread_create(&t[i], 0, worker, (void *)(long)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], &r[i]);
  printf("%ld %ld\n", (long)r[0], (long)r[1]);
  return 0;
}
