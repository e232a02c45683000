/* One bug: frees a stack address. */
#include <stdlib.h>
#include <stdio.h>
int main(void)
{
  int x[4] = { 1, 2, 3, 4 };
  int *volatile p = x;
  printf("%d\n", x[1]);
  free(p); /* memcheck: invalid-free */
  return 0;
}
