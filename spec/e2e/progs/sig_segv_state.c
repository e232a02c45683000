// CFLAGS: -O2
/* A synchronous SIGSEGV reaches the handler with the exact machine state:
 * an asm probe sets every general register, the flags, xmm0, xmm15 and
 * MXCSR to known values and loads from a bad pointer at a global label.  The
 * handler checks si_addr, si_code, RIP (the label), RSP, each register,
 * the flags, the FP state in uc_mcontext.fpregs, trapno/err/cr2 and the
 * signal masks, then changes RIP (to a resume label) and RAX in the context;
 * the probe returns that RAX and stores the registers as they were after the
 * handler returned, which must be unchanged.  Done for a PROT_NONE page
 * (SEGV_ACCERR) and an unmapped one (SEGV_MAPERR). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

/* long segv_probe(void *bad, const void *xmmvals[32 bytes], const uint32_t *mxcsr) */
extern long segv_probe(void *bad, const void *xmm, const uint32_t *mxcsr);
extern char segv_fault_pc[], segv_resume[];
uint64_t probe_rsp, after[16];
unsigned char after_xmm[32];
__asm__(
    ".text\n"
    ".globl segv_probe, segv_fault_pc, segv_resume\n"
    ".type segv_probe, @function\n"
    "segv_probe:\n"
    "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
    "  sub $8, %rsp\n"
    "  stmxcsr (%rsp)\n"
    "  ldmxcsr (%rdx)\n"
    "  movdqu (%rsi), %xmm0\n"
    "  movdqu 16(%rsi), %xmm15\n"
    "  mov %rsp, probe_rsp(%rip)\n"
    "  cmp %eax, %eax\n"                       /* ZF PF set, CF SF OF AF clear */
    "  stc\n"                                  /* CF set */
    "  movabs $0x1111111111111111, %rax\n"
    "  movabs $0x2222222222222222, %rbx\n"
    "  movabs $0x3333333333333333, %rcx\n"
    "  movabs $0x4444444444444444, %rdx\n"
    "  movabs $0x5555555555555555, %rsi\n"
    "  movabs $0x6666666666666666, %rbp\n"
    "  movabs $0x0808080808080808, %r8\n"
    "  movabs $0x0909090909090909, %r9\n"
    "  movabs $0x1010101010101010, %r10\n"
    "  movabs $0x7fffffffffffff11, %r11\n"
    "  movabs $0x8000000000000012, %r12\n"
    "  movabs $0x1313131313131313, %r13\n"
    "  movabs $0xfedcba9876543214, %r14\n"
    "  movabs $0x0123456789abcdef, %r15\n"
    "segv_fault_pc:\n"
    "  mov (%rdi), %rcx\n"                     /* faults; the handler resumes below */
    "  ud2\n"
    "segv_resume:\n"
    "  mov %rax, after+0(%rip);  mov %rbx, after+8(%rip);  mov %rcx, after+16(%rip); mov %rdx, after+24(%rip)\n"
    "  mov %rsi, after+32(%rip); mov %rdi, after+40(%rip); mov %rbp, after+48(%rip); mov %rsp, after+56(%rip)\n"
    "  mov %r8, after+64(%rip);  mov %r9, after+72(%rip);  mov %r10, after+80(%rip); mov %r11, after+88(%rip)\n"
    "  mov %r12, after+96(%rip); mov %r13, after+104(%rip); mov %r14, after+112(%rip); mov %r15, after+120(%rip)\n"
    "  movdqu %xmm0, after_xmm(%rip)\n"
    "  movdqu %xmm15, after_xmm+16(%rip)\n"
    "  ldmxcsr (%rsp)\n"
    "  add $8, %rsp\n"
    "  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
    "  ret\n"
    ".size segv_probe, .-segv_probe\n");

static const char *regname[] = { "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi",
                                 "rbp", "rbx", "rdx", "rax", "rcx", "rsp", "rip" };
