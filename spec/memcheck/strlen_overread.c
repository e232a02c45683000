/* One bug: strlen of a heap string with no terminator (glibc's strlen
** reads whole vectors past the end within the page: memcheck.lua checks
** the bytes strlen's definition reads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
  char *s = malloc(16); /* alloc */
  memset(s, 'a', 16);
  size_t n = strlen(s); /* memcheck: heap-overflow */
  printf("%d\n", n >= 16);
  free(s);
  return 0;
}
