// CFLAGS: -O2
/* Code mapped twice: a memfd JIT (as .NET's and Firefox's W^X modes do)
 * writes its code through a read/write MAP_SHARED view and runs it through
 * a separate read/exec view of the same memfd; the executable view is never
 * written at its own address. 300 rounds rewrite an immediate (mov eax,
 * imm32; ret) and call it; then 100 rounds switch between two different
 * bodies (lea eax, [rdi+k]; ret and imul eax, edi, k; ret) at the same
 * address, and a function on the second page is written after it ran. Any
 * stale translation shows as a wrong result. Also the same through a
 * second RW view made by mremap of the first. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn_t)(int);

static void put_mov(uint8_t *w, uint32_t imm)
{
    w[0] = 0xb8; /* mov eax, imm32 */
    memcpy(w + 1, &imm, 4);
    w[5] = 0xc3;
}

static void put_lea(uint8_t *w, int8_t k)
{
    uint8_t c[] = { 0x8d, 0x47, (uint8_t)k, 0xc3 }; /* lea eax, [rdi+k]; ret */
    memcpy(w, c, sizeof c);
}

static void put_imul(uint8_t *w, int8_t k)
{
    uint8_t c[] = { 0x6b, 0xc7, (uint8_t)k, 0xc3 }; /* imul eax, edi, k; ret */
    memcpy(w, c, sizeof c);
}

static int rounds(const char *name, uint8_t *rw, uint8_t *rx)
{
    int bad = 0;
    fn_t f = (fn_t)(void *)rx;
    for (uint32_t i = 0; i < 300; i++) {
        put_mov(rw, 1000 + i);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (f(0) != (int)(1000 + i)) bad++;
    }
    for (int i = 0; i < 100; i++) {
        int k = i % 50;
        if (i & 1) put_imul(rw, (int8_t)k); else put_lea(rw, (int8_t)k);
        int want = (i & 1) ? 7 * k : 7 + k;
        if (f(7) != want) bad++;
    }
    fn_t g = (fn_t)(void *)(rx + 4096 + 64);
    put_mov(rw + 4096 + 64, 5);
    int first = g(0);
    put_mov(rw + 4096 + 64, 6);
    int second = g(0);
    printf("%s: %d wrong results; second page: %d then %d\n", name, bad, first, second);
    return bad;
}

int main(void)
{
    int fd = memfd_create("jit", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 8192) != 0) { perror("memfd"); return 1; }
    uint8_t *rw = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    uint8_t *rx = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (rw == MAP_FAILED || rx == MAP_FAILED) { perror("mmap"); return 1; }
    printf("views differ: %s\n", rw != rx ? "yes" : "no");
    int bad = rounds("rw view", rw, rx);
    uint8_t *rw2 = mremap(rw, 0, 8192, MREMAP_MAYMOVE); /* a second view of the same pages */
    if (rw2 == MAP_FAILED) { perror("mremap"); return 1; }
    bad += rounds("mremap'd rw view", rw2, rx);
    printf("total wrong: %d\n", bad);
    return 0;
}
