/* One bug: strcmp of two equal heap strings, neither terminated in its
** block: strcmp reads past the first block's end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
  char *a = malloc(24); /* alloc */
  char *b = malloc(64);
  memset(a, 'k', 24);
  memset(b, 'k', 64);
  int r = strcmp(a, b); /* memcheck: heap-overflow */
  printf("%d\n", r != 0);
  free(a);
  free(b);
  return 0;
}
