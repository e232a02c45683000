// CFLAGS: -O2
/* Code that shares its page with data written all the time: a generated
 * function increments a counter that lives on its own page (with an
 * rip-relative "inc qword") and returns a constant plus its argument; the C
 * loop also writes another word of that page on every iteration.  Halfway
 * through, the function's constant is rewritten once, and the new constant
 * must take effect at once.  30,000 iterations. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef long (*fn)(long);

int main(void)
{
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    volatile uint64_t *counter = (uint64_t *)(p + 2048), *cdata = (uint64_t *)(p + 3072);
    /* inc qword [rip+X] (counter); mov eax, imm32; add rax, rdi; ret */
    unsigned char *c = p;
    *c++ = 0x48; *c++ = 0xff; *c++ = 0x05;
    int32_t d = (int32_t)((unsigned char *)counter - (c + 4));
    memcpy(c, &d, 4); c += 4;
    *c++ = 0xb8;
    unsigned char *imm = c;
    int32_t k = 1000;
    memcpy(c, &k, 4); c += 4;
    *c++ = 0x48; *c++ = 0x01; *c++ = 0xf8;
    *c++ = 0xc3;
    fn f = (fn)p;
    long sum = 0;
    int stale = 0;
    for (long i = 0; i < 30000; i++) {
        *cdata += i;                       /* data write on the code's page */
        if (i == 15000) { k = 5000; memcpy(imm, &k, 4); }
        long r = f(i);
        stale += r != k + i;
        sum += r;
    }
    printf("counter %llu, data %llu, stale results %d, sum %ld\n", (unsigned long long)*counter,
           (unsigned long long)*cdata, stale, sum);
    return 0;
}
