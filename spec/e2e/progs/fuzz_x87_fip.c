// CFLAGS: -O2 -no-pie
/* Found by the differential fuzzer (spec/fuzz): the x87 last-instruction
 * pointer (FIP), which fnstenv, fnsave, fxsave and xsave store and which the
 * signal frame's FP state holds, is the address of the last x87 instruction
 * the CPU ran: under lurk the code cache's copy, not the program's. The
 * program prints where FIP points, relative to the fld it ran last. With
 * the argument "sig", only the signal frame (which lurk translates: case
 * fuzz_x87_fip_sig); without, fnstenv and fxsave64 too (xfail). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

extern char fld_env[], fld_fx[], fld_sig[];
static uint8_t env[28], fx[512] __attribute__((aligned(16)));

static void where(const char *what, uint64_t fip, const char *label)
{
    long d = (long)(fip - (uint64_t)(uintptr_t)label);
    if (d >= 0 && d < 16) printf("%-8s fip = fld+%ld\n", what, d);
    else printf("%-8s fip elsewhere (not the program's fld)\n", what);
}

static void on_ill(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)sig; (void)si;
    where("sigframe", uc->uc_mcontext.fpregs->rip, fld_sig);
    uc->uc_mcontext.gregs[REG_RIP] += 2;   /* past the ud2 */
}

/* Each probe once in the binary (its label is global). */
__attribute__((noinline)) static uint64_t probe_env(void)
{
    __asm__ volatile(".globl fld_env\nfld_env: fld1\n fnstenv %0\n fstp %%st(0)" : "=m"(env));
    uint32_t fip32;
    memcpy(&fip32, env + 12, 4);
    return fip32;
}

__attribute__((noinline)) static uint64_t probe_fx(void)
{
    __asm__ volatile(".globl fld_fx\nfld_fx: fldpi\n fxsave64 %0\n fstp %%st(0)" : "=m"(fx));
    uint64_t fip64;
    memcpy(&fip64, fx + 8, 8);
    return fip64;
}

int main(int argc, char **argv)
{
    int all = !(argc > 1 && !strcmp(argv[1], "sig"));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_ill;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &sa, 0);

    if (all) {
        where("fnstenv", probe_env(), fld_env);
        where("fxsave64", probe_fx(), fld_fx);
    }
    __asm__ volatile(".globl fld_sig\nfld_sig: fldz\n ud2\n fstp %%st(0)" ::: "memory");
    return 0;
}
