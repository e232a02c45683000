// CFLAGS: -O2
/* x86 string instructions with rep prefixes: rep movsb/movsw/movsd/movsq,
 * rep stosb/stosq, repe cmpsb, repne scasb, lodsb, counts of 0 and odd sizes,
 * unaligned pointers, and backwards copies with the direction flag set. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

static unsigned char a[70000], b[70000];

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static void rep_movsb(void *d, const void *s, size_t n)
{ __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory"); }
static void rep_movsw(void *d, const void *s, size_t n)
{ __asm__ volatile("rep movsw" : "+D"(d), "+S"(s), "+c"(n) : : "memory"); }
static void rep_movsd(void *d, const void *s, size_t n)
{ __asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(n) : : "memory"); }
static void rep_movsq(void *d, const void *s, size_t n)
{ __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory"); }
static void rep_stosb(void *d, int v, size_t n)
{ __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(v) : "memory"); }
static void rep_stosq(void *d, uint64_t v, size_t n)
{ __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(v) : "memory"); }
/* backwards: DF=1, pointers at the last element */
static void rep_movsb_back(void *d, const void *s, size_t n)
{
    if (!n) return;
    d = (char *)d + n - 1; s = (const char *)s + n - 1;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory", "cc");
}
/* returns remaining count and leaves the pointers where the CPU stopped */
static size_t repe_cmpsb(const void *x, const void *y, size_t n, size_t *stop)
{
    const void *x0 = x;
    __asm__ volatile("test %%rcx, %%rcx\n\t repe cmpsb" : "+S"(x), "+D"(y), "+c"(n) : : "memory", "cc");
    *stop = (size_t)((const char *)x - (const char *)x0);
    return n;
}
static size_t repne_scasb(const void *p, int c, size_t n)
{
    const void *p0 = p;
    __asm__ volatile("test %%rcx, %%rcx\n\t repne scasb" : "+D"(p), "+c"(n) : "a"(c) : "memory", "cc");
    return (size_t)((const char *)p - (const char *)p0);
}
static unsigned lods_sum(const void *p, size_t n)
{
    unsigned sum = 0, v;
    for (size_t i = 0; i < n; i++) {
        __asm__ volatile("xor %%eax, %%eax\n\t lodsb" : "=a"(v), "+S"(p) : : "memory");
        sum += v;
    }
    return sum;
}

int main(void)
{
    for (size_t i = 0; i < sizeof a; i++) a[i] = (unsigned char)(i * 131 + (i >> 8));

    static const size_t sizes[] = { 0, 1, 7, 8, 63, 64, 65, 4095, 4096, 4097, 65536 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint64_t hs[6];
        memset(b, 0xee, sizeof b); rep_movsb(b + 3, a + 1, n);         hs[0] = fnv(b, n + 8);
        memset(b, 0xee, sizeof b); rep_movsw(b, a + 5, n / 2);         hs[1] = fnv(b, n + 8);
        memset(b, 0xee, sizeof b); rep_movsd(b + 1, a, n / 4);         hs[2] = fnv(b, n + 8);
        memset(b, 0xee, sizeof b); rep_movsq(b + 8, a + 2, n / 8);     hs[3] = fnv(b, n + 16);
        memset(b, 0xee, sizeof b); rep_stosb(b + 5, 0x5a, n);          hs[4] = fnv(b, n + 8);
        memset(b, 0xee, sizeof b); rep_stosq(b, 0x0102030405060708ull, n / 8); hs[5] = fnv(b, n + 8);
        printf("n=%-5zu", n);
        for (int j = 0; j < 6; j++) printf(" %016llx", (unsigned long long)hs[j]);
        printf("\n");
    }

    /* overlapping backwards move (memmove to higher address) */
    memcpy(b, a, 10000);
    rep_movsb_back(b + 100, b, 5000);
    printf("backwards overlap: %016llx, DF cleared: %s\n", (unsigned long long)fnv(b, 10000),
           ({ unsigned long fl; __asm__ volatile("pushf\n\tpop %0" : "=r"(fl)); (fl & 0x400) ? "no" : "yes"; }));

    memcpy(b, a, 5000);
    size_t stop, rem = repe_cmpsb(a, b, 5000, &stop);
    printf("cmpsb equal: remaining=%zu stop=%zu\n", rem, stop);
    b[1234] ^= 1;
    rem = repe_cmpsb(a, b, 5000, &stop);
    printf("cmpsb differ: remaining=%zu stop=%zu\n", rem, stop);
    rem = repe_cmpsb(a, b, 0, &stop);
    printf("cmpsb n=0: remaining=%zu stop=%zu\n", rem, stop);

    memset(b, 'x', 3000);
    b[2999] = 'y';
    printf("scasb: found y after %zu bytes, not found: %zu, n=0: %zu\n", repne_scasb(b, 'y', 3000),
           repne_scasb(b, 'z', 3000), repne_scasb(b, 'x', 0));
    printf("lodsb sum: %u\n", lods_sum(a, 60000));
    return 0;
}
