/* spec/early_spec.lua's program: prints its arguments; -DTHREADS starts
** four threads; -DINITARR has a preinit_array and an init_array function
** and an IFUNC, whose code ld.so runs before main (lurk --early sees it). */
#include <stdio.h>
#ifdef THREADS
#include <pthread.h>

static void *run(void *a)
{
  long s = 0;
  for (long i = 0; i < 100000; i++) s += i % ((long)a + 2);
  return (void *)s;
}
#endif

#ifdef INITARR
static int order;
__attribute__((noinline)) void early_preinit(void) { order = order * 10 + 1; }
__attribute__((noinline)) void early_init(void) { order = order * 10 + 2; }
__attribute__((section(".preinit_array"), used)) static void (*pre)(void) = early_preinit;
__attribute__((section(".init_array"), used)) static void (*ini)(void) = early_init;
static int impl(int x) { return x + order; }
int early_ifunc(int x) __attribute__((ifunc("early_resolver")));
__attribute__((noinline)) void *early_resolver(void) { return (void *)impl; }
#endif

int main(int argc, char **argv)
{
  printf("hello %d", argc);
  for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
  printf("\n");
#ifdef THREADS
  pthread_t t[4];
  for (long i = 0; i < 4; i++) pthread_create(&t[i], 0, run, (void *)i);
  for (long i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    printf("thread %ld: %ld\n", i, (long)r);
  }
#endif
#ifdef INITARR
  printf("order %d ifunc %d\n", order, early_ifunc(0));
#endif
  return 0;
}
