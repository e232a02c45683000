/* One bug: an 8-byte read at offset 6 of a 13-byte block (bytes 6-13: byte
** 13 is past the end), unaligned: the compiled check's mask of the bytes
** read within four shadow groups (access.lua, on_access8). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <stdint.h>
int main(int argc, char **argv)
{
  unsigned char *p = malloc(13); /* alloc */
  uint64_t x;
  memset(p, 1, 13);
  (void)argv;
  __asm__ volatile("movq (%1), %0" : "=r"(x) : "r"(p + 5 + argc)); /* memcheck: heap-overflow */
  printf("%u\n", (unsigned)(x & 0xff));
  free(p);
  return 0;
}
