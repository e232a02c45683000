// CFLAGS: -O2
/* setitimer timers firing during hot loops (no system calls in the loop):
 * ITIMER_REAL every 1 ms (SIGALRM) and ITIMER_PROF every 1 ms of CPU time
 * (SIGPROF).  The handler stops after exactly N signals: on the Nth it
 * disarms the timer and sets the disposition to SIG_IGN (which also discards
 * one that is already pending), so the count printed is exactly N. */
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
    signal(sig, handler);
    struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
    setitimer(timer, &it, NULL);
    uint64_t x = 1;
    while (count < n) x = x * 6364136223846793005ull + 1;   /* hot loop */
    sink = x;
    printf("%s: got %d\n", name, (int)count);
}

int main(void)
{
    run("ITIMER_REAL/SIGALRM", ITIMER_REAL, SIGALRM, 50);
    run("ITIMER_PROF/SIGPROF", ITIMER_PROF, SIGPROF, 30);
    return 0;
}
