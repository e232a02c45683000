/*
 * gen.c - deterministic input generator for the lurk benchmarks.
 *
 *   gen semi  BYTES   semi-compressible data (text-ish records mixed with
 *                     noisy binary runs) for the xz / gzip workloads
 *   gen lines BYTES   newline-terminated text records for the sort workload
 *
 * Output goes to stdout.  Uses its own 64-bit LCG/xorshift so the output is
 * bit-identical on every machine and libc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    /* xorshift64* */
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static unsigned rbelow(unsigned n) { return (unsigned)((rnd() >> 33) % n); }

static const char *words[] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
    "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
    "xray", "yankee", "zulu", "kernel", "thread", "buffer", "signal",
    "mapping", "segment", "register", "branch", "trace", "fragment", "block",
    "cache", "syscall", "memory", "page", "stack", "heap", "vector",
    "instrument", "client", "module", "symbol", "section", "linker",
};
#define NWORDS (sizeof words / sizeof words[0])

/* Zipf-ish word choice: low indices are much more common. */
static const char *word(void)
{
    unsigned a = rbelow(NWORDS), b = rbelow(NWORDS);
    return words[a < b ? a : b];
}

static void gen_semi(long long total)
{
    char buf[4096];
    long long out = 0;
    unsigned long long rec = 0;
    while (out < total) {
        int n = 0;
        unsigned kind = rbelow(16);
        if (kind < 11) {
            /* a log-like text record */
            n = snprintf(buf, sizeof buf, "%08llu %s.%s[%u] %s %s %s=%u %s=0x%08x\n",
                         rec++, word(), word(), rbelow(65536), word(), word(),
                         word(), rbelow(1000), word(), (unsigned)(rnd() >> 32));
        } else if (kind < 14) {
            /* a chunk of numbers */
            for (int i = 0; i < 16; i++)
                n += snprintf(buf + n, sizeof buf - n, "%u,", rbelow(100000));
            buf[n++] = '\n';
        } else {
            /* incompressible noise */
            int len = 64 + (int)rbelow(192);
            for (int i = 0; i < len; i++)
                buf[n++] = (char)(rnd() >> 56);
        }
        if (out + n > total)
            n = (int)(total - out);
        fwrite(buf, 1, (size_t)n, stdout);
        out += n;
    }
}

static void gen_lines(long long total)
{
    char buf[512];
    long long out = 0;
    while (out < total) {
        int n;
        switch (rbelow(4)) {
        case 0:
            n = snprintf(buf, sizeof buf, "%s %s %u\n", word(), word(), rbelow(1000000));
            break;
        case 1:
            n = snprintf(buf, sizeof buf, "%u %s %s %s\n", rbelow(100000), word(), word(), word());
            break;
        case 2:
            n = snprintf(buf, sizeof buf, "%s-%08x-%s\n", word(), (unsigned)(rnd() >> 32), word());
            break;
        default:
            n = snprintf(buf, sizeof buf, "%s %s %s %s %u\n", word(), word(), word(), word(), rbelow(100));
            break;
        }
        fwrite(buf, 1, (size_t)n, stdout);
        out += n;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s semi|lines BYTES\n", argv[0]);
        return 2;
    }
    long long total = atoll(argv[2]);
    if (!strcmp(argv[1], "semi"))
        gen_semi(total);
    else if (!strcmp(argv[1], "lines"))
        gen_lines(total);
    else {
        fprintf(stderr, "gen: unknown mode %s\n", argv[1]);
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
