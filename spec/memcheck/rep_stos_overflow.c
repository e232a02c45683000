/* One bug: rep stosb fills one byte more than the block holds (the whole
** rcx-long range is checked, not only its first byte). */
#include <stdlib.h>
#include <stdio.h>
static void fill(void *d, int c, size_t n)
{
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory"); /* memcheck: heap-overflow */
}
int main(int argc, char **argv)
{
  char *p = malloc(40); /* alloc */
  fill(p, 'x', 40 + (size_t)argc);
  printf("%c\n", p[39]);
  free(p);
  return 0;
}
