/* bb_thr.c: two threads run the same asm loop (3000 and 5000 trips) for
** spec/bb_spec.lua's per-thread clean-call counts. Built -no-pie.
*/
#include <pthread.h>
#include <stdio.h>

long t_tloop(long n);

asm(".intel_syntax noprefix\n"
    ".globl t_tloop\n"
    "t_tloop: xor eax, eax\n"
    "t_tloop_body: add rax, 2\n"
    "  dec rdi\n"
    "  jnz t_tloop_body\n"
    "  ret\n"
    ".att_syntax prefix\n");

static void *worker(void *arg)
{
  return (void *)t_tloop((long)arg);
}

int main(void)
{
  pthread_t a, b;
  void *ra, *rb;
  pthread_create(&a, NULL, worker, (void *)3000L);
  pthread_create(&b, NULL, worker, (void *)5000L);
  pthread_join(a, &ra);
  pthread_join(b, &rb);
  printf("threads %ld %ld\n", (long)ra, (long)rb);
  return 0;
}
