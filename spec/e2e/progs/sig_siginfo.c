// CFLAGS: -O2
/* rt_sigaction with SA_SIGINFO: the siginfo the handler gets for raise
 * (SI_TKILL), kill (SI_USER), sigqueue (SI_QUEUE with a value), and three
 * queued real-time signals sent while blocked, delivered in order with their
 * values once unblocked. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int n;
static struct { int sig, code, value, pid_ok, uid_ok; } seen[16];

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    seen[n].sig = sig;
    seen[n].code = si->si_code;
    seen[n].value = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
    seen[n].pid_ok = si->si_pid == getpid();
    seen[n].uid_ok = si->si_uid == getuid();
    n++;
}

static const char *code(int c)
{
    return c == SI_USER ? "SI_USER" : c == SI_TKILL ? "SI_TKILL" : c == SI_QUEUE ? "SI_QUEUE" : "other";
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGRTMIN + 3, &sa, NULL);
    struct sigaction old;
    sigaction(SIGUSR1, NULL, &old);
    printf("installed: SA_SIGINFO %s, handler %s\n", (old.sa_flags & SA_SIGINFO) ? "set" : "clear",
           old.sa_sigaction == handler ? "ours" : "other");

    raise(SIGUSR1);
    kill(getpid(), SIGUSR1);
    sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 1234 });

    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN + 3);
    sigprocmask(SIG_BLOCK, &rt, NULL);
    for (int v = 1; v <= 3; v++) sigqueue(getpid(), SIGRTMIN + 3, (union sigval){ .sival_int = v * 11 });
    printf("handled while blocked: %d\n", n - 3);
    sigprocmask(SIG_UNBLOCK, &rt, NULL);

    for (int i = 0; i < n; i++)
        printf("%d: %s code=%s value=%d pid=%s uid=%s\n", i, seen[i].sig == SIGUSR1 ? "SIGUSR1" : "SIGRTMIN+3",
               code(seen[i].code), seen[i].value, seen[i].pid_ok ? "self" : "other", seen[i].uid_ok ? "ok" : "bad");
    return 0;
}
