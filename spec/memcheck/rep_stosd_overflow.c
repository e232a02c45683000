/* One bug: rep stosl writes 11 four-byte words into a 40-byte block: a
** short rep store, which the compiled check covers with 16-byte shadow
** windows from both ends of the range (access.lua, on_rep). */
#include <stdlib.h>
#include <stdio.h>
static void fill(void *d, unsigned v, size_t n)
{
  __asm__ volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(v) : "memory"); /* memcheck: heap-overflow */
}
int main(int argc, char **argv)
{
  unsigned *p = malloc(40); /* alloc */
  (void)argv;
  fill(p, 7, 10 + (size_t)argc);
  printf("%u\n", p[9]);
  free(p);
  return 0;
}
