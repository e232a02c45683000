// CFLAGS: -O2
/* Interval-timer signals at a high rate: 10,000 ITIMER_REAL (SIGALRM) and
 * then 10,000 ITIMER_PROF (SIGPROF) signals, each timer at 100 us, taken by
 * a counting handler during a hot loop without system calls. On the Nth
 * signal the handler disarms the timer and sets SIG_IGN (discarding one
 * already pending), so the counts printed are exact. Natively each half
 * takes about 1 s; bench/itimer.sh compares the wall time with lurk's (the
 * case itself checks the output only). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t count, limit, which;
static volatile uint64_t sink;

static void handler(int sig)
{
    if (++count == limit) {
        struct itimerval off = { { 0, 0 }, { 0, 0 } };
        setitimer(which, &off, NULL);
        signal(sig, SIG_IGN);
    }
}

static void run(const char *name, int timer, int sig, int n)
{
    count = 0, limit = n, which = timer;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, NULL);
    struct itimerval it = { { 0, 100 }, { 0, 100 } };
    setitimer(timer, &it, NULL);
    uint64_t x = 1;
    while (count < n) x = x * 6364136223846793005ull + 1;   /* hot loop */
    sink = x;
    printf("%s: got %d\n", name, (int)count);
}

int main(void)
{
    run("ITIMER_REAL/SIGALRM", ITIMER_REAL, SIGALRM, 10000);
    run("ITIMER_PROF/SIGPROF", ITIMER_PROF, SIGPROF, 250);
    return 0;
}
