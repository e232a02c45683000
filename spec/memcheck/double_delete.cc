// One bug: deletes an object twice.
#include <cstdio>
#include <string>
struct rec { long id; char name[24]; };
int main()
{
  rec *r = new rec{ 7, "seven" }; // alloc
  std::printf("%ld %s\n", r->id, r->name);
  delete r;
  delete r; // memcheck: double-free
  return 0;
}
