// Call stacks through C++ templates and exceptions: a destructor that runs
// while an exception unwinds the stack (frames of libstdc++ and libgcc's
// unwinder between it and the throw), and a template member function.
#include <cstdio>
#include <stdexcept>
#include <vector>

volatile int sink;

struct Guard {
  int id;
  __attribute__((noinline)) ~Guard() { sink += id; }
};

template <typename T> struct Box {
  T v;
  __attribute__((noinline)) T twice() const { sink++; return v + v; }
};

namespace ns {
template <typename T> __attribute__((noinline)) T work(const std::vector<T> &xs)
{
  Guard g{7};
  T s{};
  for (const T &x : xs) s += Box<T>{x}.twice();
  if (s > 10) throw std::runtime_error("too big");
  return s;
}
}

int main(int argc, char **)
{
  std::vector<long> xs{1, 2, 3, static_cast<long>(argc)};
  try {
    std::printf("%ld\n", ns::work(xs));
  } catch (const std::exception &e) {
    std::printf("caught %s\n", e.what());
  }
  return 0;
}
