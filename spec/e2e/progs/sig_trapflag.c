// CFLAGS: -O2
/* The app's own trap flag: code that sets EFLAGS.TF (pushf; or; popf) gets
 * one SIGTRAP per instruction, as natively, until it clears TF again (the
 * popf that clears it still traps). For three asm sequences (straight-line
 * code; a 10-round dec/jnz loop; a call and ret, a jmp through a register,
 * a syscall and a jmp to itself) the handler records every trap: si_code
 * (TRAP_TRACE), whether si_addr is the ucontext RIP, and the RIP as an
 * offset from the sequence's start; the program prints the count and the
 * offsets. The handler itself runs with TF clear, and TF is back (in the
 * flags pushed by the sequence) after it returns. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

extern char seq1[], seq1_end[], seq2[], seq2_end[], seq3[], seq3_end[];
void run_seq1(void);
void run_seq2(void);
void run_seq3(void);

__asm__(".text\n"
        ".globl run_seq1\nrun_seq1:\n"
        "seq1:\n"
        "  pushfq\n  orq $0x100, (%rsp)\n  popfq\n"
        "  nop\n  mov $1, %eax\n  add $2, %eax\n  lea 3(%rax), %ecx\n  xor %edx, %edx\n"
        "  pushfq\n  andq $~0x100, (%rsp)\n  popfq\n"
        "seq1_end:\n  ret\n"
        ".globl run_seq2\nrun_seq2:\n"
        "seq2:\n"
        "  mov $10, %ecx\n"
        "  pushfq\n  orq $0x100, (%rsp)\n  popfq\n"
        "1: dec %ecx\n  jnz 1b\n"
        "  pushfq\n  andq $~0x100, (%rsp)\n  popfq\n"
        "seq2_end:\n  ret\n"
        ".globl run_seq3\nrun_seq3:\n"
        "  push %rbx\n"
        "seq3:\n"
        "  pushfq\n  orq $0x100, (%rsp)\n  popfq\n"
        "  call 2f\n"
        "  lea 3f(%rip), %rbx\n  jmp *%rbx\n"
        "  ud2\n"
        "3: mov $39, %eax\n  syscall\n"           /* getpid */
        "  mov $1, %ecx\n"
        "4: dec %ecx\n  js 5f\n  jmp 4b\n"         /* a backward jmp, taken once */
        "5: pushfq\n  andq $~0x100, (%rsp)\n  popfq\n"
        "seq3_end:\n  pop %rbx\n  ret\n"
        "2: nop\n  ret\n");

#define MAXT 200
static volatile int ntraps, bad_code, bad_addr, tf_in_handler;
static uint64_t pcs[MAXT];

static void on_trap(int sig, siginfo_t *si, void *ucp)
{
    (void)sig;
    ucontext_t *uc = ucp;
    uint64_t rip = uc->uc_mcontext.gregs[REG_RIP];
    uint64_t fl;
    __asm__ volatile("pushfq; pop %0" : "=r"(fl));
    if (fl & 0x100) tf_in_handler++;
    if (si->si_code != TRAP_TRACE) bad_code++;
    if ((uint64_t)si->si_addr != rip) bad_addr++;
    if (!(uc->uc_mcontext.gregs[REG_EFL] & 0x100) && rip != 0) {
        /* the trap after the popf that cleared TF: flags without TF */
    }
    if (ntraps < MAXT) pcs[ntraps] = rip;
    ntraps++;
}

static void report(const char *name, void (*fn)(void), const char *base, const char *end)
{
    ntraps = bad_code = bad_addr = tf_in_handler = 0;
    fn();
    printf("%s: %d traps, si_code other than TRAP_TRACE %d, si_addr != rip %d, TF in handler %d\n", name,
           ntraps, bad_code, bad_addr, tf_in_handler);
    printf("  rips:");
    for (int i = 0; i < ntraps && i < MAXT; i++) {
        const char *p = (const char *)pcs[i];
        if (p >= base && p <= end + 16) printf(" +%ld", (long)(p - base));
        else printf(" (outside)");
    }
    printf("\n");
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, NULL);
    report("straight", run_seq1, seq1, seq1_end);
    report("loop", run_seq2, seq2, seq2_end);
    report("call/jmp/syscall", run_seq3, seq3, seq3_end);
    report("straight again", run_seq1, seq1, seq1_end);
    return 0;
}
