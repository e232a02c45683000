/* No attack: the control transfers shepherd must allow -- setjmp/longjmp
 * out of nested calls, signal handlers (returning through sa_restorer,
 * and longjmp'ing out of one), threads, makecontext/swapcontext, qsort's
 * callback, a function pointer table. Prints what it did; shepherd must
 * report no violation, in both return modes. */
#include <setjmp.h>
#include <signal.h>
#include <pthread.h>
#include <ucontext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static jmp_buf jb;
static sigjmp_buf sjb;
static volatile int depth_reached, handled;

/* Recurses n levels, then longjmps back to main. */
__attribute__((noinline)) static void deep(int n) {
  if (n == 0) longjmp(jb, 7);
  deep(n - 1);
  depth_reached++;   /* never */
}

static void on_usr1(int sig) { handled += sig; }
static void on_alrm(int sig) { (void)sig; siglongjmp(sjb, 1); }

static void *worker(void *arg) {
  long s = 0;
  for (long i = 0; i < 1000; i++) s += i * (long)(intptr_t)arg;
  return (void *)s;
}

static ucontext_t uc_main, uc_co;
static int co_steps;
static void coroutine(void) {
  for (int i = 0; i < 3; i++) { co_steps++; swapcontext(&uc_co, &uc_main); }
}

static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
static int add(int a, int b) { return a + b; }
static int mul(int a, int b) { return a * b; }

int main(void) {
  int r = setjmp(jb);
  if (r == 0) deep(50);
  printf("longjmp: %d\n", r);

  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1);
  printf("signal: %d\n", handled);
  if (sigsetjmp(sjb, 1) == 0) { signal(SIGALRM, on_alrm); raise(SIGALRM); }
  puts("siglongjmp: out of a handler");

  pthread_t t[4];
  long sum = 0;
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < 4; i++) { void *v; pthread_join(t[i], &v); sum += (long)v; }
  printf("threads: %ld\n", sum);

  static char stack[64 * 1024];
  getcontext(&uc_co);
  uc_co.uc_stack.ss_sp = stack;
  uc_co.uc_stack.ss_size = sizeof stack;
  uc_co.uc_link = &uc_main;
  makecontext(&uc_co, coroutine, 0);
  for (int i = 0; i < 3; i++) swapcontext(&uc_main, &uc_co);
  printf("coroutine: %d steps\n", co_steps);

  int v[] = { 5, 3, 9, 1 };
  qsort(v, 4, sizeof v[0], cmp);
  int (*ops[])(int, int) = { add, mul };
  printf("qsort: %d %d %d %d; ops: %d %d\n", v[0], v[1], v[2], v[3], ops[0](6, 7), ops[1](6, 7));
  return 0;
}
