// CFLAGS: -O2
/* setjmp/longjmp: non-local exits from deep call chains (many frames
 * skipped at once), nested jump buffers (exception-style try/catch),
 * repeated jumps back into the same setjmp, and sigsetjmp/siglongjmp with a
 * saved signal mask (no signal is ever delivered). */
#include <stdio.h>
#include <setjmp.h>
#include <signal.h>

static jmp_buf *current;
static int depth_reached;

__attribute__((noinline)) static void throw_(int code) { longjmp(*current, code); }

__attribute__((noinline)) static int dive(int n, int limit)
{
    volatile int local = n * 2;
    depth_reached = n;
    if (n == limit)
        throw_(n + 1000);
    return dive(n + 1, limit) + local;
}

static int try_dive(int limit)
{
    jmp_buf env, *saved = current;
    int r;
    current = &env;
    if ((r = setjmp(env)) == 0) {
        r = dive(0, limit);
        current = saved;
        return r;
    }
    current = saved;
    return -r;
}

static int nested(int level)
{
    jmp_buf env, *saved = current;
    volatile int caught = 0;
    current = &env;
    int r = setjmp(env);
    if (r == 0) {
        if (level > 0)
            caught = nested(level - 1);
        if (level % 3 == 0)
            throw_(level + 1);              /* caught by our own setjmp */
        current = saved;
        return caught;
    }
    current = saved;
    return caught + r;
}

int main(void)
{
    for (int lim = 1; lim <= 10000; lim *= 10)
        printf("try_dive(%d) = %d (depth %d)\n", lim, try_dive(lim), depth_reached);
    printf("nested(20) = %d\n", nested(20));

    jmp_buf again;
    volatile int count = 0;
    int v = setjmp(again);
    count += v;
    if (v < 100)
        longjmp(again, v + 1);
    printf("re-entered setjmp: v=%d count=%d\n", v, count);

    sigjmp_buf senv;
    sigset_t set, now;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);     /* mask = {USR1} at sigsetjmp */
    if (sigsetjmp(senv, 1) == 0) {
        sigaddset(&set, SIGUSR2);
        sigprocmask(SIG_BLOCK, &set, NULL); /* mask = {USR1, USR2} */
        siglongjmp(senv, 7);
    }
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("siglongjmp restored mask: usr1=%d usr2=%d\n", sigismember(&now, SIGUSR1),
           sigismember(&now, SIGUSR2));
    return 0;
}
