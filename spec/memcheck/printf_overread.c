/* One bug: printf("%s") of an unterminated heap string: the read is
** inside glibc (vfprintf's strlen), reported at the printf call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
  char *name = malloc(8); /* alloc */
  memcpy(name, "abcdefgh", 8);
  printf("%.3s|%s\n", "xyz", name); /* memcheck: heap-overflow */
  free(name);
  return 0;
}
