// CFLAGS: -O2
/* kill() and sigqueue() to self: for a single-threaded process each signal
 * is delivered before the system call returns, so after every kill the
 * handler count has gone up by exactly one; 1000 kills, 1000 sigqueues (the
 * values summed in the handler). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile long count, sum;
static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    count++;
    if (si->si_code == SI_QUEUE) sum += si->si_value.sival_int;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    int late = 0;
    for (int i = 0; i < 1000; i++) {
        kill(getpid(), SIGUSR1);
        late += count != i + 1;
    }
    printf("kill: %ld delivered, %d not delivered by the time kill returned\n", count, late);
    count = 0, late = 0;
    for (int i = 0; i < 1000; i++) {
        sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = i });
        late += count != i + 1;
    }
    printf("sigqueue: %ld delivered, %d late, values sum %ld\n", count, late, sum);
    return 0;
}
