/* One bug: memchr told the buffer is longer than its block, the byte
** not in the block: memchr reads past its end. */
#pragma GCC diagnostic ignored "-Wstringop-overread" /* (the bug, seen by gcc too) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
  char *p = malloc(40); /* alloc */
  memset(p, 'x', 40);
  char *q = memchr(p, 'y', 48); /* memcheck: heap-overflow */
  printf("%d\n", q == NULL || q >= p);
  free(p);
  return 0;
}
