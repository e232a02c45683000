// CFLAGS: -O2
/* CPUID as the program sees it: vendor, family/model, and the feature bits
 * programs use to pick code paths (SSE..AVX-512, XSAVE, RDRAND...), plus the
 * XCR0 register (which vector state the OS enables).  Must match native. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <cpuid.h>

int main(void)
{
    unsigned a, b, c, d, max;
    char vendor[13];
    __cpuid(0, max, b, c, d);
    memcpy(vendor, &b, 4); memcpy(vendor + 4, &d, 4); memcpy(vendor + 8, &c, 4); vendor[12] = 0;
    printf("vendor %s, max leaf >= 7: %s\n", vendor, max >= 7 ? "yes" : "no");
    __cpuid(1, a, b, c, d);
    printf("leaf1 eax=%08x ecx=%08x edx=%08x\n", a, c & ~(1u << 27) /* OSXSAVE printed below */, d);
    printf("osxsave=%u\n", (c >> 27) & 1);
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        printf("leaf7 ebx=%08x ecx=%08x edx=%08x\n", b, c, d);
    }
    __cpuid(1, a, b, c, d);
    if ((c >> 27) & 1) {
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        printf("xcr0=%08x%08x\n", hi, lo);
    }
    __cpuid(0x80000000, max, b, c, d);
    if (max >= 0x80000004) {
        unsigned brand[12];
        for (unsigned i = 0; i < 3; i++) __cpuid(0x80000002 + i, brand[4 * i], brand[4 * i + 1], brand[4 * i + 2], brand[4 * i + 3]);
        printf("brand %.48s\n", (char *)brand);
    }
    return 0;
}
