// CFLAGS: -O2 -no-pie
/* Found by the differential fuzzer (spec/fuzz): int3 (cc) and int 3 (cd 03)
 * in the middle of code, with a clean call before every instruction (case
 * fuzz_int3_cc, tool progs/cc_every.lua). The trap reports the pc after the
 * instruction, which in an instrumented block is lurk's code for the next
 * instruction's call; lurk ended the run with "internal error: signal 5
 * inside lurk" instead of delivering SIGTRAP. The handler prints si_code,
 * RIP (as label+offset), rax and rcx (set before the trap), and returns:
 * execution goes on after the trap instruction, as natively. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#define PROBE(name, insn)                                                   \
    __asm__(".text\n.globl " #name ", " #name "_pc\n" #name ":\n"           \
            "  lea 7(%rdi), %rax\n  mov %rdi, %rcx\n" #name "_pc:\n  "      \
            insn "\n  add $1, %rcx\n  lea (%rax,%rcx,2), %rax\n  ret\n");   \
    extern long name(long); extern char name##_pc[];

PROBE(p_int3, "int3")
PROBE(p_int_3, "int $3")
PROBE(p_two, "int3\n  int3")

static const char *base_name;
static char *base_pc;

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    printf("  signal %d code %d at %s+%ld rax %lld rcx %lld\n", sig, si->si_code, base_name,
           (long)((char *)g[REG_RIP] - base_pc), (long long)g[REG_RAX], (long long)g[REG_RCX]);
}

static void run(const char *name, long (*f)(long), char *pc, long arg)
{
    base_name = name;
    base_pc = pc;
    printf("%s(%ld):\n", name, arg);
    long r = f(arg);
    printf("  = %ld\n", r);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, 0);
    setvbuf(stdout, 0, _IONBF, 0);
    for (long i = 0; i < 3; i++) {
        run("int3", p_int3, p_int3_pc, i);
        run("int_3", p_int_3, p_int_3_pc, i);
        run("two", p_two, p_two_pc, i);
    }
    return 0;
}