static void *expect_addr;
static unsigned char xmmvals[32];
static char report[4096];
static int rlen;
#define SAY(...) (rlen += snprintf(report + rlen, sizeof report - rlen, __VA_ARGS__))

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    SAY("signal %s, si_code %s, si_addr %s\n", sig == SIGSEGV ? "SIGSEGV" : "other",
        si->si_code == SEGV_ACCERR ? "SEGV_ACCERR" : si->si_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other",
        si->si_addr == expect_addr ? "= the bad pointer" : "WRONG");
    SAY("rip %s\n", (char *)g[REG_RIP] == segv_fault_pc ? "= segv_fault_pc" : "WRONG");
    SAY("rsp %s\n", (uint64_t)g[REG_RSP] == probe_rsp ? "= the probe's rsp" : "WRONG");
    SAY("rdi %s\n", (void *)g[REG_RDI] == expect_addr ? "= the bad pointer" : "WRONG");
    for (int r = REG_R8; r <= REG_RCX; r++)
        if (r != REG_RDI) SAY("%s=%016llx\n", regname[r], (unsigned long long)g[r]);
    SAY("flags CF PF AF ZF SF DF OF = %03llx\n", (unsigned long long)(g[REG_EFL] & 0xcd5));
    SAY("trapno %lld err %lld cr2 %s\n", (long long)g[REG_TRAPNO], (long long)g[REG_ERR],
        (void *)g[REG_CR2] == expect_addr ? "= the bad pointer" : "WRONG");
    struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    SAY("mxcsr %04x\n", fp->mxcsr);
    SAY("xmm0 %s, xmm15 %s\n", memcmp(&fp->_xmm[0], xmmvals, 16) ? "WRONG" : "ok",
        memcmp(&fp->_xmm[15], xmmvals + 16, 16) ? "WRONG" : "ok");
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    SAY("SIGSEGV blocked in the handler %d, in uc_sigmask %d\n", sigismember(&now, SIGSEGV),
        sigismember(&uc->uc_sigmask, SIGSEGV));
    g[REG_RIP] = (greg_t)segv_resume;
    g[REG_RAX] = 0x600d;
    g[REG_RCX] = 0x5eed;                       /* the load "returned" this */
}

static void run(const char *what, void *bad)
{
    static const uint32_t mxcsr = 0x7f80;      /* round toward zero, all masked */
    expect_addr = bad;
    rlen = 0;
    long r = segv_probe(bad, xmmvals, &mxcsr);
    printf("== %s\n%s", what, report);
    printf("probe returned %lx\n", r);
    static const uint64_t want[16] = { 0x600d, 0x2222222222222222, 0x5eed, 0x4444444444444444, 0x5555555555555555, 0,
                                       0x6666666666666666, 0, 0x0808080808080808, 0x0909090909090909,
                                       0x1010101010101010, 0x7fffffffffffff11, 0x8000000000000012,
                                       0x1313131313131313, 0xfedcba9876543214, 0x0123456789abcdef };
    static const char *names[16] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                     "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
    int bad_regs = 0;
    for (int i = 0; i < 16; i++) {
        uint64_t w = i == 5 ? (uint64_t)(uintptr_t)bad : i == 7 ? probe_rsp : want[i];
        if (after[i] != w) { printf("after the handler: %s=%016llx WRONG\n", names[i], (unsigned long long)after[i]); bad_regs++; }
    }
    printf("after the handler: %d registers wrong, xmm0/xmm15 %s\n", bad_regs, memcmp(after_xmm, xmmvals, 32) ? "WRONG" : "ok");
}

int main(void)
{
    for (int i = 0; i < 32; i++) xmmvals[i] = (unsigned char)(0xa0 + i * 3);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    run("PROT_NONE page", none + 0x123);
    char *gone = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    run("unmapped page", gone + 0xff8);
    return 0;
}
