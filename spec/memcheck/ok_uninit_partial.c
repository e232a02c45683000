/* Partial writes then whole reads: two halves written, the word read; a
** struct with padding copied whole, then its fields read; one half
** written and read through a mask. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
union word { struct { short lo, hi; } s; int w; };
struct padded { char c; int i; };
int main(void) {
  union word *u = malloc(sizeof *u);
  u->s.lo = 1;
  u->s.hi = 2;
  int n = 0;
  if (u->w == 0x20001) n++;
  union word *v = malloc(sizeof *v);
  v->s.lo = 3;
  if ((v->w & 0xffff) == 3) n++;
  struct padded *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  a->c = 'x';
  a->i = 7;
  *b = *a;
  if (b->c == 'x' && b->i == 7) n++;
  char *s = malloc(8);
  strcpy(s, "hi");
  if (strlen(s) == 2) n++;
  printf("%d\n", n);
  free(u);
  free(v);
  free(a);
  free(b);
  free(s);
  return 0;
}
