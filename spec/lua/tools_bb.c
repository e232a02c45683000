/* bbcount's test program: a loop whose blocks are known. Each of the n
** iterations runs two blocks: the one at 1: (test, jz) and then either
** inc, dec, jnz (odd rcx) or, at 2:, dec, jnz (even rcx). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
  long n = argc > 1 ? strtol(argv[1], 0, 10) : 1000, odd = 0;
  __asm__ volatile("mov %1, %%rcx\n"
                   "1:\n\t"
                   "test $1, %%cl\n\t"
                   "jz 2f\n\t"
                   "inc %0\n"
                   "2:\n\t"
                   "dec %%rcx\n\t"
                   "jnz 1b\n"
                   : "+r"(odd) : "r"(n) : "rcx", "cc");
  printf("%ld iterations, %ld odd\n", n, odd);
  return 0;
}
