// CFLAGS: -O2
/* Self-modifying code in an RWX page, with NO system call between the write
 * and the execution: (1) C code rewrites the immediate of a generated
 * function before each call, (2) a generated function stores into its own
 * next instruction and then executes it, (3) a generated loop whose body is
 * patched from inside the loop.  Natively x86 guarantees the new bytes run. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn0)(void);
typedef int (*fn1)(int);

int main(void)
{
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }

    /* 1. mov eax, imm32; ret -- imm rewritten from C before each call */
    p[0] = 0xb8; p[5] = 0xc3;
    long sum = 0;
    for (int32_t i = 0; i < 1000; i++) {
        memcpy(p + 1, &i, 4);
        int r = ((fn0)p)();
        sum += r;
        if (r != i) { printf("stale code at call %d: got %d\n", i, r); break; }
    }
    printf("rewritten immediate: sum=%ld\n", sum);

    /* 2. int f(int v) { patch own next insn's imm32 with v; mov eax, <patched>; ret } */
    static const unsigned char selfpatch[] = {
        0x89, 0x3d, 0x01, 0x00, 0x00, 0x00,   /* mov [rip+1], edi  (imm32 of the next insn) */
        0xb8, 0x00, 0x00, 0x00, 0x00,         /* mov eax, 0  <- patched */
        0xc3,
    };
    memcpy(p + 256, selfpatch, sizeof selfpatch);
    printf("self-patching insn:");
    for (int v = 5; v < 50000; v *= 7) printf(" %d", ((fn1)(p + 256))(v));
    printf("\n");

    /* 3. loop that flips its own "add eax, 1" into "add eax, 2" half way:
     *      xor eax,eax; mov ecx,edi
     *    L: add eax, imm8      (83 c0 ib)       <- imm8 patched
     *      cmp ecx, esi; jne S; mov byte [rip+X], 2   (patch imm8 above)
     *    S: dec ecx; jnz L; ret
     *    f(n=10, at=5): adds 1 for the iterations before the patch, then 2. */
    unsigned char *q = p + 512, *c = q;
    *c++ = 0x31; *c++ = 0xc0;                 /* xor eax, eax */
    *c++ = 0x89; *c++ = 0xf9;                 /* mov ecx, edi */
    unsigned char *loop = c;
    *c++ = 0x83; *c++ = 0xc0; unsigned char *imm = c; *c++ = 0x01;   /* add eax, 1 */
    *c++ = 0x39; *c++ = 0xf1;                 /* cmp ecx, esi */
    *c++ = 0x75; *c++ = 0x07;                 /* jne +7 (skip the 7-byte store) */
    *c++ = 0xc6; *c++ = 0x05;                 /* mov byte [rip+disp32], imm8 */
    int32_t disp = (int32_t)(imm - (c + 5));
    memcpy(c, &disp, 4); c += 4;
    *c++ = 0x02;
    *c++ = 0xff; *c++ = 0xc9;                 /* dec ecx */
    *c++ = 0x75; *c = (unsigned char)(loop - (c + 1)); c++;   /* jnz loop */
    *c++ = 0xc3;
    int (*f)(int, int) = (int (*)(int, int))q;
    int r1 = f(10, 5);
    *imm = 1;                                 /* reset */
    int r2 = f(100000, 1);
    *imm = 1;
    int r3 = f(100000, 99999);
    printf("loop patching itself: %d %d %d\n", r1, r2, r3);
    munmap(p, 4096);
    return 0;
}
