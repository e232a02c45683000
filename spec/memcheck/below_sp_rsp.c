/* One bug: a store addressed from rsp, 256 bytes below it (past the
** 128-byte red zone): the kernel may hand that memory to a signal frame. */
#include <stdio.h>
int main(void)
{
  int x = 5;
  __asm__ volatile("movl %0, -256(%%rsp)" : : "r"(x) : "memory"); /* memcheck: below-sp */
  puts("stored");
  return 0;
}
