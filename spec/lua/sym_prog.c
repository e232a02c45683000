/* Symbols of every kind for spec/sym_spec.lua: global and static functions,
** global and static data, Rust-mangled names (legacy and v0, given with asm
** labels), and a function whose line the spec knows. */
#include <stdio.h>
#include <string.h>

int glob_counter = 5;
static long glob_table[16];
volatile int glob_sink;

__attribute__((noinline)) static int glob_static_fn(int x) { glob_sink += x; return x * 7; }
__attribute__((noinline)) int glob_api_one(int x) { return glob_static_fn(x) + 1; }
__attribute__((noinline)) int glob_api_two(int x) { glob_table[x & 15] += x; return glob_api_one(x) * 2; }

/* Rust: legacy (_ZN...17h<hash>E) and v0 (_R...) manglings. */
__attribute__((noinline)) int rust_legacy(int x) __asm__("_ZN7mycrate3foo17h0123456789abcdefE");
__attribute__((noinline)) int rust_legacy(int x) { return x + 3; }
__attribute__((noinline)) int rust_v0(int x) __asm__("_RNvCsbmNqQUJIY6D_7mycrate3bar");
__attribute__((noinline)) int rust_v0(int x) { return x + 4; }

int main(int argc, char **argv)
{
  char buf[64];
  /* memcpy and strlen through the PLT (IFUNCs in libc), sizes unknown to
  ** the compiler */
  void *(*volatile cp)(void *, const void *, size_t) = memcpy;
  size_t (*volatile len)(const char *) = strlen;
  cp(buf, argv[0], len(argv[0]) < 63 ? len(argv[0]) + 1 : 1);
  printf("%d %d %d %d\n", glob_api_two(argc), rust_legacy(argc), rust_v0(argc), glob_counter);
  return buf[0] == 0;
}
