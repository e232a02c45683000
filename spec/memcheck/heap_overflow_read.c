/* One bug: reads the byte just past a 13-byte block. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
static int sum(const unsigned char *p, int n)
{
  int s = 0;
  for (int i = 0; i <= n; i++) s += p[i]; /* memcheck: heap-overflow */
  return s;
}
int main(void)
{
  unsigned char *p = malloc(13); /* alloc */
  memset(p, 1, 13);
  printf("%d\n", sum(p, 13) > 0);
  free(p);
  return 0;
}
