// One bug: malloc'ed memory released with delete[].
#include <cstdlib>
#include <cstdio>
int main()
{
  char *s = static_cast<char *>(std::malloc(16)); // alloc
  s[0] = 'k';
  std::printf("%c\n", s[0]);
  delete[] s; // memcheck: mismatched-free
  return 0;
}
