/* One bug: writes the long before a block. */
#include <stdlib.h>
#include <stdio.h>
int main(int argc, char **argv)
{
  long *p = calloc(4, sizeof *p); /* alloc */
  long *q = p - argc;
  *q = 42; /* memcheck: heap-underflow */
  printf("%ld\n", p[0]);
  free(p);
  return 0;
}
