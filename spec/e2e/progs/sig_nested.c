// CFLAGS: -O2
/* Nested signals: the SIGUSR1 handler raises SIGUSR2, whose handler runs
 * inside it at once, and executes a ud2, whose SIGILL handler runs inside
 * that (and skips the ud2); with SIGUSR2 in SIGUSR1's sa_mask the same
 * raise is held until the SIGUSR1 handler returns.  The order of events is
 * logged. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile char trace[256];
static volatile int tlen;
static void mark(const char *s) { while (*s) trace[tlen++] = *s++; }

static void on_ill(int sig, siginfo_t *si, void *ucv)
{
    (void)sig; (void)si;
    mark("[ill]");
    ((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP] += 2;
}
static void on_usr2(int sig) { (void)sig; mark("[usr2 "); __asm__ volatile("ud2"); mark("usr2]"); }
static void on_usr1(int sig) { (void)sig; mark("[usr1 "); raise(SIGUSR2); mark("usr1]"); }

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_ill;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &sa, NULL);
    sa.sa_flags = 0;
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    trace[tlen] = 0;
    printf("nested:  %s\n", (char *)trace);

    tlen = 0;
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    trace[tlen] = 0;
    printf("masked:  %s\n", (char *)trace);
    return 0;
}
