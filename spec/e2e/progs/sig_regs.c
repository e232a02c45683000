// CFLAGS: -O2
/* rt_sigreturn restores the whole interrupted state after a normal handler
 * return: asm probes set every general register, xmm0-15 and the flags, then
 * (1) take a SIGTRAP from int3 (synchronous) or (2) spin on a memory flag
 * until a SIGALRM from a one-shot timer sets it (asynchronous, lands
 * anywhere in the loop).  The handlers clobber all xmm registers and many
 * general ones; after the handler the probe stores what it sees. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

extern void probe_trap(void), probe_spin(void);
uint64_t after[16], after_flags;
unsigned char after_xmm[256], xmm_init[256];
volatile uint8_t spin_flag;

#define SETUP                                                                         \
    "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"            \
    "  mov %rsp, saved_rsp(%rip)\n"                                                   \
    "  movdqu xmm_init+0(%rip), %xmm0;    movdqu xmm_init+16(%rip), %xmm1\n"          \
    "  movdqu xmm_init+32(%rip), %xmm2;   movdqu xmm_init+48(%rip), %xmm3\n"          \
    "  movdqu xmm_init+64(%rip), %xmm4;   movdqu xmm_init+80(%rip), %xmm5\n"          \
    "  movdqu xmm_init+96(%rip), %xmm6;   movdqu xmm_init+112(%rip), %xmm7\n"         \
    "  movdqu xmm_init+128(%rip), %xmm8;  movdqu xmm_init+144(%rip), %xmm9\n"         \
    "  movdqu xmm_init+160(%rip), %xmm10; movdqu xmm_init+176(%rip), %xmm11\n"        \
    "  movdqu xmm_init+192(%rip), %xmm12; movdqu xmm_init+208(%rip), %xmm13\n"        \
    "  movdqu xmm_init+224(%rip), %xmm14; movdqu xmm_init+240(%rip), %xmm15\n"        \
    "  movabs $0xa1a1a1a1a1a1a1a1, %rax; movabs $0xb2b2b2b2b2b2b2b2, %rbx\n"          \
    "  movabs $0xc3c3c3c3c3c3c3c3, %rcx; movabs $0xd4d4d4d4d4d4d4d4, %rdx\n"          \
    "  movabs $0xe5e5e5e5e5e5e5e5, %rsi; movabs $0xf6f6f6f6f6f6f6f6, %rdi\n"          \
    "  movabs $0x0717071707170717, %rbp; movabs $0x1828182818281828, %r8\n"           \
    "  movabs $0x2939293929392939, %r9;  movabs $0x3a4a3a4a3a4a3a4a, %r10\n"          \
    "  movabs $0x4b5b4b5b4b5b4b5b, %r11; movabs $0x5c6c5c6c5c6c5c6c, %r12\n"          \
    "  movabs $0x6d7d6d7d6d7d6d7d, %r13; movabs $0x7e8e7e8e7e8e7e8e, %r14\n"          \
    "  movabs $0x8f9f8f9f8f9f8f9f, %r15\n"
#define STORE                                                                         \
    "  pushfq; popq after_flags(%rip)\n"                                              \
    "  mov %rax, after+0(%rip);  mov %rbx, after+8(%rip);  mov %rcx, after+16(%rip)\n"\
    "  mov %rdx, after+24(%rip); mov %rsi, after+32(%rip); mov %rdi, after+40(%rip)\n"\
    "  mov %rbp, after+48(%rip); mov %rsp, after+56(%rip); mov %r8, after+64(%rip)\n" \
    "  mov %r9, after+72(%rip);  mov %r10, after+80(%rip); mov %r11, after+88(%rip)\n"\
    "  mov %r12, after+96(%rip); mov %r13, after+104(%rip); mov %r14, after+112(%rip)\n"\
    "  mov %r15, after+120(%rip)\n"                                                   \
    "  movdqu %xmm0, after_xmm+0(%rip);    movdqu %xmm1, after_xmm+16(%rip)\n"        \
    "  movdqu %xmm2, after_xmm+32(%rip);   movdqu %xmm3, after_xmm+48(%rip)\n"        \
    "  movdqu %xmm4, after_xmm+64(%rip);   movdqu %xmm5, after_xmm+80(%rip)\n"        \
    "  movdqu %xmm6, after_xmm+96(%rip);   movdqu %xmm7, after_xmm+112(%rip)\n"       \
    "  movdqu %xmm8, after_xmm+128(%rip);  movdqu %xmm9, after_xmm+144(%rip)\n"       \
    "  movdqu %xmm10, after_xmm+160(%rip); movdqu %xmm11, after_xmm+176(%rip)\n"      \
    "  movdqu %xmm12, after_xmm+192(%rip); movdqu %xmm13, after_xmm+208(%rip)\n"      \
    "  movdqu %xmm14, after_xmm+224(%rip); movdqu %xmm15, after_xmm+240(%rip)\n"      \
    "  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"                  \
    "  ret\n"
__asm__(".data\nsaved_rsp: .quad 0\n.text\n"
        ".globl probe_trap, probe_spin\n"
        "probe_trap:\n" SETUP
        "  cmp %eax, %eax\n  stc\n"            /* CF ZF PF set */
        "  int3\n" STORE
        "probe_spin:\n" SETUP
        "1: cmpb $0, spin_flag(%rip)\n"         /* flags from 1 - 0: all of CF PF AF ZF SF OF clear */
        "  je 1b\n" STORE);
