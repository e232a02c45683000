/* One bug: a loop writes one int past the end of a heap block. */
#include <stdlib.h>
#include <stdio.h>
int main(void)
{
  int n = 10;
  int *p = malloc(n * sizeof *p); /* alloc */
  for (int i = 0; i <= n; i++)
    p[i] = i * i; /* memcheck: heap-overflow */
  printf("%d\n", p[3]);
  free(p);
  return 0;
}
