// One bug: a block from operator new released with free().
#include <cstdlib>
#include <cstdio>
struct point { int x, y; };
int main()
{
  point *p = new point{ 1, 2 }; // alloc
  std::printf("%d\n", p->x + p->y);
  std::free(p); // memcheck: mismatched-free
  return 0;
}
