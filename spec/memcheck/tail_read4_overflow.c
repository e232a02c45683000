/* One bug: a 4-byte read at offset 11 of a 13-byte block (bytes 11-14:
** bytes 13 and 14 are past the end). The access spans two shadow groups,
** the second only partly addressable: the compiled check tests the bytes
** read, not the groups (access.lua, on_access4). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
int main(int argc, char **argv)
{
  unsigned char *p = malloc(13); /* alloc */
  unsigned x;
  memset(p, 1, 13);
  (void)argv;
  __asm__ volatile("movl (%1), %0" : "=r"(x) : "r"(p + 10 + argc)); /* memcheck: heap-overflow */
  printf("%u\n", x & 0xff);
  free(p);
  return 0;
}
