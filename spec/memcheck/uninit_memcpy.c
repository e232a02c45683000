/* Undefined bytes copied by memcpy (glibc's, through vector registers)
** keep their state: the branch is on the copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  int *a = malloc(64 * sizeof *a), *b = malloc(64 * sizeof *b);
  for (int i = 0; i < 32; i++) a[i] = i;
  memcpy(b, a, 64 * sizeof *a);
  int s = 0;
  for (int i = 0; i < 32; i++) s += b[i];
  if (b[40] == 7) /* memcheck: uninit-cond */
    s++;
  printf("%d\n", s);
  free(a);
  free(b);
  return 0;
}
