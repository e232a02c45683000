// CFLAGS: -O2
/* Handlers that leave with siglongjmp: 1000 SIGSEGVs from a PROT_NONE page
 * and 1000 raise(SIGUSR1) are each escaped with siglongjmp to a
 * sigsetjmp(env, 1), which restores the signal mask (so the next one is
 * delivered again); with sigsetjmp(env, 0) the mask is not restored and
 * SIGUSR1 stays blocked after the jump. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf env;
static volatile int hits;
static void jump_out(int sig) { (void)sig; hits++; siglongjmp(env, hits); }

static int blocked(int sig)
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, sig);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = jump_out;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    volatile int *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    int masked_after = 0;
    for (int i = 0; i < 1000; i++) {
        if (sigsetjmp(env, 1) == 0) { (void)bad[i]; puts("no fault?"); }
        masked_after += blocked(SIGSEGV);
    }
    printf("SIGSEGV: %d jumps, SIGSEGV blocked after %d of them\n", hits, masked_after);

    hits = 0, masked_after = 0;
    for (int i = 0; i < 1000; i++) {
        if (sigsetjmp(env, 1) == 0) { raise(SIGUSR1); puts("no jump?"); }
        masked_after += blocked(SIGUSR1);
    }
    printf("SIGUSR1: %d jumps, SIGUSR1 blocked after %d of them\n", hits, masked_after);

    hits = 0;
    if (sigsetjmp(env, 0) == 0) raise(SIGUSR1);
    printf("sigsetjmp(env, 0): %d jump, SIGUSR1 blocked after it %d\n", hits, blocked(SIGUSR1));
    raise(SIGUSR1);                            /* blocked: stays pending */
    printf("raised again while blocked: %d jumps\n", hits);
    return 0;
}
