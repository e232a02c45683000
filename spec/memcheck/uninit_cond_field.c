/* A branch on a struct field that was never set (the other one was). */
#include <stdio.h>
#include <stdlib.h>
struct point { int x, y; };
int main(void) {
  struct point *p = malloc(sizeof *p);
  p->x = 1;
  int y = p->y;
  if (y > 3) /* memcheck: uninit-cond */
    puts("far");
  printf("%d\n", p->x);
  free(p);
  return 0;
}
