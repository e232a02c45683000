/* Call stacks through code built without frame pointers (-O2
** -fomit-frame-pointer), through libc calling back (qsort), and through a
** call to a noreturn function that ends its caller (the return address is
** the next function's first byte), and through a signal frame (a handler
** runs on top of the raise that sent it). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

volatile int sink;

__attribute__((noinline)) int leaf(int x)
{
  sink += x;
  return sink * 3;
}

__attribute__((noinline)) static int mid(int x)
{
  int r = leaf(x + 1);
  sink += r;
  return r + 1;
}

__attribute__((noinline)) int top(int x)
{
  int r = mid(x * 2);
  sink ^= r;
  return r;
}

static int cmp(const void *a, const void *b)
{
  int x = *(const int *)a, y = *(const int *)b;
  sink++;
  return (x > y) - (x < y);
}

__attribute__((noinline)) static void on_usr1(int sig) { sink += sig; }

__attribute__((noinline)) int signaller(int x)
{
  raise(SIGUSR1);
  return x + sink;
}

__attribute__((noreturn, noinline)) static void finish(int code)
{
  fflush(stdout);
  _exit(code + sink % 1);
}

__attribute__((noinline)) static void wrap_up(int code)
{
  sink++;
  finish(code);
}

__attribute__((noinline)) int after_wrap_up(int x) { return x + sink; }

int main(int argc, char **argv)
{
  (void)argv;
  int v[4] = { 3, 1, 2, argc };
  printf("%d\n", top(argc));
  qsort(v, 4, sizeof v[0], cmp);
  signal(SIGUSR1, on_usr1);
  v[3] = signaller(v[3]) - sink;
  printf("%d %d %d %d\n", v[0], v[1], v[2], v[3]);
  wrap_up(after_wrap_up(argc) - argc - sink);
}
