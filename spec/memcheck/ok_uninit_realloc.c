/* realloc keeps the old contents' state: growth in place and by a move,
** the set bytes read after each, the new ones set before they are read. */
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  int *p = malloc(4 * sizeof *p);
  for (int i = 0; i < 4; i++) p[i] = i;
  p = realloc(p, 6 * sizeof *p);
  int s = 0;
  for (int i = 0; i < 4; i++) if (p[i] == i) s++;
  int *blocker = malloc(16); /* (the next chunk: the growth below moves p) */
  p = realloc(p, 4096 * sizeof *p);
  for (int i = 0; i < 4; i++) if (p[i] == i) s++;
  for (int i = 4; i < 4096; i++) p[i] = i;
  for (int i = 0; i < 4096; i++) if (p[i] & 1) s++;
  printf("%d\n", s);
  free(p);
  free(blocker);
  return 0;
}
