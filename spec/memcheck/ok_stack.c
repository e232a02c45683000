/* No bug: the stack used every legitimate way, none of it below the
** stack pointer: alloca, deep recursion, longjmp out of nested frames, a
** signal handler on the same stack and on an alternate one (static and
** malloc'd), a thread writing a result into its creator's frame, a
** coroutine on a malloc'd stack (swapcontext), the red zone of a leaf. */
#define _GNU_SOURCE
#include <alloca.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

static jmp_buf env;
static volatile int *outer;
static volatile long hsum;

static int __attribute__((noinline)) deep(int n)
{
  volatile char pad[200];
  pad[0] = (char)n;
  if (n == 0) longjmp(env, 1);
  return deep(n - 1) + pad[0];
}

static long __attribute__((noinline)) recurse(int n)
{
  volatile long a[16];
  a[n % 16] = n;
  return n ? recurse(n - 1) + a[n % 16] : 0;
}

static void on_sig(int sig, siginfo_t *si, void *uc)
{
  volatile char local[512];
  memset((char *)local, sig, sizeof local);
  hsum += local[100] + si->si_signo + (uc != NULL) + (outer ? outer[3] : 0);
}

static void *worker(void *arg)
{
  int *res = arg;
  volatile char mine[4096];
  memset((char *)mine, 1, sizeof mine);
  *res = mine[17] + 41; /* into main's frame */
  return NULL;
}

static ucontext_t uc_main, uc_co;
static volatile int co_val;
static void co(void)
{
  volatile char buf[300];
  buf[299] = 5;
  co_val = buf[299];
  swapcontext(&uc_co, &uc_main);
}

static int __attribute__((noinline)) leaf(int x)
{
  /* locals in the red zone: no sub rsp in a leaf at -O0 */
  volatile int a = x, b = a * 2, c = b + 1;
  return c;
}

static char alt_static[65536];

int main(void)
{
  int locals[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
  outer = locals;
  long total = 0;

  for (int i = 1; i < 50; i++) {
    char *p = alloca(i * 64);
    memset(p, i, i * 64);
    total += p[i * 64 - 1];
  }
  total += recurse(2000);
  if (!setjmp(env)) deep(30);
  else total += 1;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);                       /* on this stack */

  stack_t ss = { .ss_sp = alt_static, .ss_size = sizeof alt_static };
  sigaltstack(&ss, NULL);
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGUSR2, &sa, NULL);
  raise(SIGUSR2);                       /* on the static alternate stack */
  ss.ss_sp = malloc(65536);
  ss.ss_size = 65536;
  sigaltstack(&ss, NULL);
  raise(SIGUSR2);                       /* on a malloc'd one */
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, NULL);
  free(ss.ss_sp);

  int res = 0;
  pthread_t t;
  pthread_create(&t, NULL, worker, &res);
  pthread_join(t, NULL);

  char *co_stack = malloc(65536);
  getcontext(&uc_co);
  uc_co.uc_stack.ss_sp = co_stack;
  uc_co.uc_stack.ss_size = 65536;
  uc_co.uc_link = &uc_main;
  makecontext(&uc_co, co, 0);
  swapcontext(&uc_main, &uc_co);
  free(co_stack);

  printf("%ld %ld %d %d %d\n", total, hsum, res, co_val, leaf(4));
  return 0;
}
