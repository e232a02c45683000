/* spec/callgrind_spec.lua: tail calls (built -O2: `jmp` into the callee's
** first instruction), direct and through a function pointer, and a
** conditional tail call. Prints one number. */
#include <stdio.h>
#include <stdlib.h>

#define NI __attribute__((noinline))

static volatile int sink;

NI static int work(int x)
{
  int s = 0;
  for (int i = 0; i < x; i++) s += i * sink + (i ^ x);
  return s;
}

NI static int tail1(int x) { return work(x + 3); }              /* jmp work */

NI static int tail2(int (*f)(int), int x) { return f(x * 2); }   /* jmp *%rdi */

NI static int maybe(int x)
{
  if (x & 1) return work(x);                                    /* conditional tail */
  return x + 1;
}

NI static int chain(int x) { return tail1(x + 1); }              /* tail to a tail */

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 300;
  long r = 0;
  for (int i = 0; i < n; i++)
    r += tail1(i) + tail2(work, i) + maybe(i) + chain(i);
  printf("%ld\n", r);
  return 0;
}
