/* No bug: threads on stacks the program allocated itself (malloc'd, from
** the brk heap or an mmap; mmap'd; a static array): the blocks, mappings
** and globals below such a stack are not dead frames. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static char *low_block;
static char pad[8192];                          /* (low_global past .data's page: in the */
static int low_global[64];                      /*  anonymous .bss mapping, with the stack) */
static char static_stack[256 * 1024] __attribute__((aligned(64)));

static void *work(void *arg)
{
  volatile char frame[256];
  memset((char *)frame, 3, sizeof frame);
  long s = frame[7];
  for (int i = 0; i < 64; i++) s += low_block[i] + low_global[i];  /* below this stack */
  *(long *)arg = s;
  return NULL;
}

static long run_on(void *stack, size_t size)
{
  pthread_attr_t a;
  pthread_t t;
  long r = 0;
  pthread_attr_init(&a);
  pthread_attr_setstack(&a, stack, size);
  pthread_create(&t, &a, work, &r);
  pthread_join(t, NULL);
  pthread_attr_destroy(&a);
  return r;
}

int main(void)
{
  low_block = malloc(64);
  low_global[0] = 1;
  pad[0] = 1;
  memset(low_block, 1, 64);
  size_t small = 128 * 1024, big = 1024 * 1024;
  void *s1 = malloc(small);                       /* from the brk heap */
  void *s2 = malloc(big);                         /* malloc's own mmap */
  void *s3 = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  long r = run_on(s1, small) + run_on(s2, big) + run_on(s3, big) + run_on(static_stack, sizeof static_stack);
  printf("%ld\n", r);
  munmap(s3, big);
  free(s2);
  free(s1);
  free(low_block);
  return 0;
}
