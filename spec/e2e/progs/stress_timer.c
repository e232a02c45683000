// CFLAGS: -O2
/* Stress: 100,000 timer signals during a hot loop.  ITIMER_REAL fires every
 * 10 us; the SIGALRM handler counts, and on the 100,000th disarms the timer
 * and sets SIG_IGN (discarding one already pending), so the count printed
 * is exactly 100000: none lost, none extra, no hang. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#define N 100000
static volatile long count;
static volatile uint64_t sink;

static void handler(int sig)
{
    if (++count == N) {
        struct itimerval off = { { 0, 0 }, { 0, 0 } };
        setitimer(ITIMER_REAL, &off, NULL);
        signal(sig, SIG_IGN);
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 10 }, { 0, 10 } };
    setitimer(ITIMER_REAL, &it, NULL);
    uint64_t x = 88172645463325252ull;
    while (count < N) x ^= x << 13, x ^= x >> 7, x ^= x << 17;   /* hot loop, no system calls */
    sink = x;
    printf("got %ld SIGALRMs\n", count);
    return 0;
}
