/* lurk benchmark: tight arithmetic loop -- a few hot basic blocks, no calls.
 * Measures the steady-state cost of translated straight-line code and
 * direct-branch linking.
 * Usage: loop [ITERS_MILLIONS]  (default 400). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long m = argc > 1 ? atol(argv[1]) : 400;
    uint64_t iters = (uint64_t)m * 1000000u;
    uint64_t x = 88172645463325252ull, a = 0, b = 1;
    uint32_t h = 2166136261u;
    for (uint64_t i = 0; i < iters; i++) {
        /* xorshift + FNV-style mixing + a data-dependent branch */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (x & 0x10)
            a += x >> 3;
        else
            b ^= x * 0x9E3779B97F4A7C15ull;
        h = (h ^ (uint32_t)x) * 16777619u;
    }
    printf("%016llx %016llx %08x\n", (unsigned long long)a, (unsigned long long)b, h);
    return 0;
}
