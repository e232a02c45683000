// CFLAGS: -O2
/* SIGILL from ud2: the handler checks si_code (ILL_ILLOPN), si_addr and RIP
 * (both the address of the ud2, a global asm label), counts, advances RIP by
 * 2 and returns; the code after the ud2 runs and sees its registers. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

extern long ill_probe(long x);
extern char ill_pc[];
__asm__(
    ".text\n"
    ".globl ill_probe, ill_pc\n"
    "ill_probe:\n"
    "  lea 1(%rdi), %rax\n"
    "ill_pc:\n"
    "  ud2\n"
    "  imul $3, %rax, %rax\n"
    "  ret\n");

static int count, bad_code, bad_addr, bad_rip;

static void on_ill(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    bad_code += sig != SIGILL || si->si_code != ILL_ILLOPN;
    bad_addr += si->si_addr != ill_pc;
    bad_rip += (char *)uc->uc_mcontext.gregs[REG_RIP] != ill_pc;
    count++;
    uc->uc_mcontext.gregs[REG_RIP] += 2;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_ill;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &sa, NULL);
    long sum = 0;
    for (long i = 0; i < 1000; i++) sum += ill_probe(i);
    printf("SIGILL %d times; wrong: si_code %d, si_addr %d, rip %d; sum %ld\n", count, bad_code, bad_addr, bad_rip, sum);
    return 0;
}
