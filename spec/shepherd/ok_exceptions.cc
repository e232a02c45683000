// No attack: C++ exceptions thrown through several frames (the unwinder
// returns into landing pads), std::function and virtual calls. shepherd
// must report no violation.
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

struct Shape { virtual ~Shape() {} virtual int area() const = 0; };
struct Sq : Shape { int s; explicit Sq(int s) : s(s) {} int area() const override { return s * s; } };

__attribute__((noinline)) static int thrower(int n) {
  if (n == 0) throw std::runtime_error("bottom");
  std::string keep(16, 'x');     // a destructor to run on the way out
  return thrower(n - 1) + (int)keep.size();
}

int main() {
  int caught = 0;
  for (int i = 0; i < 100; i++) {
    try { thrower(10); } catch (const std::exception &e) { caught++; }
  }
  std::unique_ptr<Shape> s(new Sq(7));
  std::function<int(int)> f = [&](int x) { return x + s->area(); };
  std::printf("caught %d, area %d, f %d\n", caught, s->area(), f(1));
  return 0;
}
