// CFLAGS: -O2
/* signalfd: SIGUSR1 and SIGUSR2 are blocked (a handler is installed but must
 * not run) and read back as signalfd_siginfo records: raise(SIGUSR1),
 * sigqueue(SIGUSR2, 77), kill(SIGUSR1); poll reports the fd readable only
 * while something is pending. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void on_sig(int s) { (void)s; handled++; }

static int readable(int fd)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    return poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN);
}

static void drain(int fd)
{
    struct signalfd_siginfo si;
    while (readable(fd)) {
        if (read(fd, &si, sizeof si) != sizeof si) { puts("short read"); return; }
        printf("read: %s code=%s int=%d pid=%s\n", si.ssi_signo == SIGUSR1 ? "SIGUSR1" : si.ssi_signo == SIGUSR2 ? "SIGUSR2" : "other",
               si.ssi_code == SI_TKILL ? "SI_TKILL" : si.ssi_code == SI_QUEUE ? "SI_QUEUE" : si.ssi_code == SI_USER ? "SI_USER" : "other",
               si.ssi_code == SI_QUEUE ? si.ssi_int : -1, si.ssi_pid == (unsigned)getpid() ? "self" : "other");
    }
}

int main(void)
{
    signal(SIGUSR1, on_sig);
    signal(SIGUSR2, on_sig);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int fd = signalfd(-1, &m, SFD_CLOEXEC);
    if (fd < 0) { perror("signalfd"); return 1; }
    printf("readable at start: %d\n", readable(fd));
    raise(SIGUSR1);
    sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 77 });
    printf("readable after two signals: %d\n", readable(fd));
    drain(fd);
    kill(getpid(), SIGUSR1);
    drain(fd);
    printf("readable at end: %d, handler ran %d times\n", readable(fd), (int)handled);
    return 0;
}
