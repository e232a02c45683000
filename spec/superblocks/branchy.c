/* spec/superblocks_spec.lua: loops full of conditional branches
 * whose fall-through paths make superblocks. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static long collatz(long n)
{
  long steps = 0;
  while (n != 1) {
    if (n & 1) n = 3 * n + 1;
    else n /= 2;
    if (n > 1000000) steps += 2;
    else steps++;
  }
  return steps;
}

int main(int argc, char **argv)
{
  long top = argc > 1 ? atol(argv[1]) : 3000, sum = 0;
  for (long i = 1; i < top; i++) sum += collatz(i) ^ (i & 7 ? 1 : 0);
  printf("%ld\n", sum);
  return 0;
}
