/* An 8-byte compare of a partly set name with a constant whose set
** bytes already differ: not an error (memcheck's exact equality). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
union name { char c[8]; long l; };
int main(void) {
  union name *u = malloc(sizeof *u);
  u->c[0] = 'u'; u->c[1] = 't'; u->c[2] = 'f'; u->c[3] = 0;
  int n = 0;
  if (u->l == 0x69696373615f7375L) n++;   /* "us_ascii": byte 1 differs, defined */
  printf("%d\n", n);
  free(u);
  return 0;
}
