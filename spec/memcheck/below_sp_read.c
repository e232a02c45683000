/* One bug: reads a local of a function that has returned (its frame is
** now below the stack pointer, past the 128-byte red zone). */
#include <stdio.h>
static volatile int *saved;
static void __attribute__((noinline)) fill(void)
{
  volatile int a[256];
  for (int i = 0; i < 256; i++) a[i] = i;
  saved = a;
}
int main(void)
{
  fill();
  int v = saved[10]; /* memcheck: below-sp */
  printf("%d\n", v == 10);
  return 0;
}
