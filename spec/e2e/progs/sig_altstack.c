// CFLAGS: -O2
/* sigaltstack: a handler installed with SA_ONSTACK runs on the alternate
 * stack (the address of one of its locals lies inside it) and sigaltstack
 * queried from the handler reports SS_ONSTACK; a handler without SA_ONSTACK
 * runs on the normal stack; and a stack overflow (SIGSEGV) is caught on the
 * alternate stack and left with siglongjmp. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static char *alt;
static size_t altsize = 64 * 1024;
static volatile int on_alt, ss_onstack, depth;
static sigjmp_buf env;

static void probe(int sig)
{
    (void)sig;
    char local;
    on_alt = (uintptr_t)&local >= (uintptr_t)alt && (uintptr_t)&local < (uintptr_t)alt + altsize;
    stack_t cur;
    sigaltstack(NULL, &cur);
    ss_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
}

static void on_segv(int sig)
{
    probe(sig);
    siglongjmp(env, 1);
}

__attribute__((noinline)) static int recurse(int n)
{
    volatile char pad[1024];
    pad[0] = (char)n;
    depth = n;
    return recurse(n + 1) + pad[0];
}

int main(void)
{
    alt = malloc(altsize);
    stack_t ss = { .ss_sp = alt, .ss_size = altsize, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL)) { perror("sigaltstack"); return 1; }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = probe;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_flags = 0;
    sigaction(SIGUSR2, &sa, NULL);

    raise(SIGUSR1);
    printf("SA_ONSTACK handler: on the alternate stack %d, SS_ONSTACK %d\n", on_alt, ss_onstack);
    raise(SIGUSR2);
    printf("plain handler: on the alternate stack %d, SS_ONSTACK %d\n", on_alt, ss_onstack);
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("outside: SS_ONSTACK %d, SS_DISABLE %d\n", !!(cur.ss_flags & SS_ONSTACK), !!(cur.ss_flags & SS_DISABLE));

    struct rlimit rl = { 8 << 20, 8 << 20 };
    setrlimit(RLIMIT_STACK, &rl);
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(env, 1) == 0) {
        recurse(0);
        puts("no overflow?");
    } else {
        printf("stack overflow caught: on the alternate stack %d, SS_ONSTACK %d, depth > 1000: %d\n", on_alt,
               ss_onstack, depth > 1000);
    }
    return 0;
}
