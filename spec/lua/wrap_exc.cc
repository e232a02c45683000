// wrap_spec: a C++ exception thrown through wrapped functions.
#include <cstdio>
#include <stdexcept>
#define NOINLINE __attribute__((noinline))
extern "C" NOINLINE long w_thrower(long x) { if (x % 3 == 0) throw std::runtime_error("three"); return x; }
extern "C" NOINLINE long w_middle(long x) { long r = w_thrower(x) * 2; asm volatile("" ::: "memory"); return r; }
int main() {
  long t = 0, caught = 0;
  for (long i = 0; i < 9; i++) {
    try { t += w_middle(i); } catch (const std::exception &e) { caught++; }
  }
  std::printf("exc %ld caught %ld\n", t, caught);
  return 0;
}
