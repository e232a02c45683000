// One bug: reads one element past a new[] array.
#include <cstdio>
#include <vector>
static long total(const long *a, int n)
{
  long s = 0;
  for (int i = 0; i <= n; i++) s += a[i]; // memcheck: heap-overflow
  return s;
}
int main()
{
  long *a = new long[5]; // alloc
  for (int i = 0; i < 5; i++) a[i] = i;
  std::printf("%ld\n", total(a, 5) >= 10);
  delete[] a;
  return 0;
}
