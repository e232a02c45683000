// CFLAGS: -O2
/* SA_RESTART vs not: a blocking read from an empty pipe is interrupted by a
 * one-shot timer whose handler writes one byte into that pipe.  Without
 * SA_RESTART the read fails with EINTR (the byte is still in the pipe);
 * with SA_RESTART the kernel restarts the read, which returns the byte. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int p[2];
static volatile sig_atomic_t fired;
static void on_alrm(int s) { (void)s; fired++; write(p[1], "x", 1); }

static void run(const char *name, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, NULL);
    fired = 0;
    struct itimerval it = { { 0, 0 }, { 0, 20000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    char c = '?';
    errno = 0;
    ssize_t n = read(p[0], &c, 1);
    int e = errno;
    printf("%-12s read returned %zd%s, handler ran %d", name, n, n < 0 && e == EINTR ? " EINTR" : "", (int)fired);
    if (n == 1) printf(", got '%c'\n", c);
    else { read(p[0], &c, 1); printf(", byte left in the pipe '%c'\n", c); }
}

int main(void)
{
    pipe(p);
    run("no restart", 0);
    run("SA_RESTART", SA_RESTART);
    return 0;
}
