// CFLAGS: -O2 -mavx512f -mavx512bw -mavx512dq -mavx512vl
/* AVX-512: zmm arithmetic (integer, float, FMA), opmask registers k0-k7
 * (compares, masked ops, mask logic), gather/scatter, compress/expand,
 * permutes, and all 32 zmm registers (zmm16-31 need EVEX encoding) kept live
 * across calls into libc.  If the CPU lacks AVX-512F it says so and exits 0. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <immintrin.h>

static uint64_t fold(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;    /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int32_t src[1024], dst[1024];
static float fa[256], fb[256];

__attribute__((noinline)) static void ints(void)
{
    for (int i = 0; i < 1024; i++) src[i] = (int32_t)(i * 2654435761u);
    __m512i acc = _mm512_setzero_si512(), idx = _mm512_setr_epi32(0, 17, 34, 51, 68, 85, 102, 119,
                                                                     136, 153, 170, 187, 204, 221, 238, 255);
    __mmask16 mall = 0;
    for (int i = 0; i < 1024; i += 16) {
        __m512i v = _mm512_loadu_si512(&src[i]);
        __mmask16 neg = _mm512_cmplt_epi32_mask(v, _mm512_setzero_si512());
        __mmask16 odd = _mm512_test_epi32_mask(v, _mm512_set1_epi32(1));
        __mmask16 both = _kand_mask16(neg, odd);
        mall = _kor_mask16(mall, _kxor_mask16(both, (__mmask16)i));
        acc = _mm512_mask_add_epi32(acc, neg, acc, v);
        acc = _mm512_mask_sub_epi32(acc, _knot_mask16(neg), acc, _mm512_srli_epi32(v, 3));
        acc = _mm512_maskz_mullo_epi32(_kor_mask16(both, 0x5a5a), acc, _mm512_set1_epi32(3));
        _mm512_mask_storeu_epi32(&dst[i], odd, v);
        _mm512_mask_storeu_epi32(&dst[i], _knot_mask16(odd), _mm512_abs_epi32(v));
    }
    int32_t out[16];
    _mm512_storeu_si512(out, acc);
    printf("ints: acc=%016llx dst=%016llx mall=%04x reduce=%d\n", (unsigned long long)fold(out, sizeof out),
           (unsigned long long)fold(dst, sizeof dst), (unsigned)mall, _mm512_reduce_add_epi32(acc));

    /* gather / scatter */
    __m512i g = _mm512_i32gather_epi32(idx, src, 4);
    __m512i g2 = _mm512_mask_i32gather_epi32(_mm512_set1_epi32(-1), 0x0ff0, _mm512_add_epi32(idx, _mm512_set1_epi32(5)), src, 4);
    memset(dst, 0, sizeof dst);
    _mm512_i32scatter_epi32(dst, _mm512_add_epi32(idx, idx), g, 4);
    _mm512_mask_i32scatter_epi32(dst, 0xaaaa, _mm512_add_epi32(idx, _mm512_set1_epi32(600)), g2, 4);
    __m512i idx64 = _mm512_setr_epi64(3, 1, 4, 1, 5, 9, 2, 6);
    __m512i g64 = _mm512_i64gather_epi64(idx64, (const long long *)src, 8);
    _mm512_storeu_si512(out, g);
    printf("gather: %d %d %d %d g2=%016llx g64=%016llx scatter=%016llx\n", out[0], out[1], out[7], out[15],
           (unsigned long long)fold(&g2, 64), (unsigned long long)fold(&g64, 64),
           (unsigned long long)fold(dst, sizeof dst));

    /* compress / expand / permutes / byte ops */
    __m512i c = _mm512_maskz_compress_epi32(0xf0f3, g);
    __m512i e = _mm512_maskz_expand_epi32(0x3cc3, g);
    __m512i p = _mm512_permutexvar_epi32(_mm512_setr_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), g);
    __m512i p2 = _mm512_permutex2var_epi32(g, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), p);
    __m512i bytes = _mm512_add_epi8(_mm512_shuffle_epi8(g, _mm512_set1_epi64(0x0001020304050607ll)), _mm512_set1_epi8(1));
    __mmask64 bm = _mm512_cmpgt_epi8_mask(bytes, _mm512_set1_epi8(0));
    __m512i tl = _mm512_ternarylogic_epi32(c, e, p, 0x96);
    printf("shuffles: c=%016llx e=%016llx p2=%016llx bytes=%016llx bm=%016llx tl=%016llx\n",
           (unsigned long long)fold(&c, 64), (unsigned long long)fold(&e, 64), (unsigned long long)fold(&p2, 64),
           (unsigned long long)fold(&bytes, 64), (unsigned long long)bm, (unsigned long long)fold(&tl, 64));
}

