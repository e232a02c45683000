// CFLAGS: -O2
/* errno (a thread-local variable reached through %fs) set by failing system
 * calls and preserved across successful ones; perror/strerror; unknown
 * system call numbers (ENOSYS).  Messages go to both stdout and stderr. */
#define _GNU_SOURCE
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static void report(const char *what, int ret)
{
    int e = errno;
    printf("%-28s ret=%d errno=%d (%s) %s\n", what, ret, e, strerrorname_np(e) ? strerrorname_np(e) : "?", strerror(e));
    errno = e;
}

int main(void)
{
    errno = 0;
    int fd = open("/nonexistent/dir/file", O_RDONLY);
    report("open(nonexistent)", fd);
    perror("perror after open");
    /* successful calls must not disturb it */
    errno = 1234;
    int dummy = getpid() > 0;
    char buf[16];
    (void)!snprintf(buf, sizeof buf, "%d", dummy);
    dummy += (int)strlen(buf) + (int)write(1, "", 0);
    int after = errno;
    printf("errno after successful calls: %d (%d)\n", after, dummy);

    errno = 0;
    report("read(-1)", (int)read(-1, buf, 1));
    errno = 0;
    report("mkdir(\"/\")", mkdir("/", 0755));
    errno = 0;
    report("syscall(100000)", (int)syscall(100000));
    errno = 0;
    report("raw getpid via syscall()", syscall(SYS_getpid) > 0);
    errno = 0;
    int wfd = open("/dev/full", O_WRONLY);
    report("write(/dev/full)", (int)write(wfd, "x", 1));
    close(wfd);
    errno = 0;
    long v = strtol("99999999999999999999999", NULL, 10);
    report("strtol overflow", v == __LONG_MAX__);
    errno = 0;
    report("close(12345)", close(12345));
    errno = 0;
    report("lseek(bad whence)", (int)lseek(0, 0, 42));
    fprintf(stderr, "stderr: done, last errno %d\n", errno);
    return 0;
}
