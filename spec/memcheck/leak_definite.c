/* One bug: a block whose only pointer is overwritten (definitely lost). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
static char *volatile g;
int main(void)
{
  g = malloc(77); /* memcheck: leak-definite */
  strcpy(g, "leaked");
  g = malloc(5);
  strcpy(g, "kept");
  printf("%s\n", g);
  return 0;
}
