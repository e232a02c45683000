/* One bug: frees the same block twice. */
#include <stdlib.h>
#include <stdio.h>
int main(void)
{
  char *p = malloc(24); /* alloc */
  p[0] = 1;
  free(p);
  puts("once");
  free(p); /* memcheck: double-free */
  return 0;
}
