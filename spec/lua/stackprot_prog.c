/* spec/pattern_spec.lua: five functions with a canary check called from
** main, one never called; built -fstack-protector-all. */
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) int f1(const char *s) { char b[32]; strncpy(b, s, 31); b[31] = 0; return (int)strlen(b); }
__attribute__((noinline)) int f2(int x) { volatile int a[8]; for (int i = 0; i < 8; i++) a[i] = x + i; return a[3]; }
__attribute__((noinline)) int f3(int x) { char b[16]; snprintf(b, sizeof b, "%d", x); return b[0]; }
__attribute__((noinline)) int f4(int x) { return f2(x) + 1; }
__attribute__((noinline)) int f5(int x) { char b[64]; memset(b, x, sizeof b); return b[63]; }
__attribute__((noinline)) int unused(int x) { char b[64]; memset(b, x, sizeof b); return b[1]; }

int main(int argc, char **argv)
{
  int t = f1(argv[0]) + f2(argc) + f3(42) + f4(1) + f5(7);
  printf("%d\n", t);
  return argc > 5 ? unused(t) : 0;
}
