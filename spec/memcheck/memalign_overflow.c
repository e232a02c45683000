/* One bug: writes past an aligned block (posix_memalign, 64-byte aligned). */
#include <stdlib.h>
#include <stdio.h>
#include <stdint.h>
int main(void)
{
  void *v;
  if (posix_memalign(&v, 64, 40)) return 1; /* alloc */
  char *p = v;
  if ((uintptr_t)p % 64) return 2;
  for (int i = 0; i < 41; i++) p[i] = (char)i; /* memcheck: heap-overflow */
  printf("%d\n", p[39]);
  free(v);
  return 0;
}
