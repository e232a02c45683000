/* Bitfields: one field set, the others never; reads of the set ones only
** (the read-modify-write of a bit and the masked read are not errors). */
#include <stdio.h>
#include <stdlib.h>
struct flags { unsigned a : 1, b : 3, c : 4, d : 8; };
int main(void) {
  struct flags *f = malloc(sizeof *f);
  f->a = 1;
  f->c = 5;
  int n = 0;
  if (f->a) n++;
  if (f->c == 5) n++;
  printf("%d\n", n);
  free(f);
  return 0;
}
