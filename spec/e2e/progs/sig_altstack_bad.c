// CFLAGS: -O2
/* A handler whose alternate stack cannot take the frame: the kernel fails
 * to build the frame for SIGUSR1 (SA_ONSTACK, the alternate stack
 * read-only, then unmapped) and forces SIGSEGV instead (si_code SI_KERNEL,
 * si_addr 0), delivered on the normal stack to a SIGSEGV handler without
 * SA_ONSTACK; the SIGUSR1 handler never runs. In a child whose SIGSEGV
 * handler also wants the alternate stack, that fails too and the child dies
 * by SIGSEGV; in one where SIGSEGV itself is the signal whose frame fails
 * (a fault with a read-only alternate stack), the default action kills. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int usr1_runs;
static char *alt;

static void on_usr1(int sig) { (void)sig; usr1_runs++; }

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    char here;
    int on_alt = &here >= alt && &here < alt + 65536;
    printf("  SIGSEGV: signo %d si_code %d si_addr %s on %s stack, SIGUSR1 handler ran %d\n", sig,
           si->si_code, si->si_addr == NULL ? "0" : "other", on_alt ? "the alternate" : "the normal",
           usr1_runs);
    siglongjmp(env, 1);
}

static void setup(int segv_onstack)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | (segv_onstack ? SA_ONSTACK : 0);
    sigaction(SIGSEGV, &sa, NULL);
}

static void child(const char *what, int segv_onstack, int fault)
{
    pid_t p = fork();
    if (p == 0) {
        setup(segv_onstack);
        if (fault) *(volatile int *)8 = 1;
        else raise(SIGUSR1);
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    printf("%s: %s %d\n", what, WIFSIGNALED(st) ? "killed by" : "exited",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    alt = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss = { .ss_sp = alt, .ss_size = 65536, .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    setup(0);
    printf("writable alternate stack:\n");
    if (!sigsetjmp(env, 1)) { raise(SIGUSR1); printf("  SIGUSR1 handler ran %d\n", usr1_runs); }

    mprotect(alt, 65536, PROT_READ);
    printf("read-only alternate stack:\n");
    if (!sigsetjmp(env, 1)) { raise(SIGUSR1); printf("  returned\n"); }
    child("read-only, SIGSEGV handler on the alternate stack too", 1, 0);
    child("read-only, a fault with SIGSEGV on the alternate stack", 1, 1);

    munmap(alt, 65536);
    printf("unmapped alternate stack:\n");
    if (!sigsetjmp(env, 1)) { raise(SIGUSR1); printf("  returned\n"); }
    printf("SIGUSR1 handler ran %d in all\n", usr1_runs);
    return 0;
}
