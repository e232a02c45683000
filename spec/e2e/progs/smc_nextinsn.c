// CFLAGS: -O2
/* Code that modifies its own next instructions, in the same basic block,
 * and then runs them: (1) a store that turns the very next instruction from
 * "add eax, esi" into "sub eax, esi" (or back), toggled on every call;
 * (2) a store that rewrites the opcode of an instruction four instructions
 * further down the same straight-line block.  Natively x86 guarantees the
 * new bytes run. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn)(int, int, int);

int main(void)
{
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }

    /* f(a, b, opc): mov eax, edi; mov byte [rip+0], dl  (the opcode byte of the
     * next instruction); add eax, esi  (01 f0, or 29 f0 = sub); ret */
    unsigned char *c = p;
    *c++ = 0x89; *c++ = 0xf8;                          /* mov eax, edi */
    *c++ = 0x88; *c++ = 0x15; *c++ = 0; *c++ = 0; *c++ = 0; *c++ = 0;   /* mov [rip+0], dl */
    *c++ = 0x01; *c++ = 0xf0;                          /* add eax, esi  <- patched */
    *c++ = 0xc3;
    fn f = (fn)p;
    printf("next instruction:");
    long sum = 0;
    for (int i = 0; i < 1000; i++) {
        int r = f(100, i, (i & 1) ? 0x29 : 0x01);
        if (i < 6) printf(" %d", r);
        sum += r;
    }
    printf(" ... sum %ld\n", sum);

    /* g(a, b, opc): mov eax, edi; mov byte [rip+d], dl; nop; inc eax; inc eax;
     * xor eax, esi  (31 f0 <- patched: 01 = add, 29 = sub, 21 = and); ret */
    unsigned char *q = p + 1024;
    c = q;
    *c++ = 0x89; *c++ = 0xf8;
    *c++ = 0x88; *c++ = 0x15;
    unsigned char *disp = c; c += 4;
    *c++ = 0x90;
    *c++ = 0xff; *c++ = 0xc0;                          /* inc eax */
    *c++ = 0xff; *c++ = 0xc0;                          /* inc eax */
    int32_t d = (int32_t)(c - (disp + 4));
    memcpy(disp, &d, 4);
    *c++ = 0x31; *c++ = 0xf0;                          /* xor eax, esi <- patched */
    *c++ = 0xc3;
    fn g = (fn)q;
    static const unsigned char ops[] = { 0x31, 0x01, 0x29, 0x21 };
    printf("further down the block:");
    for (int i = 0; i < 8; i++) printf(" %d", g(1000, 0x7f, ops[i % 4]));
    printf("\n");
    return 0;
}
