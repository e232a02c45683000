/* One bug: strcpy of an 11-character string into a 10-byte block. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
int main(void)
{
  const char *s = "hello world";
  char *d = malloc(10); /* alloc */
  strcpy(d, s + 1); /* memcheck: heap-overflow */
  printf("%c\n", d[0]);
  free(d);
  return 0;
}
