// One bug: writes past an over-aligned object (operator new with align_val_t).
#include <cstdio>
#include <cstdint>
struct alignas(128) line { unsigned char b[100]; };
int main(int argc, char **)
{
  line *l = new line; // alloc
  if (reinterpret_cast<std::uintptr_t>(l) % 128) return 2;
  unsigned char *p = l->b;
  p[127 + argc] = 1; // memcheck: heap-overflow
  std::printf("%d\n", l->b[0] == 0 || 1);
  delete l;
  return 0;
}
