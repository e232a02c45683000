// CFLAGS: -O2 -L@OUT@ -le2efar -Wl,-rpath,$ORIGIN
/* Rip-relative data accesses: from the main executable to .data/.rodata/.bss,
 * to a field 64 MiB past the start of a large .bss object (large rip-relative
 * displacement), to a large object in its own section, and from code in a
 * shared library (libe2efar.so) to its own and exported data. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

extern uint64_t lib_counter;
extern const char lib_name[];
uint64_t lib_fill(uint32_t seed);
uint32_t lib_get(size_t i);
uint64_t lib_apply(uint64_t (*fn)(uint64_t), uint64_t x);

#define BIG (64u << 20)

static struct {
    unsigned char pad[BIG];
    volatile uint64_t far_value;      /* 64 MiB away from the struct start */
} big_bss;

/* A second big object in a named NOBITS section placed after .bss. */
__attribute__((section(".e2e_far_bss,\"aw\",@nobits#")))
static unsigned char far_section[BIG + 4096];

static uint64_t data_word = 0x0123456789abcdefull;    /* .data */
static const char rodata_msg[] = "rodata-string";     /* .rodata */
static volatile int small_bss;                         /* .bss */

__attribute__((noinline)) static uint64_t mix(uint64_t x)
{
    return x * 0x9e3779b97f4a7c15ull ^ (x >> 29);
}

int main(void)
{
    uint64_t h = 0;

    big_bss.far_value = 0x1122334455667788ull;
    big_bss.pad[0] = 1;
    big_bss.pad[BIG - 1] = 2;
    far_section[0] = 3;
    far_section[BIG + 4095] = 4;
    small_bss = 5;

    for (unsigned i = 0; i < 1000; i++) {
        data_word = mix(data_word + i);
        h ^= data_word + big_bss.far_value + far_section[BIG + 4095] + small_bss;
        big_bss.far_value += i;
        far_section[(i * 65537u) % (BIG + 4096)] += (unsigned char)i;
    }
    printf("exe: data=%016llx far=%016llx h=%016llx\n",
           (unsigned long long)data_word, (unsigned long long)big_bss.far_value,
           (unsigned long long)h);
    printf("exe: rodata=%s len=%zu pad=%d,%d far_section=%d,%d\n", rodata_msg,
           strlen(rodata_msg), big_bss.pad[0], big_bss.pad[BIG - 1],
           far_section[0], far_section[BIG + 4095]);

    uint64_t before = lib_counter;
    uint64_t sum = lib_fill(12345);
    printf("lib: name=%s sum=%llu counter %llu -> %llu get(77)=%u\n", lib_name,
           (unsigned long long)sum, (unsigned long long)before,
           (unsigned long long)lib_counter, lib_get(77));
    printf("lib: apply=%016llx\n", (unsigned long long)lib_apply(mix, 42));
    return 0;
}
