/* One bug: reallocs a block already freed. */
#include <stdlib.h>
#include <stdio.h>
int main(void)
{
  char *p = malloc(32); /* alloc */
  p[0] = 'a';
  free(p);
  char *q = realloc(p, 64); /* memcheck: realloc-freed */
  printf("%p\n", (void *)0);
  free(q);
  return 0;
}
