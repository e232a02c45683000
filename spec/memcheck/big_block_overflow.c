/* One bug: reads just past a 1 MiB block (glibc maps it on its own). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
int main(void)
{
  size_t n = 1 << 20;
  char *p = malloc(n); /* alloc */
  memset(p, 3, n);
  long s = 0;
  for (size_t i = n - 4; i <= n; i++) s += p[i]; /* memcheck: heap-overflow */
  printf("%ld\n", s > 0);
  free(p);
  return 0;
}
