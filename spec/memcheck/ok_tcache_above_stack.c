/* No bug: a thread whose own stack (pthread_attr_setstack) lies just below
** the malloc arena it uses. At its exit glibc frees the thread's tcache
** (tcache_thread_shutdown, inlined into __malloc_arena_thread_freeres):
** a block malloc's wrapper never returned, a few hundred bytes above the
** thread's stack pointer, which is no invalid free of a stack address. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HEAP_MAX (64ul << 20) /* glibc's HEAP_MAX_SIZE on x86-64: arenas are aligned to it */
#define STACK (256 * 1024)

static void *work(void *arg)
{
  char *p = malloc(100); /* the thread's first malloc: an arena and a tcache */
  memset(p, 1, 100);
  *(uintptr_t *)arg = (uintptr_t)p;
  free(p);
  return NULL;
}

int main(void)
{
  uintptr_t where = 0, again = 0;
  pthread_t t;
  pthread_create(&t, NULL, work, &where);
  pthread_join(t, NULL);
  /* The next thread takes the arena the first one left; its stack goes
  ** right below the arena's heap when that range is free. */
  uintptr_t heap = where & ~(HEAP_MAX - 1);
  void *stk = mmap((void *)(heap - STACK), STACK, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (stk == MAP_FAILED)
    stk = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstack(&a, stk, STACK);
  pthread_create(&t, &a, work, &again);
  pthread_join(t, NULL);
  pthread_attr_destroy(&a);
  printf("done\n");
  return 0;
}
