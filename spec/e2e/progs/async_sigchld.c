// CFLAGS: -O2
/* A SIGCHLD handler reaping children: 20 children exit with statuses 1..20
 * at slightly different times; the handler loops on waitpid(WNOHANG) (one
 * SIGCHLD may stand for several children) and counts them; the main thread
 * waits in sigsuspend until all are reaped. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int reaped, status_sum;

static void on_chld(int sig)
{
    (void)sig;
    int saved = errno, st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        reaped++;
        if (WIFEXITED(st)) status_sum += WEXITSTATUS(st);
    }
    errno = saved;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    for (int i = 1; i <= 20; i++) {
        pid_t p = fork();
        if (p < 0) { perror("fork"); return 1; }
        if (p == 0) {
            usleep((i % 5) * 2000);
            _exit(i);
        }
    }
    int waits = 0;
    while (reaped < 20) {
        sigsuspend(&old);
        waits++;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("reaped %d children, exit statuses sum %d, woke up at least once: %s\n", reaped, status_sum,
           waits > 0 ? "yes" : "no");
    return 0;
}
