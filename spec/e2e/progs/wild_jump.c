// CFLAGS: -O2
/* Wild transfers: `ret`, `jmp *reg`, `call *reg` and `jmp *mem` to 0, to -1,
 * to a kernel address and to a user page that was just unmapped. Each is
 * the program's SIGSEGV: the handler prints si_code, si_addr and RIP
 * (compared with the target), trapno, err, and the stack (rsp as expected
 * for the transfer: popped for ret, pushed for call with the return address
 * in the slot), then siglongjmps out. A second round runs with SIGSEGV
 * blocked in a child: the kernel forces it, the child dies by it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* probe(target, &sp_before): each records rsp just before the transfer. */
extern void w_ret(unsigned long target, unsigned long *sp);
extern void w_jmp(unsigned long target, unsigned long *sp);
extern void w_call(unsigned long target, unsigned long *sp);
extern void w_jmpmem(unsigned long target, unsigned long *sp);
extern char w_call_ret[];
__asm__(".text\n"
        ".globl w_ret, w_jmp, w_call, w_jmpmem, w_call_ret\n"
        "w_ret:\n  push %rdi\n  mov %rsp, (%rsi)\n  ret\n"
        "w_jmp:\n  mov %rsp, (%rsi)\n  jmp *%rdi\n"
        "w_call:\n  mov %rsp, (%rsi)\n  call *%rdi\nw_call_ret:\n  ret\n"
        "w_jmpmem:\n  push %rdi\n  mov %rsp, (%rsi)\n  jmp *(%rsp)\n");

static sigjmp_buf env;
static unsigned long target, sp_before;
static int kind; /* 0 ret, 1 jmp, 2 call, 3 jmp mem */

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    mcontext_t *m = &uc->uc_mcontext;
    unsigned long rsp = m->gregs[REG_RSP];
    const char *stack;
    if (kind == 0) stack = rsp == sp_before + 8 ? "popped" : "wrong";
    else if (kind == 2)
        stack = rsp == sp_before - 8 && *(unsigned long *)rsp == (unsigned long)w_call_ret ? "pushed" : "wrong";
    else stack = rsp == sp_before ? "same" : "wrong";
    printf("  sig %d si_code %d si_addr %s rip %s trapno %lld err %#llx stack %s\n", sig, si->si_code,
           (unsigned long)si->si_addr == target ? "target" : "other",
           (unsigned long)m->gregs[REG_RIP] == target ? "target" : "other", m->gregs[REG_TRAPNO],
           m->gregs[REG_ERR], stack);
    siglongjmp(env, 1);
}

static void (*const probes[4])(unsigned long, unsigned long *) = { w_ret, w_jmp, w_call, w_jmpmem };
static const char *const names[4] = { "ret", "jmp *reg", "call *reg", "jmp *mem" };

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    char *gone = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    const unsigned long targets[4] = { 0, ~0ul, 0xffffffff81000000ul, (unsigned long)gone + 16 };
    const char *const tnames[4] = { "0", "-1", "kernel", "unmapped" };
    for (int t = 0; t < 4; t++)
        for (kind = 0; kind < 4; kind++) {
            printf("%s to %s:\n", names[kind], tnames[t]);
            target = targets[t];
            if (!sigsetjmp(env, 1)) probes[kind](target, &sp_before);
        }
    /* Blocked: the kernel forces the signal, the default action kills. */
    for (kind = 0; kind < 2; kind++) {
        pid_t pid = fork();
        if (pid == 0) {
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, SIGSEGV);
            sigprocmask(SIG_BLOCK, &s, NULL);
            probes[kind](0, &sp_before);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        printf("%s to 0 with SIGSEGV blocked: %s %d\n", names[kind],
               WIFSIGNALED(st) ? "killed by" : "exited", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    }
    return 0;
}
