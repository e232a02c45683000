/* One bug: frees a pointer into the middle of a block (the block itself
** is freed correctly after). */
#include <stdlib.h>
#include <stdio.h>
int main(void)
{
  char *p = malloc(100); /* alloc */
  char *volatile q = p + 8;
  p[0] = 0;
  free(q); /* memcheck: invalid-free */
  free(p);
  puts("ok");
  return 0;
}