extern uint64_t saved_rsp;

static volatile int handled;
static void clobber(int sig)
{
    (void)sig;
    handled++;
    spin_flag = 1;
    __asm__ volatile("pcmpeqb %%xmm0, %%xmm0; pxor %%xmm1, %%xmm1; pcmpeqb %%xmm2, %%xmm2; pxor %%xmm3, %%xmm3\n"
                     "pcmpeqb %%xmm4, %%xmm4; pxor %%xmm5, %%xmm5; pcmpeqb %%xmm6, %%xmm6; pxor %%xmm7, %%xmm7\n"
                     "pcmpeqb %%xmm8, %%xmm8; pxor %%xmm9, %%xmm9; pcmpeqb %%xmm10, %%xmm10; pxor %%xmm11, %%xmm11\n"
                     "pcmpeqb %%xmm12, %%xmm12; pxor %%xmm13, %%xmm13; pcmpeqb %%xmm14, %%xmm14; pxor %%xmm15, %%xmm15\n"
                     "mov $-1, %%rax; mov $-1, %%rcx; mov $-1, %%rdx; mov $-1, %%rsi; mov $-1, %%rdi\n"
                     "mov $-1, %%r8; mov $-1, %%r9; mov $-1, %%r10; mov $-1, %%r11; xor %%eax, %%eax\n"
                     ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2",
                     "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
                     "xmm14", "xmm15", "cc");
}

static int check(uint64_t want_flags)
{
    static const uint64_t want[16] = { 0xa1a1a1a1a1a1a1a1, 0xb2b2b2b2b2b2b2b2, 0xc3c3c3c3c3c3c3c3, 0xd4d4d4d4d4d4d4d4,
                                       0xe5e5e5e5e5e5e5e5, 0xf6f6f6f6f6f6f6f6, 0x0717071707170717, 0,
                                       0x1828182818281828, 0x2939293929392939, 0x3a4a3a4a3a4a3a4a, 0x4b5b4b5b4b5b4b5b,
                                       0x5c6c5c6c5c6c5c6c, 0x6d7d6d7d6d7d6d7d, 0x7e8e7e8e7e8e7e8e, 0x8f9f8f9f8f9f8f9f };
    int bad = 0;
    for (int i = 0; i < 16; i++) bad += after[i] != (i == 7 ? saved_rsp : want[i]);
    for (int i = 0; i < 16; i++) bad += memcmp(after_xmm + 16 * i, xmm_init + 16 * i, 16) != 0;
    bad += (after_flags & 0xcd5) != want_flags;
    return bad;
}

int main(void)
{
    for (int i = 0; i < 256; i++) xmm_init[i] = (unsigned char)(i * 7 + 3);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = clobber;
    sigaction(SIGTRAP, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);

    int bad = 0;
    for (int i = 0; i < 50; i++) {
        probe_trap();
        bad += check(0x45);
    }
    printf("int3: %d handled, %d wrong values after return\n", handled, bad);

    handled = 0, bad = 0;
    for (int i = 0; i < 20; i++) {
        spin_flag = 0;
        struct itimerval it = { { 0, 0 }, { 0, 1000 + i * 100 } };   /* one shot */
        setitimer(ITIMER_REAL, &it, NULL);
        probe_spin();
        bad += check(0);
    }
    printf("timer during a spin: %d handled, %d wrong values after return\n", handled, bad);
    return 0;
}
