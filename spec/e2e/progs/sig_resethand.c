// CFLAGS: -O2
/* SA_RESETHAND: the first SIGUSR1 runs the handler, which sees the
 * disposition already reset to SIG_DFL (and, on Linux, the signal blocked as
 * usual: no implied SA_NODEFER); the second SIGUSR1 takes the default
 * action and kills the process (status 128+10 in the runner). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int dfl_inside, blocked_inside, count;

static void handler(int sig)
{
    struct sigaction cur;
    sigaction(sig, NULL, &cur);
    dfl_inside = cur.sa_handler == SIG_DFL;
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    blocked_inside = sigismember(&now, sig);
    count++;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    struct sigaction cur;
    sigaction(SIGUSR1, NULL, &cur);
    printf("handled %d; inside: SIG_DFL %d, blocked %d; now SIG_DFL %d\n", count, dfl_inside, blocked_inside,
           cur.sa_handler == SIG_DFL);
    fflush(stdout);
    raise(SIGUSR1);                            /* default action: death by SIGUSR1 */
    printf("still alive?!\n");
    return 0;
}
