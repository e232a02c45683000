/* opcodes' test program: a loop of N iterations, each running one popcnt
** and one pdep (BMI2) or crc32 (SSE4.2): neither libc nor ld.so has them.
** Usage: tools_ops N pdep|crc32 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
  long n = argc > 1 ? strtol(argv[1], 0, 10) : 1000;
  int crc = argc > 2 && strcmp(argv[2], "crc32") == 0;
  unsigned long acc = 0, t, m = 0xff00ff00ff;
  for (long i = 0; i < n; i++) {
    if (crc) __asm__ volatile("mov %1, %0\n\tcrc32q %2, %0" : "=&r"(t) : "r"(acc), "r"((unsigned long)i));
    else __asm__ volatile("pdep %2, %1, %0" : "=r"(t) : "r"(acc + i), "r"(m));
    __asm__ volatile("popcnt %1, %0" : "=r"(m) : "r"(t ^ m));
    acc += t + m;
  }
  printf("%lu\n", acc);
  return 0;
}
