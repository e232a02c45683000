/* One bug: a 16-byte read at offset 2 of a 17-byte block (bytes 2-17: byte
** 17 is past the end), unaligned: the compiled check's masks of the bytes
** read in two 16-byte windows of shadow (access.lua, on_access16). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
int main(int argc, char **argv)
{
  unsigned char *p = malloc(17); /* alloc */
  unsigned char out[16];
  memset(p, 1, 17);
  (void)argv;
  __asm__ volatile("movdqu (%1), %%xmm0\n\tmovdqu %%xmm0, (%0)" : : "r"(out), "r"(p + 1 + argc) : "xmm0", "memory"); /* memcheck: heap-overflow */
  printf("%u\n", out[0]);
  free(p);
  return 0;
}
