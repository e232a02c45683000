/* inscount_spec: a hot loop and many direct and indirect calls in the main
** executable, no rep-prefixed instruction (callgrind counts those per
** iteration, lurk once per execution). Built -O1 -fno-inline -no-pie. */
#include <stdio.h>
#include <stdlib.h>

static int sq(int x) { return x * x; }
static int cube(int x) { return x * x * x; }
static int (*const ops[2])(int) = { sq, cube };

static long f(long n)
{
  long s = 0;
  for (long i = 0; i < n; i++) {
    s += sq((int)(i & 1023));
    if (i % 7 == 0) s ^= ops[i & 1]((int)(i & 63));
  }
  return s;
}

int main(int argc, char **argv)
{
  int k = argc > 1 ? atoi(argv[1]) : 50;
  long t = 0;
  for (int j = 0; j < k; j++) t += f(20000 + j);
  printf("%ld\n", t);
  return 0;
}
