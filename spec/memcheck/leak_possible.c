/* One bug: only an interior pointer to a block remains (possibly lost). */
#include <stdlib.h>
#include <stdio.h>
static char *volatile mid;
int main(void)
{
  char *p = malloc(200); /* memcheck: leak-possible */
  p[0] = 1;
  mid = p + 100;
  p = NULL;
  printf("%d\n", mid[-100]);
  return 0;
}
