// CFLAGS: -O2
/* Generated code with W^X: written while RW, mprotect'ed to RX and run,
 * mprotect'ed back to RW, changed (a different constant and operation),
 * back to RX and run again; 200 rounds on two functions in the same page. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn)(int);

/* mov eax, edi; add/xor/imul eax, imm32; ret */
static void emit(unsigned char *p, int op, int32_t k)
{
    unsigned char *c = p;
    *c++ = 0x89; *c++ = 0xf8;                            /* mov eax, edi */
    if (op == 0) { *c++ = 0x05; }                        /* add eax, imm32 */
    else if (op == 1) { *c++ = 0x35; }                   /* xor eax, imm32 */
    else { *c++ = 0x69; *c++ = 0xc0; }                   /* imul eax, eax, imm32 */
    memcpy(c, &k, 4); c += 4;
    *c = 0xc3;
}

int main(void)
{
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    fn f = (fn)p, g = (fn)(p + 2048);
    int wrong = 0;
    long sum = 0;
    for (int i = 0; i < 200; i++) {
        if (mprotect(p, 4096, PROT_READ | PROT_WRITE)) { perror("mprotect RW"); return 1; }
        emit(p, i % 3, i * 7);
        emit(p + 2048, (i + 1) % 3, i);
        if (mprotect(p, 4096, PROT_READ | PROT_EXEC)) { perror("mprotect RX"); return 1; }
        int x = i + 5;
        int wf = i % 3 == 0 ? x + i * 7 : i % 3 == 1 ? x ^ (i * 7) : x * (i * 7);
        int wg = (i + 1) % 3 == 0 ? x + i : (i + 1) % 3 == 1 ? x ^ i : x * i;
        int a = f(x), b = g(x);
        wrong += (a != wf) + (b != wg);
        sum += a + b;
    }
    printf("200 W^X rounds: %d stale results, sum %ld\n", wrong, sum);
    return 0;
}
