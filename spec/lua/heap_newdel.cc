// heapstat spec: C++ allocation in every operator new/delete form (some
// elided by the compiler, as it may), containers, and C allocators.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>
#include <malloc.h>
struct alignas(64) Wide { char b[64]; };
int main() {
  std::vector<std::string> v;
  for (int i = 0; i < 1000; i++) v.push_back(std::string(20 + i % 40, 'a' + i % 26));
  std::map<int, std::string> m;
  for (int i = 0; i < 500; i++) m[i * 7] = v[i];
  int *a = new int(5); delete a;
  int *b = new int[10]; delete[] b;
  int *c = new (std::nothrow) int(3); delete c;
  int *d = new (std::nothrow) int[7]; delete[] d;
  Wide *w = new Wide; delete w;
  Wide *wa = new Wide[3]; delete[] wa;
  Wide *wn = new (std::nothrow) Wide; delete wn;
  ::operator delete(::operator new(100), 100);
  ::operator delete[](::operator new[](200), 200);
  ::operator delete(::operator new(64, std::align_val_t(128)), std::align_val_t(128));
  void *p = malloc(10); p = realloc(p, 100); p = realloc(p, 0);
  void *q = realloc(nullptr, 30); free(q);
  void *r = calloc(10, 12); free(r);
  void *s = memalign(64, 100); free(s);
  void *t; if (posix_memalign(&t, 32, 77) == 0) free(t);
  void *u = aligned_alloc(64, 128); free(u);
  void *x = valloc(50); free(x);
  void *y = reallocarray(nullptr, 5, 9); free(y);
  free(nullptr);
  int *leak = new int[4]; (void)leak;
  printf("%zu %zu\n", v.size(), m.size());
  return 0;
}
