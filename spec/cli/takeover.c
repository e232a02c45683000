/* Built -no-pie so spec/cli/run.sh can find these functions' addresses with
** nm and check, in lurk's --log debug output, that blocks were built from
** each: the program's own constructor, main, and a function main calls. */
#include <stdio.h>

static int ctor_ran;
__attribute__((constructor)) static void takeover_ctor(void) { ctor_ran = 1; }
__attribute__((noinline)) int takeover_helper(int x) { return x * 3 + ctor_ran; }

int main(void)
{
  printf("%d\n", takeover_helper(14));
  return 0;
}
