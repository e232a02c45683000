/* One bug: memcpy writes 4 bytes past a 20-byte block (found inside
** libc's memcpy, reported at the call). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
int main(int argc, char **argv)
{
  char src[64];
  memset(src, 'a', sizeof src);
  char *dst = malloc(20); /* alloc */
  size_t n = 20 + 4 * (size_t)argc;
  memcpy(dst, src, n); /* memcheck: heap-overflow */
  printf("%c\n", dst[0]);
  free(dst);
  return 0;
}
