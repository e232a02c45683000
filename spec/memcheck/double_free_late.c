/* One bug: frees a block twice, the second time after 100,001 other
** frees have pushed it out of memcheck.lua's quarantine (100,000 blocks):
** the report comes from the history of blocks given back to glibc, with
** the allocation and free stacks. (The other blocks are of another size,
** so glibc does not hand the first one's chunk out again.) */
#include <stdlib.h>
#include <stdio.h>
int main(void)
{
  char *p = malloc(24); /* alloc */
  p[0] = 1;
  free(p);
  for (int i = 0; i < 100001; i++) {
    char *q = malloc(200);
    q[0] = (char)i;
    free(q);
  }
  puts("later");
  free(p); /* memcheck: double-free */
  return 0;
}
