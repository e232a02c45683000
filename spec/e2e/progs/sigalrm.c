// CFLAGS: -O2
/* (expected failure until signals are supported) a SIGALRM handler
 * interrupting a busy loop (setitimer), plus raise() of SIGUSR1 delivered
 * synchronously, and sigaction with SA_SIGINFO. */
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms, usr1_code;

static void on_alarm(int sig) { (void)sig; alarms++; }
static void on_usr1(int sig, siginfo_t *si, void *uc) { (void)uc; usr1_code = sig * 1000 + (si->si_code == SI_TKILL ? 1 : 2); }

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);

    raise(SIGUSR1);
    printf("SIGUSR1 handled: %d\n", (int)usr1_code);

    struct itimerval it = { { 0, 10000 }, { 0, 10000 } };   /* every 10 ms */
    setitimer(ITIMER_REAL, &it, NULL);
    volatile unsigned long spin = 0;
    while (alarms < 5) spin++;
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    printf("got %d SIGALRMs while spinning\n", (int)alarms);
    return 0;
}