__attribute__((noinline)) static void floats(void)
{
    for (int i = 0; i < 256; i++) { fa[i] = (float)i * 0.25f - 20.0f; fb[i] = 1.0f / (float)(i + 1); }
    __m512 s = _mm512_setzero_ps();
    __m512d sd = _mm512_set1_pd(1.0);
    for (int i = 0; i < 256; i += 16) {
        __m512 a = _mm512_loadu_ps(&fa[i]), b = _mm512_loadu_ps(&fb[i]);
        __mmask16 pos = _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ);
        s = _mm512_fmadd_ps(a, b, s);
        s = _mm512_mask_sqrt_ps(s, pos, _mm512_abs_ps(s));
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
        sd = _mm512_fmadd_pd(sd, _mm512_set1_pd(0.5), _mm512_mul_pd(lo, lo));
        sd = _mm512_roundscale_pd(sd, 0x08);   /* round to nearest, suppress exceptions */
    }
    float out[16];
    double outd[8];
    _mm512_storeu_ps(out, s);
    _mm512_storeu_pd(outd, sd);
    printf("floats:");
    for (int i = 0; i < 16; i += 5) printf(" %.6g", out[i]);
    printf(" | reduce %.6g | pd %.1f %.1f\n", _mm512_reduce_add_ps(s), outd[0], outd[7]);
    __m512 r = _mm512_rcp14_ps(_mm512_set1_ps(3.0f));
    __m512 gs = _mm512_getexp_ps(_mm512_set1_ps(1000.0f));
    printf("rcp14(3) ~ %.3f getexp(1000) = %.1f\n", _mm512_reduce_add_ps(r) / 16, _mm512_reduce_add_ps(gs) / 16);
}

/* Keep all 32 zmm and the 8 mask registers live across libc calls (which
 * may themselves use vector registers) using explicit asm. */
__attribute__((noinline)) static void all_regs(void)
{
    uint64_t masks[8];
    uint32_t lanes[32];
    __asm__ volatile(
        "mov $0x1111, %%eax\n\t kmovw %%eax, %%k0\n\t"
        "mov $0x2222, %%eax\n\t kmovw %%eax, %%k1\n\t"
        "mov $0x3333, %%eax\n\t kmovw %%eax, %%k2\n\t"
        "mov $0x4444, %%eax\n\t kmovw %%eax, %%k3\n\t"
        "mov $0x5555, %%eax\n\t kmovw %%eax, %%k4\n\t"
        "mov $0x6666, %%eax\n\t kmovw %%eax, %%k5\n\t"
        "mov $0x7777, %%eax\n\t kmovw %%eax, %%k6\n\t"
        "kxnorw %%k0, %%k1, %%k7\n\t"
        "kmovq %%k0, 0(%0)\n\t kmovq %%k1, 8(%0)\n\t kmovq %%k2, 16(%0)\n\t kmovq %%k3, 24(%0)\n\t"
        "kmovq %%k4, 32(%0)\n\t kmovq %%k5, 40(%0)\n\t kmovq %%k6, 48(%0)\n\t kmovq %%k7, 56(%0)\n\t"
        : : "r"(masks) : "eax", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "memory");
    printf("masks:");
    for (int i = 0; i < 8; i++) printf(" %04llx", (unsigned long long)masks[i]);
    printf("\n");

#define Z(n) "vpbroadcastd %%eax, %%zmm" #n "\n\t inc %%eax\n\t"
#define S(n) "vmovd %%xmm" #n ", " #n "*4(%0)\n\t"
    __asm__ volatile(
        "mov $100, %%eax\n\t"
        Z(0) Z(1) Z(2) Z(3) Z(4) Z(5) Z(6) Z(7) Z(8) Z(9) Z(10) Z(11) Z(12) Z(13) Z(14) Z(15)
        Z(16) Z(17) Z(18) Z(19) Z(20) Z(21) Z(22) Z(23) Z(24) Z(25) Z(26) Z(27) Z(28) Z(29) Z(30) Z(31)
        "vpaddd %%zmm16, %%zmm31, %%zmm16\n\t"
        "vpmulld %%zmm17, %%zmm30, %%zmm17\n\t"
        "vpxord %%zmm0, %%zmm18, %%zmm18\n\t"
        "mov $0xa5a5, %%eax\n\t kmovw %%eax, %%k3\n\t"
        "vpaddd %%zmm1, %%zmm29, %%zmm19%{%%k3%}%{z%}\n\t"
        S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11) S(12) S(13) S(14) S(15)
        S(16) S(17) S(18) S(19) S(20) S(21) S(22) S(23) S(24) S(25) S(26) S(27) S(28) S(29) S(30) S(31)
        : : "r"(lanes) : "eax", "k3", "memory",
          "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
          "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
          "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
    printf("zmm lane0:");
    for (int i = 0; i < 32; i++) printf(" %u", lanes[i]);
    printf("\n");

    /* values in zmm16-31 must survive a libc call (callers may not rely on
     * that per the ABI, so save/compare in memory around the call) */
    uint32_t before[16], after[16];
    __asm__ volatile("vpbroadcastd %1, %%zmm24\n\t vmovdqu32 %%zmm24, (%0)" : : "r"(before), "r"(0xc0ffee) : "xmm24", "memory");
    char buf[64];
    snprintf(buf, sizeof buf, "%d-%s", 42, "x");
    __asm__ volatile("vmovdqu32 %%zmm24, (%0)" : : "r"(after) : "memory");
    printf("snprintf=%s zmm24 %s\n", buf,
           memcmp(before, after, sizeof before) == 0 ? "preserved (libc did not touch it)" : "clobbered by libc");
}

int main(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl")) {
        printf("CPU lacks AVX-512 (F/BW/DQ/VL): skipping\n");
        return 0;
    }
    ints();
    floats();
    all_regs();
    return 0;
}
