// CFLAGS: -O2 -no-pie
/* Found by the differential fuzzer (spec/fuzz): the x87 last-instruction
 * pointer (FIP), which fnstenv, fnsave, fxsave and xsave store and which the
 * signal frame's FP state holds, is the address of the last x87 instruction
 * the CPU ran: under lurk the code cache's copy, not the program's. The
 * program prints where FIP points, relative to the fld it ran last. With
 * the argument "sig", only the signal frame (which lurk translates: case
 * fuzz_x87_fip_sig); without, every instruction that stores it too:
 * fnstenv, fnsave, fxsave (32-bit format), fxsave64, xsave64, xsavec64
 * (x87 requested in the mask), after an fld in the same block or in an
 * earlier one (a jump in between), a save after fldenv put a value of the
 * program's own back (kept as it is), and an xsave64 whose mask leaves the
 * x87 state out (the bytes are left alone). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

extern char fld_env[], fld_fx[], fld_sig[], fld_sv[], fld_fx32[], fld_xs[], fld_xc[], fld_far[];
static uint8_t env[28], fx[512] __attribute__((aligned(16)));
static uint8_t sv[108], xs[4096] __attribute__((aligned(64)));

static void where(const char *what, uint64_t fip, const char *label)
{
    long d = (long)(fip - (uint64_t)(uintptr_t)label);
    if (d >= 0 && d < 16) printf("%-8s fip = fld+%ld\n", what, d);
    else printf("%-8s fip elsewhere (not the program's fld)\n", what);
}

/* expr (a probe) again while the FIP it returns is not at label, up to 20
** times: on AMD a preemption between the fld and the save zeroes the
** pointers (natively too, but there the window is one instruction; under a
** clean call before every instruction it is long enough to be hit under
** load, and case fuzz_x87_fip_cc failed so once). */
#define PROBE(expr, label)                                                     \
    ({                                                                         \
        uint64_t f_ = 0;                                                       \
        for (int i_ = 0; i_ < 20; i_++) {                                      \
            f_ = (expr);                                                       \
            long d_ = (long)(f_ - (uint64_t)(uintptr_t)(label));               \
            if (d_ >= 0 && d_ < 16) break;                                     \
        }                                                                      \
        f_;                                                                    \
    })

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

__attribute__((noinline)) static uint64_t probe_fnsave(void)
{
    __asm__ volatile(".globl fld_sv\nfld_sv: fld1\n fnsave %0\n" : "=m"(sv));
    uint32_t fip32;
    memcpy(&fip32, sv + 12, 4);
    return fip32;
}

__attribute__((noinline)) static uint64_t probe_fx32(void)
{
    __asm__ volatile(".globl fld_fx32\nfld_fx32: fldz\n fxsave %0\n fstp %%st(0)" : "=m"(fx));
    uint32_t fip32;
    memcpy(&fip32, fx + 8, 4);
    return fip32;
}

/* xsave64/xsavec64 with edx:eax = mask. */
__attribute__((noinline)) static uint64_t probe_xsave(int compact, uint32_t mask)
{
    memset(xs, 0xa5, sizeof xs);
    if (compact)
        __asm__ volatile(".globl fld_xc\nfld_xc: fld1\n xsavec64 %0\n fstp %%st(0)" : "=m"(xs) : "a"(mask), "d"(0));
    else
        __asm__ volatile(".globl fld_xs\nfld_xs: fldpi\n xsave64 %0\n fstp %%st(0)" : "=m"(xs) : "a"(mask), "d"(0));
    uint64_t fip64;
    memcpy(&fip64, xs + 8, 8);
    return fip64;
}

/* The fld and the save in different blocks: a jump between them. */
__attribute__((noinline)) static uint64_t probe_far(void)
{
    __asm__ volatile(".globl fld_far\nfld_far: fld1\n jmp 1f\n nop\n1: fxsave64 %0\n fstp %%st(0)" : "=m"(fx));
    uint64_t fip64;
    memcpy(&fip64, fx + 8, 8);
    return fip64;
}

/* fldenv puts a FIP of the program's own (0x1234) back: a save stores it. */
__attribute__((noinline)) static uint64_t probe_fldenv(void)
{
    uint8_t e[28];
    __asm__ volatile("fnstenv %0" : "=m"(e));
    uint32_t v = 0x1234;
    memcpy(e + 12, &v, 4);
    __asm__ volatile("fldenv %1\n fxsave64 %0" : "=m"(fx) : "m"(e));
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
        where("fnstenv", PROBE(probe_env(), fld_env), fld_env);
        where("fxsave64", PROBE(probe_fx(), fld_fx), fld_fx);
        where("fnsave", PROBE(probe_fnsave(), fld_sv), fld_sv);
        where("fxsave", PROBE(probe_fx32(), fld_fx32), fld_fx32);
        where("xsave64", PROBE(probe_xsave(0, 3), fld_xs), fld_xs);
        where("xsavec64", PROBE(probe_xsave(1, 3), fld_xc), fld_xc);
        where("far", PROBE(probe_far(), fld_far), fld_far);
        printf("fldenv   fip = 0x%lx\n", (unsigned long)probe_fldenv());
        printf("xsave64 without x87: bytes %s\n", probe_xsave(0, 2) == 0xa5a5a5a5a5a5a5a5ull ? "untouched" : "written");
    }
    __asm__ volatile(".globl fld_sig\nfld_sig: fldz\n ud2\n fstp %%st(0)" ::: "memory");
    return 0;
}
