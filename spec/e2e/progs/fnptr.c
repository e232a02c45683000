// CFLAGS: -O2
/* Indirect calls: function-pointer tables (data-driven dispatch), pointers
 * stored in structs ("vtables"), callbacks from libc into the program
 * (qsort, bsearch), and calls through pointers returned by other functions. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

typedef uint64_t (*op_fn)(uint64_t, uint64_t);

__attribute__((noinline)) static uint64_t op_add(uint64_t a, uint64_t b) { return a + b; }
__attribute__((noinline)) static uint64_t op_sub(uint64_t a, uint64_t b) { return a - b; }
__attribute__((noinline)) static uint64_t op_mul(uint64_t a, uint64_t b) { return a * b; }
__attribute__((noinline)) static uint64_t op_xor(uint64_t a, uint64_t b) { return a ^ b; }
__attribute__((noinline)) static uint64_t op_rot(uint64_t a, uint64_t b) { return (a << (b & 63)) | (a >> ((64 - (b & 63)) & 63)); }
__attribute__((noinline)) static uint64_t op_div(uint64_t a, uint64_t b) { return b ? a / b : a; }
__attribute__((noinline)) static uint64_t op_min(uint64_t a, uint64_t b) { return a < b ? a : b; }
__attribute__((noinline)) static uint64_t op_max(uint64_t a, uint64_t b) { return a > b ? a : b; }

static op_fn const table[8] = { op_add, op_sub, op_mul, op_xor, op_rot, op_div, op_min, op_max };
static const char *const names[8] = { "add", "sub", "mul", "xor", "rot", "div", "min", "max" };

struct shape;
struct shape_vt {
    double (*area)(const struct shape *);
    const char *(*name)(void);
};
struct shape { const struct shape_vt *vt; double a, b; };

static double rect_area(const struct shape *s) { return s->a * s->b; }
static double tri_area(const struct shape *s) { return s->a * s->b / 2; }
static const char *rect_name(void) { return "rect"; }
static const char *tri_name(void) { return "tri"; }
static const struct shape_vt rect_vt = { rect_area, rect_name };
static const struct shape_vt tri_vt = { tri_area, tri_name };

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

__attribute__((noinline)) static op_fn pick(unsigned i) { return table[i & 7]; }

int main(void)
{
    uint64_t acc = 1, counts[8] = {0};
    uint32_t seed = 1;
    for (unsigned i = 0; i < 2000000; i++) {
        seed = seed * 1664525u + 1013904223u;
        unsigned k = seed >> 29;
        acc = table[k](acc, seed | 1) + 1;
        counts[k]++;
    }
    for (int k = 0; k < 8; k++)
        printf("%s: %llu\n", names[k], (unsigned long long)counts[k]);
    printf("acc=%016llx\n", (unsigned long long)acc);

    volatile op_fn vf = op_mul;               /* call through volatile pointer */
    printf("pick: %llu %llu volatile: %llu\n", (unsigned long long)pick(0)(40, 2),
           (unsigned long long)pick(13)(6, 7), (unsigned long long)vf(6, 7));

    struct shape shapes[4] = { {&rect_vt, 3, 4}, {&tri_vt, 3, 4}, {&rect_vt, 1.5, 2}, {&tri_vt, 10, 1} };
    double total = 0;
    for (int i = 0; i < 4; i++) {
        double a = shapes[i].vt->area(&shapes[i]);
        printf("%s %.2f\n", shapes[i].vt->name(), a);
        total += a;
    }
    printf("total area %.3f\n", total);

    static uint32_t arr[100000];
    seed = 7;
    for (int i = 0; i < 100000; i++) { seed = seed * 1103515245u + 12345u; arr[i] = seed >> 8; }
    qsort(arr, 100000, sizeof arr[0], cmp_u32);
    uint64_t h = 0;
    for (int i = 0; i < 100000; i++) h = h * 31 + arr[i];
    uint32_t key = arr[4242];
    uint32_t *found = bsearch(&key, arr, 100000, sizeof arr[0], cmp_u32);
    printf("qsort h=%016llx min=%u max=%u bsearch=%s\n", (unsigned long long)h, arr[0],
           arr[99999], found && *found == key ? "found" : "missing");
    return 0;
}
