// CFLAGS: -O2
/* Generated code in an RWX mapping, rewritten in place with no system call
 * in between: three different function bodies (different lengths and
 * control flow) are written at the same address in turn, 300 times, and
 * each call must run the body just written. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef long (*fn)(long);

/* body A: return x * 3 + k           lea rax,[rdi+rdi*2]; add rax, imm32; ret */
static size_t body_a(unsigned char *p, int32_t k)
{
    unsigned char c[] = { 0x48, 0x8d, 0x04, 0x7f, 0x48, 0x05, 0, 0, 0, 0, 0xc3 };
    memcpy(c + 6, &k, 4);
    memcpy(p, c, sizeof c);
    return sizeof c;
}
/* body B: return sum of 1..x (a loop)   xor eax,eax; L: test rdi,rdi; jz E; add rax,rdi; dec rdi; jmp L; E: ret */
static size_t body_b(unsigned char *p)
{
    static const unsigned char c[] = { 0x31, 0xc0, 0x48, 0x85, 0xff, 0x74, 0x08, 0x48, 0x01, 0xf8,
                                       0x48, 0xff, 0xcf, 0xeb, 0xf3, 0xc3 };
    memcpy(p, c, sizeof c);
    return sizeof c;
}
/* body C: return -x                    mov rax, rdi; neg rax; ret */
static size_t body_c(unsigned char *p)
{
    static const unsigned char c[] = { 0x48, 0x89, 0xf8, 0x48, 0xf7, 0xd8, 0xc3 };
    memcpy(p, c, sizeof c);
    return sizeof c;
}

int main(void)
{
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    memset(p, 0xcc, 4096);
    fn f = (fn)p;
    long sum = 0;
    int wrong = 0;
    for (int i = 0; i < 300; i++) {
        long x = i % 50, want, got;
        switch (i % 3) {
        case 0: body_a(p, i); want = x * 3 + i; break;
        case 1: body_b(p); want = x * (x + 1) / 2; break;
        default: body_c(p); want = -x; break;
        }
        got = f(x);
        wrong += got != want;
        sum += got;
    }
    printf("300 rewrites: %d stale results, sum %ld\n", wrong, sum);
    return 0;
}
