/* Walks a 24 MiB array: strided passes and a pseudo-random walk. */
#include <stdio.h>
#include <stdlib.h>
#define N (3 << 20)
int main(void) {
  long *a = malloc(N * sizeof *a), s = 0;
  for (long i = 0; i < N; i++) a[i] = i * 7;
  for (int pass = 0; pass < 3; pass++) for (long i = 0; i < N; i += 8) s += a[i];
  unsigned long x = 12345;
  for (long i = 0; i < 2000000; i++) { x = x * 6364136223846793005ul + 1442695040888963407ul; s += a[(x >> 20) % N]; }
  printf("%ld\n", s);
  free(a);
  return 0;
}
