/* No bug: realloc growing and shrinking, calloc, the aligned allocators,
** malloc_usable_size, reallocarray; everything freed. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
int main(void)
{
  char *p = NULL;
  size_t total = 0;
  for (int i = 1; i < 300; i++) {
    p = realloc(p, i * 7);
    p[i * 7 - 1] = (char)i;
    total += malloc_usable_size(p) >= (size_t)i * 7;
  }
  p = realloc(p, 10);
  p[9] = 1;
  int *z = calloc(100, sizeof *z);
  total += z[99];
  void *a = aligned_alloc(256, 512), *m = memalign(128, 100), *v = valloc(10);
  memset(a, 1, 512);
  memset(m, 2, 100);
  memset(v, 3, 10);
  long *r = reallocarray(NULL, 10, sizeof *r);
  r[9] = 9;
  r = reallocarray(r, 20, sizeof *r);
  r[19] = r[9];
  printf("%zu %ld\n", total, r[19]);
  free(r); free(a); free(m); free(v); free(z); free(p);
  return 0;
}
