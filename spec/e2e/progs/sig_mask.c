// CFLAGS: -O2
/* sigprocmask blocking and later delivery: SIGUSR1 raised three times while
 * blocked stays pending (once: standard signals do not queue) and the
 * handler runs exactly once, before sigprocmask returns, when it is
 * unblocked; the same through pthread_sigmask with SIG_SETMASK. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t count;
static void on_usr1(int sig) { (void)sig; count++; }

int main(void)
{
    signal(SIGUSR1, on_usr1);
    sigset_t s, old, pend;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &old);
    for (int i = 0; i < 3; i++) raise(SIGUSR1);
    sigpending(&pend);
    printf("blocked: handled %d, pending %d\n", (int)count, sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    int at_return = count;
    sigpending(&pend);
    printf("unblocked: handled %d when sigprocmask returned, pending %d\n", at_return, sigismember(&pend, SIGUSR1));

    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, &s, NULL);
    raise(SIGUSR1);
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    printf("pthread_sigmask: blocked now %d, handled %d\n", sigismember(&cur, SIGUSR1), (int)count);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    printf("pthread_sigmask restored: handled %d\n", (int)count);
    return 0;
}
