/* One bug: writes into a freed buffer through a stale pointer. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
static char *keep;
static void stash(char *p) { keep = p; }
int main(void)
{
  char *b = malloc(64); /* alloc */
  strcpy(b, "hello");
  stash(b);
  free(b);
  keep[10] = 'x'; /* memcheck: use-after-free */
  puts("done");
  return 0;
}
