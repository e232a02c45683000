// CFLAGS: -O2 -no-pie
/* Instructions the CPU refuses, and far transfers that work: each probe is
 * an asm function; a bad instruction sits at a global label after an `lea`
 * (so it is in the middle of a block), the handler prints signal, si_code,
 * si_addr and RIP (as "the label", "0" or "other"), trapno, err and rax (the
 * lea's result: the state before the instruction), then siglongjmps out.
 * Cases: ud2; undefined bytes (0x06: push es, 0xd6: salc, invalid in 64-bit
 * mode; 0f 0b; f0 90: lock nop); lock on a jmp; far jmp/call through memory
 * with a null selector, a bogus one, an LDT one (all #GP natively, SIGSEGV);
 * int $0x81 (#GP); then far jmp/call through memory with the user code
 * selector, lretq/lret to the program's own code, and iretq/iret (they run
 * natively); xbegin: real transactions where the CPU has RTM (only the
 * results are printed: commit vs abort is the CPU's choice, and lurk
 * always aborts), SIGILL where it
 * has not. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#define PROBE(name, insn)                                                   \
    __asm__(".text\n.globl " #name ", " #name "_pc\n" #name ":\n"           \
            "  lea 7(%rdi), %rax\n" #name "_pc:\n  " insn "\n  ret\n");     \
    extern long name(long); extern char name##_pc[];

PROBE(p_ud2, "ud2")
PROBE(p_pushes, ".byte 0x06")
PROBE(p_salc, ".byte 0xd6")
PROBE(p_0f0b, ".byte 0x0f, 0x0b")
PROBE(p_locknop, ".byte 0xf0, 0x90")
PROBE(p_lockjmp, ".byte 0xf0, 0xeb, 0x00")
PROBE(p_ljmp_null, "ljmp *(%rsi)")
PROBE(p_ljmpq_bogus, "rex.w ljmp *(%rsi)")
PROBE(p_lcall_ldt, "lcall *(%rsi)")
PROBE(p_int81, "int $0x81")
PROBE(p_ljmp_unmapped, "rex.w ljmp *(%rsi)")

/* Far transfers that work: to the same code selector, back into this code. */
long far_ok(long x, void *ptr);
__asm__(".text\n.globl far_ok\nfar_ok:\n"
        "  push %rbx\n"
        "  lea 1f(%rip), %rax\n"
        "  mov %rax, (%rsi)\n"
        "  mov %cs, %ax\n"
        "  mov %ax, 8(%rsi)\n"
        "  rex.w ljmp *(%rsi)\n"          /* far jmp, m16:64 */
        "  ud2\n"
        "1:add $1, %rdi\n"
        "  lea 2f(%rip), %rax\n"
        "  mov %eax, 16(%rsi)\n"          /* m16:32 (the code is below 4 GiB: non-PIE) */
        "  mov %cs, %ax\n"
        "  mov %ax, 20(%rsi)\n"
        "  ljmp *16(%rsi)\n"
        "  ud2\n"
        "2:lea 3f(%rip), %rax\n"
        "  mov %rax, (%rsi)\n"
        "  rex.w lcall *(%rsi)\n"         /* far call: pushes cs and rip */
        "  add $100, %rdi\n"
        "  jmp 4f\n"
        "3:mov 8(%rsp), %rbx\n"           /* the pushed cs */
        "  mov %cs, %ax\n"
        "  movzwl %ax, %eax\n"
        "  cmp %rax, %rbx\n"
        "  jne 9f\n"
        "  add $10, %rdi\n"
        "  lretq\n"
        "4:mov %cs, %eax\n"               /* lretq to our own code */
        "  push %rax\n"
        "  lea 5f(%rip), %rax\n"
        "  push %rax\n"
        "  lretq\n"
        "  ud2\n"
        "5:add $1000, %rdi\n"
        "  mov %rsp, %rbx\n"              /* iretq: ss, rsp, rflags, cs, rip */
        "  mov %ss, %eax\n"
        "  push %rax\n"
        "  push %rbx\n"
        "  pushfq\n"
        "  orq $1, (%rsp)\n"              /* CF comes back through the frame */
        "  mov %cs, %eax\n"
        "  push %rax\n"
        "  lea 6f(%rip), %rax\n"
        "  push %rax\n"
        "  iretq\n"
        "  ud2\n"
        "6:jnc 9f\n"
        "  cmp %rsp, %rbx\n"
        "  jne 9f\n"
        "  add $10000, %rdi\n"
        "  sub $8, %rsp\n"                /* 32-bit lret: 4-byte eip and cs */
        "  mov %cs, %eax\n"
        "  mov %eax, 4(%rsp)\n"
        "  lea 7f(%rip), %rax\n"
        "  mov %eax, (%rsp)\n"
        "  lret\n"
        "  ud2\n"
        "7:add $100000, %rdi\n"
        "9:mov %rdi, %rax\n"
        "  pop %rbx\n"
        "  ret\n");

