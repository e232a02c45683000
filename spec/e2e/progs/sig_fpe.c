// CFLAGS: -O2
/* SIGFPE from an integer division by zero (idiv): the handler checks
 * si_code (FPE_INTDIV), si_addr and RIP (the idiv's label) and the dividend
 * registers, then resumes after the idiv (a second label) with RAX set to -1
 * in the context; the divide also runs without faulting in between. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

extern long div_probe(long a, long b);
extern char fpe_pc[], fpe_after[];
__asm__(
    ".text\n"
    ".globl div_probe, fpe_pc, fpe_after\n"
    "div_probe:\n"
    "  mov %rdi, %rax\n"
    "  mov %rsi, %rcx\n"
    "  cqo\n"
    "fpe_pc:\n"
    "  idiv %rcx\n"
    "fpe_after:\n"
    "  ret\n");

static int count, bad_code, bad_addr, bad_rip, bad_regs;
static long want_rax;

static void on_fpe(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    bad_code += sig != SIGFPE || si->si_code != FPE_INTDIV;
    bad_addr += si->si_addr != fpe_pc;
    bad_rip += (char *)g[REG_RIP] != fpe_pc;
    bad_regs += g[REG_RAX] != want_rax || g[REG_RCX] != 0 || g[REG_RDX] != (want_rax < 0 ? -1 : 0);
    count++;
    g[REG_RIP] = (greg_t)fpe_after;
    g[REG_RAX] = -1;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fpe;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, NULL);
    long sum = 0;
    for (long i = -50; i < 50; i++) {
        want_rax = i * 1000;
        sum += div_probe(i * 1000, i % 3);    /* every third divisor is zero */
    }
    printf("SIGFPE %d times; wrong: si_code %d, si_addr %d, rip %d, rax/rcx/rdx %d; sum %ld\n", count, bad_code,
           bad_addr, bad_rip, bad_regs, sum);
    return 0;
}
