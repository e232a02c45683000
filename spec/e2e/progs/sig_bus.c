// CFLAGS: -O2
/* SIGBUS from touching a file mapping past the end of the file: a 3-page
 * file is mapped, truncated to one page, and pages 1 and 2 are read; the
 * handler sees BUS_ADRERR with si_addr the exact byte touched and leaves
 * with siglongjmp.  Page 0 still reads fine. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static void *volatile fault_addr;
static volatile int fault_code;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    siglongjmp(env, 1);
}

int main(void)
{
    int fd = open("sigbus.tmp", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror("open"); return 1; }
    char page[4096];
    memset(page, 'x', sizeof page);
    for (int i = 0; i < 3; i++) write(fd, page, sizeof page);
    volatile char *m = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) { perror("mmap"); return 1; }
    printf("before truncation: %c %c %c\n", m[0], m[4096 + 5], m[8192 + 77]);
    ftruncate(fd, 4096);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    size_t offs[] = { 100, 4096 + 5, 8192 + 77 };
    for (int i = 0; i < 3; i++) {
        fault_addr = NULL;
        if (sigsetjmp(env, 1) == 0) {
            char c = m[offs[i]];
            printf("offset %zu: read '%c'\n", offs[i], c);
        } else {
            printf("offset %zu: SIGBUS %s, si_addr %s\n", offs[i], fault_code == BUS_ADRERR ? "BUS_ADRERR" : "other",
                   fault_addr == (void *)(m + offs[i]) ? "= the byte touched" : "WRONG");
        }
    }
    unlink("sigbus.tmp");
    return 0;
}
