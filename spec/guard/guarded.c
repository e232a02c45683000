/* spec/guard_spec.lua: indirect calls, jumps and returns for lurk.guard.
 *   guarded N: N indirect calls through a table of two functions (a, b)
 *              in turn, each returning to the same place
 *   redirect:  one indirect call to a(); a guard may send it to b()
 *   twice:     an indirect call to a(), a line written, another */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) int a(int x) { return x + 1; }
__attribute__((noinline)) int b(int x) { return x + 100; }
int (*volatile fns[2])(int) = { a, b };

int main(int argc, char **argv)
{
  if (argc > 1 && !strcmp(argv[1], "twice")) {
    printf("a(1) = %d\n", fns[0](1));
    fflush(stdout);
    printf("a(2) = %d\n", fns[0](2));
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "redirect")) {
    printf("a(1) = %d\n", fns[0](1));
    return 0;
  }
  int n = argc > 2 ? atoi(argv[2]) : 1000, s = 0;
  for (int i = 0; i < n; i++) s += fns[i & 1](i);
  printf("sum %d\n", s);
  return 0;
}
