// CFLAGS: -O2
/* Generated code: write machine code into an mmapped page, run it, munmap
 * it, map DIFFERENT code at the same address with MAP_FIXED and run that.
 * Done with an RWX page, with an RW page flipped to RX by mprotect, and with
 * MAP_FIXED directly over a live mapping (no munmap).  Also generated code
 * that calls back into the program.  A code cache that kept the old
 * translation for the address would print the old results. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn0)(void);
typedef int (*fn1)(int);

static const unsigned char sum_loop[] = {     /* int f(int n): 1 + 2 + ... + n */
    0x31, 0xc0,                               /* xor eax, eax */
    0x85, 0xff,                               /* test edi, edi */
    0x74, 0x06,                               /* jz end */
    0x01, 0xf8,                               /* loop: add eax, edi */
    0xff, 0xcf,                               /* dec edi */
    0x75, 0xfa,                               /* jnz loop */
    0xc3,                                     /* end: ret */
};
static const unsigned char times3[] = {       /* int f(int n): 3 * n */
    0x8d, 0x04, 0x7f,                         /* lea eax, [rdi + rdi*2] */
    0xc3,
};

static void put_ret_imm(unsigned char *p, int32_t v)   /* mov eax, v; ret */
{
    p[0] = 0xb8;
    memcpy(p + 1, &v, 4);
    p[5] = 0xc3;
}

static int callback(int x) { return x * x; }

static void put_callback(unsigned char *p, int arg)    /* return callback(arg) + 1000 */
{
    static const unsigned char pre[] = { 0x48, 0x83, 0xec, 0x08, 0xbf };   /* sub rsp,8; mov edi, imm32 */
    static const unsigned char post[] = { 0xff, 0xd0,                      /* call rax */
                                          0x05, 0xe8, 0x03, 0x00, 0x00,    /* add eax, 1000 */
                                          0x48, 0x83, 0xc4, 0x08, 0xc3 };  /* add rsp,8; ret */
    uint64_t target = (uint64_t)(uintptr_t)callback;
    memcpy(p, pre, sizeof pre); p += sizeof pre;
    memcpy(p, &arg, 4); p += 4;
    *p++ = 0x48; *p++ = 0xb8;                                              /* movabs rax, imm64 */
    memcpy(p, &target, 8); p += 8;
    memcpy(p, post, sizeof post);
}

int main(void)
{
    const size_t sz = 4096;
    unsigned char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap rwx"); return 1; }

    /* 1. RWX page */
    put_ret_imm(p, 111);
    memcpy(p + 64, sum_loop, sizeof sum_loop);
    put_callback(p + 128, 12);
    printf("rwx #1: const=%d sum(100)=%d callback=%d\n", ((fn0)p)(), ((fn1)(p + 64))(100), ((fn0)(p + 128))());

    /* 2. munmap, then different code at the same address */
    munmap(p, sz);
    unsigned char *q = mmap(p, sz, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (q != p) { printf("MAP_FIXED did not return the same address\n"); return 1; }
    put_ret_imm(q, 222);
    memcpy(q + 64, times3, sizeof times3);
    put_callback(q + 128, 30);
    printf("rwx #2 (after munmap + MAP_FIXED): const=%d f(100)=%d callback=%d\n", ((fn0)q)(), ((fn1)(q + 64))(100), ((fn0)(q + 128))());

    /* 3. W^X style: RW, write, mprotect RX, run; unmap; again with new code */
    munmap(q, sz);
    for (int round = 0; round < 3; round++) {
        unsigned char *r = mmap(round ? p : NULL, sz, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | (round ? MAP_FIXED : 0), -1, 0);
        if (r == MAP_FAILED) { perror("mmap rw"); return 1; }
        if (!round) p = r;
        put_ret_imm(r, 1000 + round);
        if (round == 1) memcpy(r + 64, sum_loop, sizeof sum_loop);
        else memcpy(r + 64, times3, sizeof times3);
        if (mprotect(r, sz, PROT_READ | PROT_EXEC)) { perror("mprotect"); return 1; }
        printf("rx round %d: same address=%s const=%d f(10)=%d\n", round, r == p ? "yes" : "no",
               ((fn0)r)(), ((fn1)(r + 64))(10));
        if (round < 2) munmap(r, sz);
    }

    /* 4. MAP_FIXED straight over the live RX mapping, no munmap */
    unsigned char *s = mmap(p, sz, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (s != p) { printf("MAP_FIXED over live mapping moved\n"); return 1; }
    put_ret_imm(s, 4444);
    memcpy(s + 64, sum_loop, sizeof sum_loop);
    printf("replaced live mapping: const=%d sum(1000)=%d\n", ((fn0)s)(), ((fn1)(s + 64))(1000));

    /* 5. a two-page mapping: code in the second page, remapped page by page */
    munmap(s, sz);
    unsigned char *t = mmap(NULL, 2 * sz, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    put_ret_imm(t, 1);
    put_ret_imm(t + sz, 2);
    int a = ((fn0)t)(), b = ((fn0)(t + sz))();
    mmap(t + sz, sz, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    put_ret_imm(t + sz, 3);
    printf("two pages: %d %d then second page remapped: %d %d\n", a, b, ((fn0)t)(), ((fn0)(t + sz))());
    munmap(t, 2 * sz);
    return 0;
}
