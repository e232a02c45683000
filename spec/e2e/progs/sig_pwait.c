// CFLAGS: -O2
/* ppoll, pselect and epoll_pwait with a signal mask: SIGUSR1 is blocked and
 * already pending; each call waits with a mask that unblocks it, so it
 * returns -1/EINTR at once after the handler ran, and SIGUSR1 is blocked
 * again afterwards.  With a mask that keeps it blocked the calls time out
 * (10 ms) instead and the signal stays pending. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void on_usr1(int s) { (void)s; handled++; }

static void report(const char *what, int r, int e)
{
    sigset_t now, pend;
    sigprocmask(SIG_BLOCK, NULL, &now);
    sigpending(&pend);
    printf("%-22s returned %d%s, handled %d, blocked %d, pending %d\n", what, r, r < 0 && e == EINTR ? " EINTR" : "",
           (int)handled, sigismember(&now, SIGUSR1), sigismember(&pend, SIGUSR1));
}

int main(void)
{
    signal(SIGUSR1, on_usr1);
    sigset_t blocked, open, still;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    sigemptyset(&open);
    still = blocked;
    int p[2];
    pipe(p);                                   /* never written: nothing to read */
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] };
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    struct timespec ten_ms = { 0, 10 * 1000 * 1000 }, five_s = { 5, 0 };

    for (int round = 0; round < 2; round++) {
        const sigset_t *m = round ? &still : &open;
        const char *tag = round ? "masked" : "unmasking";
        char what[40];
        struct pollfd pf = { .fd = p[0], .events = POLLIN };
        raise(SIGUSR1);
        int r = ppoll(&pf, 1, round ? &ten_ms : &five_s, m);
        snprintf(what, sizeof what, "ppoll %s", tag);
        report(what, r, errno);
        raise(SIGUSR1);                        /* (already pending in the masked round) */
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(p[0], &rd);
        r = pselect(p[0] + 1, &rd, NULL, NULL, round ? &ten_ms : &five_s, m);
        snprintf(what, sizeof what, "pselect %s", tag);
        report(what, r, errno);
        raise(SIGUSR1);
        struct epoll_event out;
        r = epoll_pwait(ep, &out, 1, round ? 10 : 5000, m);
        snprintf(what, sizeof what, "epoll_pwait %s", tag);
        report(what, r, errno);
    }
    sigprocmask(SIG_UNBLOCK, &blocked, NULL);
    printf("unblocked: handled %d\n", (int)handled);
    return 0;
}
