/* inscount_spec: rep movsb counts once per execution (callgrind: per
** iteration). cp runs 100 times: 1 rep movsb of 1000 bytes + its other
** instructions. Built -O1 -no-pie. */
#include <stdio.h>
static char a[4096], b[4096];
__attribute__((noinline)) static void cp(long n)
{
  char *d = b, *s = a;
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}
int main(void)
{
  for (int i = 0; i < 100; i++) cp(1000);
  printf("%d\n", b[5]);
  return 0;
}
