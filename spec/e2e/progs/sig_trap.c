// CFLAGS: -O2
/* SIGTRAP from int3: the handler sees RIP just after the int3 (a global
 * label), trap number 3 and the si_code the kernel gives an int3; returning
 * from the handler continues after the int3. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

extern long trap_probe(long x);
extern char trap_after[];
__asm__(
    ".text\n"
    ".globl trap_probe, trap_after\n"
    "trap_probe:\n"
    "  lea 7(%rdi), %rax\n"
    "  int3\n"
    "trap_after:\n"
    "  add %rax, %rax\n"
    "  ret\n");

static int count, bad, code = -1, trapno = -1;

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    if (sig != SIGTRAP || (char *)uc->uc_mcontext.gregs[REG_RIP] != trap_after) bad++;
    code = si->si_code;
    trapno = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    count++;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, NULL);
    long sum = 0;
    for (long i = 0; i < 100; i++) sum += trap_probe(i);
    printf("SIGTRAP %d times, %d with a wrong rip, si_code %s (%d), trapno %d, sum %ld\n", count, bad,
           code == SI_KERNEL ? "SI_KERNEL" : code == TRAP_BRKPT ? "TRAP_BRKPT" : "other", code, trapno, sum);
    return 0;
}
