/* No bug: rep movsq with a count of 0 at a block's end (no access, as in
** perl's sv_upgrade), rep stosb and rep movsb of exactly a block. */
#include <stdlib.h>
#include <stdio.h>
static void copy8(void *d, const void *s, size_t n)
{
  __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}
static void copy1(void *d, const void *s, size_t n)
{
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}
static void fill(void *d, int c, size_t n)
{
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
}
int main(int argc, char **argv)
{
  char *a = malloc(48), *b = malloc(48);
  fill(a, 'a', 48);
  copy1(b, a, 48);
  copy8(b + 48, a + 48, (size_t)argc - 1);
  printf("%c %c\n", a[47], b[47]);
  free(a);
  free(b);
  return 0;
}
