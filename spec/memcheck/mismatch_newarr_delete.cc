// One bug: new[] released with delete (not delete[]).
#include <cstdio>
int main()
{
  int *a = new int[8]; // alloc
  for (int i = 0; i < 8; i++) a[i] = i;
  std::printf("%d\n", a[7]);
  delete a; // memcheck: mismatched-free
  return 0;
}
