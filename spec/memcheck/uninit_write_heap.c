/* A malloc'd buffer written out with most of it never set. */
#include <stdlib.h>
#include <unistd.h>
int main(void) {
  char *p = malloc(16); /* alloc */
  p[0] = 'a';
  p[1] = '\n';
  write(1, p, 16); /* memcheck: uninit-syscall */
  free(p);
  return 0;
}
