// CFLAGS: -O2
/* sigsuspend: with SIGALRM blocked, a one-shot timer is armed and
 * sigsuspend waits with a mask that lets only SIGALRM in; it returns -1/EINTR
 * after the handler ran, and the old mask (SIGALRM blocked) is back.  A
 * SIGUSR1 that is pending but still blocked by the sigsuspend mask stays
 * pending throughout. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms, usr1;
static void on_alrm(int s) { (void)s; alarms++; }
static void on_usr1(int s) { (void)s; usr1++; }

int main(void)
{
    signal(SIGALRM, on_alrm);
    signal(SIGUSR1, on_usr1);
    sigset_t block, waitmask, now;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);                                  /* pending, stays blocked */
    sigfillset(&waitmask);
    sigdelset(&waitmask, SIGALRM);
    for (int i = 1; i <= 3; i++) {
        struct itimerval it = { { 0, 0 }, { 0, 5000 } };
        setitimer(ITIMER_REAL, &it, NULL);
        int r = sigsuspend(&waitmask);
        int e = errno;
        sigprocmask(SIG_BLOCK, NULL, &now);
        printf("sigsuspend %d: returned %d %s, alarms %d, usr1 %d, SIGALRM blocked again %d\n", i, r,
               e == EINTR ? "EINTR" : "?", (int)alarms, (int)usr1, sigismember(&now, SIGALRM));
    }
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    printf("after unblocking: usr1 %d\n", (int)usr1);
    return 0;
}
