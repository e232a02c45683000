// CFLAGS: -O2
/* Helper shared library for far_data.c: data accessed rip-relatively from
 * code inside a shared object (static data: direct rip-relative; exported
 * data: rip-relative GOT load), plus a callback into the main executable. */
#include <stdint.h>
#include <stddef.h>

static uint32_t lib_table[4096];            /* .bss, rip-relative */
static const uint16_t lib_rodata[8] = {3, 1, 4, 1, 5, 9, 2, 6};
uint64_t lib_counter = 7;                    /* exported .data, via GOT */
const char lib_name[] = "libe2efar";

uint64_t lib_fill(uint32_t seed)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof lib_table / sizeof lib_table[0]; i++) {
        seed = seed * 1103515245u + 12345u;
        lib_table[i] = seed ^ lib_rodata[i & 7];
        sum += lib_table[i];
    }
    lib_counter += sum & 0xffff;
    return sum;
}

uint32_t lib_get(size_t i) { return lib_table[i % 4096]; }

uint64_t lib_apply(uint64_t (*fn)(uint64_t), uint64_t x)
{
    return fn(x) + lib_counter;
}
