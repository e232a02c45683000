// CFLAGS: -O2
/* SIGCHLD and waitid: (1) SIGCHLD blocked, five children exit with
 * distinct statuses, waitid(P_PID) for each prints si_code/si_status and
 * whether si_pid matches; (2) a SA_SIGINFO SIGCHLD handler reaps with
 * waitid(P_ALL, WEXITED|WNOHANG) in a loop while the main thread waits in
 * sigsuspend until ten children are reaped (the exit statuses are summed,
 * no order); (3) waitid(WSTOPPED) on a child that stops itself,
 * WCONTINUED after SIGCONT (the child stays until it is seen), WNOWAIT
 * then the real reap; (4) waitid with
 * nothing to wait for: ECHILD, and WNOHANG with a live child: si_pid 0.
 * Also 20 children each waited for by a blocking waitid while a counting
 * SA_RESTART handler takes their SIGCHLDs. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int reaped, status_sum, handler_runs;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)si; (void)uc;
    handler_runs++;
    for (;;) {
        siginfo_t w;
        memset(&w, 0, sizeof w);
        if (waitid(P_ALL, 0, &w, WEXITED | WNOHANG) != 0 || w.si_pid == 0) break;
        reaped++;
        status_sum += w.si_status;
    }
}

static volatile int counted;
static void on_count(int sig) { (void)sig; counted++; }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);

    sigprocmask(SIG_BLOCK, &chld, &old);
    pid_t pids[5];
    for (int i = 0; i < 5; i++)
        if ((pids[i] = fork()) == 0) _exit(10 + i);
    for (int i = 0; i < 5; i++) {
        siginfo_t w;
        memset(&w, 0, sizeof w);
        int r = waitid(P_PID, pids[i], &w, WEXITED);
        printf("waitid %d: r %d code %s status %d pid %s\n", i, r,
               w.si_code == CLD_EXITED ? "CLD_EXITED" : "other", w.si_status,
               w.si_pid == pids[i] ? "match" : "wrong");
    }
    siginfo_t pend;
    struct timespec zero = { 0, 0 };
    while (sigtimedwait(&chld, &pend, &zero) > 0) {} /* drop the pending SIGCHLD */
    sigprocmask(SIG_SETMASK, &old, NULL);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    sigprocmask(SIG_BLOCK, &chld, &old);
    for (int i = 0; i < 10; i++)
        if (fork() == 0) _exit(i);
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGCHLD);
    while (reaped < 10) sigsuspend(&wait_mask);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("handler reaped %d, status sum %d, handler ran: %s\n", reaped, status_sum,
           handler_runs >= 1 ? "yes" : "no");

    /* A counting handler (SA_RESTART) while the main thread blocks in
     * waitid: the call is restarted or finds the child, never hangs. */
    static struct sigaction count_sa;
    count_sa.sa_handler = (void (*)(int))(void *)on_count;
    count_sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &count_sa, NULL);
    for (int i = 0; i < 20; i++) {
        pid_t c = fork();
        if (c == 0) { usleep(1000); _exit(i); }
        siginfo_t w;
        memset(&w, 0, sizeof w);
        if (waitid(P_PID, c, &w, WEXITED) != 0 || w.si_status != i) printf("blocking waitid %d failed\n", i);
    }
    printf("blocking waitid with a SIGCHLD handler: 20 reaped, %d signals\n", counted);

    /* The child waits on `go` after it is continued: once it has exited,
     * waitid(WCONTINUED) finds no child to report (ECHILD, natively too),
     * and the parent's kill and waitid race with the child's exit. */
    signal(SIGCHLD, SIG_DFL);
    int go[2];
    pipe(go);
    pid_t p = fork();
    if (p == 0) { char c; raise(SIGSTOP); read(go[0], &c, 1); _exit(42); }
    siginfo_t w;
    memset(&w, 0, sizeof w);
    waitid(P_PID, p, &w, WSTOPPED);
    printf("stopped: code %s status %s\n", w.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other",
           w.si_status == SIGSTOP ? "SIGSTOP" : "other");
    kill(p, SIGCONT);
    memset(&w, 0, sizeof w);
    waitid(P_PID, p, &w, WCONTINUED);
    printf("continued: code %s\n", w.si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other");
    write(go[1], "x", 1);
    close(go[0]);
    close(go[1]);
    memset(&w, 0, sizeof w);
    waitid(P_PID, p, &w, WEXITED | WNOWAIT);
    printf("nowait: code %s status %d\n", w.si_code == CLD_EXITED ? "CLD_EXITED" : "other", w.si_status);
    memset(&w, 0, sizeof w);
    waitid(P_PID, p, &w, WEXITED);
    printf("reaped: status %d\n", w.si_status);

    int r = waitid(P_ALL, 0, &w, WEXITED);
    printf("no children: r %d errno %s\n", r, errno == ECHILD ? "ECHILD" : "other");
    int fds[2];
    pipe(fds);
    p = fork();
    if (p == 0) { char c; read(fds[0], &c, 1); _exit(0); }
    memset(&w, 0, sizeof w);
    r = waitid(P_PID, p, &w, WEXITED | WNOHANG);
    printf("WNOHANG, child alive: r %d si_pid %d\n", r, w.si_pid);
    write(fds[1], "x", 1);
    waitid(P_PID, p, &w, WEXITED);
    printf("done\n");
    return 0;
}