static sigjmp_buf env;
static char *expect_pc;

static const char *where(void *a)
{
    static char bufs[2][32]; static int k; char *b = bufs[k++ & 1];
    if (a == (void *)expect_pc) return "pc";
    snprintf(b, 32, (unsigned long)a < 65536 ? "%#lx" : "other", (unsigned long)a);
    return b;
}

static void on_sig(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    mcontext_t *m = &uc->uc_mcontext;
    printf("  %s si_code %d si_addr %s rip %s trapno %lld err %#llx rax %lld\n",
           sig == SIGILL ? "SIGILL" : sig == SIGSEGV ? "SIGSEGV" : "other", si->si_code,
           where(si->si_addr), where((void *)m->gregs[REG_RIP]), m->gregs[REG_TRAPNO],
           m->gregs[REG_ERR], m->gregs[REG_RAX]);
    siglongjmp(env, 1);
}

static void run(const char *what, long (*probe)(long, void *), char *pc, void *arg)
{
    printf("%s:\n", what);
    fflush(stdout);
    expect_pc = pc;
    if (!sigsetjmp(env, 1)) {
        long r = probe(35, arg);
        printf("  returned %ld\n", r);
    }
}
#define RUN(name, arg) run(#name, (long (*)(long, void *))name, name##_pc, arg)

static unsigned char rtm_word[64];

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct { unsigned long off; unsigned short sel; } __attribute__((packed)) fp64;
    struct { unsigned off; unsigned short sel; } __attribute__((packed)) fp32;
    RUN(p_ud2, NULL);
    RUN(p_pushes, NULL);
    RUN(p_salc, NULL);
    RUN(p_0f0b, NULL);
    RUN(p_locknop, NULL);
    RUN(p_lockjmp, NULL);
    fp32.off = (unsigned)(unsigned long)p_ud2; fp32.sel = 0;
    RUN(p_ljmp_null, &fp32);
    fp64.off = (unsigned long)p_ud2; fp64.sel = 0x1234;
    RUN(p_ljmpq_bogus, &fp64);
    fp32.sel = 0x7 | 0x40; /* an LDT selector: there is no LDT */
    RUN(p_lcall_ldt, &fp32);
    RUN(p_int81, NULL);
    RUN(p_ljmp_unmapped, (void *)8);

    unsigned long scratch[4];
    printf("far transfers: %ld\n", far_ok(0, scratch));

    unsigned a, b, c, d;
    int rtm = __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((b >> 11) & 1);
    expect_pc = NULL;
    if (rtm) {
        /* A transaction either commits or aborts to the fallback; either way
         * the word is counted once per round. */
        long n = 0, commits = 0, aborts = 0;
        for (int i = 0; i < 1000; i++) {
            unsigned status;
            __asm__ volatile("mov $-1, %0\n xbegin 1f\n 1:" : "=a"(status) :: "memory");
            if (status == ~0u) {
                rtm_word[0]++;
                __asm__ volatile("xend" ::: "memory");
                commits++;
            } else {
                rtm_word[0]++;
                aborts++;
            }
            n++;
        }
        printf("xbegin: rtm, %ld rounds, word %d, commits+aborts %ld\n", n, rtm_word[0],
               commits + aborts);
    } else {
        extern char p_xbegin_pc[];
        printf("xbegin: no rtm\n");
        expect_pc = p_xbegin_pc;
        if (!sigsetjmp(env, 1))
            __asm__ volatile(".globl p_xbegin_pc\n p_xbegin_pc: xbegin 1f\n xend\n 1:" ::: "rax", "memory");
    }
    return 0;
}
