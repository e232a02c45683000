/* spec/callgrind_spec.lua's target (built -O0 -g): a known call graph with
** recursion (fib), several callers of one function (leaf), calls through
** function pointers (apply), a callback from libc (qsort's cmp), a longjmp
** out of nested calls (deep) and two threads (worker). No rep-string
** instruction in its own functions. Prints one number. */
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

static jmp_buf env;

static int leaf(int x) { return x * 3 + 1; }

static int fib(int n) { return n < 2 ? leaf(n) : fib(n - 1) + fib(n - 2); }

static int twice(int x) { return leaf(x) + leaf(x + 1); }

static int apply(int (*f)(int), int x) { return f(x); }

static int cmp(const void *a, const void *b)
{
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int sum(const int *v, int n)
{
  int s = 0;
  for (int i = 0; i < n; i++) s += leaf(v[i]);
  return s;
}

static int deep(int n)
{
  int s = leaf(n);
  if (n == 0) longjmp(env, 7);
  return s + deep(n - 1);
}

static void *worker(void *arg)
{
  long k = (long)arg;
  long s = 0;
  for (int i = 0; i < 200; i++) s += apply(leaf, i) + fib(8 + (int)k);
  return (void *)s;
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 20;
  int v[200];
  for (int i = 0; i < 200; i++) v[i] = (i * 7919) % 200;
  qsort(v, 200, sizeof v[0], cmp);
  int r = fib(n) + twice(n) + apply(twice, n) + apply(leaf, n) + sum(v, 200);
  for (int i = 0; i < 50; i++) {
    int j = setjmp(env);
    if (j == 0) deep(30);
    r += j;
  }
  pthread_t t[2];
  for (long k = 0; k < 2; k++) pthread_create(&t[k], NULL, worker, (void *)k);
  for (int k = 0; k < 2; k++) {
    void *res;
    pthread_join(t[k], &res);
    r += (int)(long)res;
  }
  printf("%d\n", r);
  return 0;
}
