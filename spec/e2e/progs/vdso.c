// CFLAGS: -O2
/* vDSO calls: glibc routes clock_gettime/gettimeofday/time/clock_getres
 * through the vDSO page (an indirect call into kernel-provided code).  The
 * values are not printed (not deterministic), only sanity checks. */
#include <stdio.h>
#include <time.h>
#include <sys/time.h>
#include <sys/auxv.h>

int main(void)
{
    struct timespec a, b, res;
    int ok = 1, backwards = 0;

    if (clock_gettime(CLOCK_MONOTONIC, &a) != 0) ok = 0;
    for (int i = 0; i < 200000; i++) {
        if (clock_gettime(CLOCK_MONOTONIC, &b) != 0) { ok = 0; break; }
        if (b.tv_sec < a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec < a.tv_nsec)) backwards++;
        a = b;
    }
    printf("clock_gettime(CLOCK_MONOTONIC) x200000: %s, went backwards %d times\n", ok ? "ok" : "FAILED", backwards);

    struct timespec rt;
    int r = clock_gettime(CLOCK_REALTIME, &rt);
    printf("clock_gettime(CLOCK_REALTIME): %s, after 2020: %s\n", r == 0 ? "ok" : "FAILED",
           rt.tv_sec > 1577836800 ? "yes" : "no");

    struct timeval tv;
    r = gettimeofday(&tv, NULL);
    printf("gettimeofday: %s, agrees with CLOCK_REALTIME within 60s: %s\n", r == 0 ? "ok" : "FAILED",
           tv.tv_sec - rt.tv_sec < 60 && rt.tv_sec - tv.tv_sec < 60 ? "yes" : "no");

    /* time() reads the coarse clock, which lags CLOCK_REALTIME by up to a
    ** scheduler tick: just after a second begins it may still say the one
    ** before (seen once in CI, natively possible too). */
    time_t t = time(NULL);
    printf("time: %s\n", t >= rt.tv_sec - 1 && t - rt.tv_sec < 60 ? "ok" : "FAILED");

    r = clock_getres(CLOCK_MONOTONIC, &res);
    printf("clock_getres: %s, resolution <= 1ms: %s\n", r == 0 ? "ok" : "FAILED",
           res.tv_sec == 0 && res.tv_nsec <= 1000000 ? "yes" : "no");

    struct timespec c1, c2;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    volatile double x = 0;
    for (int i = 0; i < 1000000; i++) x += i * 0.5;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c2);
    printf("CLOCK_PROCESS_CPUTIME_ID advances: %s\n",
           c2.tv_sec > c1.tv_sec || (c2.tv_sec == c1.tv_sec && c2.tv_nsec >= c1.tv_nsec) ? "yes" : "no");
    printf("vdso mapped (AT_SYSINFO_EHDR != 0): %s\n", getauxval(AT_SYSINFO_EHDR) ? "yes" : "no");
    return 0;
}
