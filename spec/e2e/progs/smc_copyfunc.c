// CFLAGS: -O2
/* A function copied to new mappings and called there: a position-independent
 * asm function (a hash with an inner loop), whose bytes lie between two
 * labels, is copied into a fresh RW mapping made RX, called 100,000 times
 * and compared with the original; then copied to a second mapping, the
 * first one unmapped, and the copy called again. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

extern uint32_t mix(uint32_t x);
extern char mix_end[];
__asm__(
    ".text\n"
    ".globl mix, mix_end\n"
    "mix:\n"
    "  mov %edi, %eax\n"
    "  mov $16, %ecx\n"
    "1:\n"
    "  imul $0x01000193, %eax, %eax\n"
    "  xor %ecx, %eax\n"
    "  rol $5, %eax\n"
    "  dec %ecx\n"
    "  jnz 1b\n"
    "  ret\n"
    "mix_end:\n");

typedef uint32_t (*fn)(uint32_t);

static fn copy_to_new_mapping(void)
{
    size_t n = (size_t)(mix_end - (char *)mix);
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    memcpy(p + 64, (void *)mix, n);
    mprotect(p, 4096, PROT_READ | PROT_EXEC);
    return (fn)(p + 64);
}

int main(void)
{
    fn a = copy_to_new_mapping();
    if (!a) { perror("mmap"); return 1; }
    uint32_t h = 0;
    int diff = 0;
    for (uint32_t i = 0; i < 100000; i++) {
        uint32_t r = a(i);
        diff += r != mix(i);
        h = h * 31 + r;
    }
    printf("first copy: %d differences, hash %08x\n", diff, h);
    fn b = copy_to_new_mapping();
    munmap((void *)((uintptr_t)a & ~(uintptr_t)4095), 4096);
    diff = 0, h = 0;
    for (uint32_t i = 0; i < 100000; i++) {
        uint32_t r = b(i * 3);
        diff += r != mix(i * 3);
        h = h * 31 + r;
    }
    printf("second copy: %d differences, hash %08x\n", diff, h);
    return 0;
}
