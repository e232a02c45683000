// CFLAGS: -O2
/* A POSIX timer (timer_create, CLOCK_MONOTONIC, SIGEV_SIGNAL with
 * SIGRTMIN+1 and a value) fires every 500 us during a hot loop; the
 * SA_SIGINFO handler checks si_code SI_TIMER, the value and the timer id,
 * and on the 200th signal disarms the timer and ignores the signal, so
 * exactly 200 are counted. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N 200
static timer_t tid;
static volatile int count, bad;
static volatile uint64_t sink;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (si->si_code != SI_TIMER || si->si_value.sival_int != 4242 || sig != SIGRTMIN + 1) bad++;
    if (++count == N) {
        struct itimerspec off = { { 0, 0 }, { 0, 0 } };
        timer_settime(tid, 0, &off, NULL);
        signal(sig, SIG_IGN);
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN + 1, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN + 1;
    ev.sigev_value.sival_int = 4242;
    if (timer_create(CLOCK_MONOTONIC, &ev, &tid)) { perror("timer_create"); return 1; }
    struct itimerspec it = { { 0, 500000 }, { 0, 500000 } };
    timer_settime(tid, 0, &it, NULL);
    uint64_t x = 1;
    while (count < N) x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    timer_delete(tid);
    sink = x;
    printf("POSIX timer: got %d signals, %d with a wrong si_code/value\n", count, bad);
    return 0;
}
