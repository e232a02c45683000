/* bench/live.sh's target: CHUNKS chunks of a fixed xorshift/FNV loop, the
** time of each printed (ns) to stderr; a checksum to stdout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  int chunks = argc > 1 ? atoi(argv[1]) : 20;
  uint64_t x = 88172645463325252ull, h = 1469598103934665603ull;
  for (int c = 0; c < chunks; c++) {
    uint64_t t0 = now();
    for (int i = 0; i < 20000000; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      h = (h ^ (x & 0xff)) * 1099511628211ull;
      if (x & 1) h += 3;
    }
    fprintf(stderr, "%llu\n", (unsigned long long)(now() - t0));
  }
  printf("%llx\n", (unsigned long long)h);
  return 0;
}
