// CFLAGS: -O2 -no-pie
/* Found by the differential fuzzer (spec/fuzz): the resume flag (RF, bit 16
 * of rflags) in the signal frame of a fault. The CPU sets RF in the flags it
 * saves for every fault-class exception, so a handler sees RF=1 for #UD,
 * #GP and #PF, and RF=0 after int3 (a trap). lurk raises some of these
 * itself (an instruction it does not translate, a fetch from an unmapped
 * page) and must set RF as the CPU does. Each probe prints the signal and
 * the RF bit, then the handler skips the instruction. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#define PROBE(name, insn)                                                   \
    __asm__(".text\n.globl " #name "\n" #name ":\n"                        \
            "  lea 7(%rdi), %rax\n  " insn "\n  ret\n");                    \
    extern long name(long);

PROBE(p_ud2, "ud2")
PROBE(p_into, ".byte 0xce")                    /* #UD in 64-bit mode */
PROBE(p_salc, ".byte 0xd6")
PROBE(p_locknop, ".byte 0xf0, 0x90")
PROBE(p_hlt, "hlt")                            /* #GP */
PROBE(p_int81, "int $0x81")                    /* #GP */
PROBE(p_load, "mov 0x10, %rax")                /* #PF on a load */
PROBE(p_int3, "int3")                          /* a trap: RF clear */
PROBE(p_wild, "mov $0x7000, %rax\n  jmp *%rax") /* #PF on the fetch */

static sigjmp_buf jb;
static volatile int got_sig;
static volatile long got_rf;

static void on_sig(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)si;
    got_sig = sig;
    got_rf = (uc->uc_mcontext.gregs[REG_EFL] >> 16) & 1;
    siglongjmp(jb, 1);
}

static void probe(const char *name, long (*f)(long))
{
    got_sig = 0;
    if (!sigsetjmp(jb, 1)) f(1);
    printf("%-8s signal %2d RF %ld\n", name, got_sig, got_rf);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGILL, &sa, 0);
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGTRAP, &sa, 0);
    probe("ud2", p_ud2);
    probe("into", p_into);
    probe("salc", p_salc);
    probe("locknop", p_locknop);
    probe("hlt", p_hlt);
    probe("int81", p_int81);
    probe("load", p_load);
    probe("int3", p_int3);
    probe("wild", p_wild);
    return 0;
}
