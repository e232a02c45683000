// CFLAGS: -O2
/* System calls with arguments the kernel rejects, on the calls whose memory
 * lurk reads or writes itself: each prints its result and errno name.
 * execve/execveat with argv or envp = -1, a bad path, a bad string inside
 * argv or envp, an envp array running into an unmapped page, and a missing
 * program with a bad argv (ENOENT comes first natively); arch_prctl
 * ARCH_GET_GS/ARCH_GET_FS to a bad address; rt_sigaction with a bad act or
 * oldact; sigaltstack with bad pointers; clone3 with a bad argument
 * pointer; rt_sigprocmask and write with bad pointers. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;
#define BAD ((void *)-1)

static void show(const char *what, long r)
{
    int e = errno;
    printf("%-40s r %ld errno %s\n", what, r,
           r != -1 ? "-" : e == EFAULT ? "EFAULT" : e == ENOENT ? "ENOENT" : e == EINVAL ? "EINVAL"
                                                                           : strerror(e));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char *argv[] = { "true", NULL };
    char *bad_arg[] = { "true", (char *)8, NULL };
    char *bad_env[] = { "A=1", (char *)BAD, NULL };
    /* An envp array without its NULL before an unmapped page. */
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    char **tail = (char **)(page + 4096) - 2;
    tail[0] = "A=1";
    tail[1] = "B=2";

    errno = 0; show("execve argv -1", syscall(SYS_execve, "/bin/true", BAD, environ));
    errno = 0; show("execve envp -1", syscall(SYS_execve, "/bin/true", argv, BAD));
    errno = 0; show("execve path -1", syscall(SYS_execve, BAD, argv, environ));
    errno = 0; show("execve bad string in argv", syscall(SYS_execve, "/bin/true", bad_arg, environ));
    errno = 0; show("execve bad string in envp", syscall(SYS_execve, "/bin/true", argv, bad_env));
    errno = 0; show("execve envp into an unmapped page", syscall(SYS_execve, "/bin/true", argv, tail));
    errno = 0; show("execve missing program, argv -1", syscall(SYS_execve, "/no/such/prog", BAD, environ));
    errno = 0; show("execveat argv -1", syscall(SYS_execveat, AT_FDCWD, "/bin/true", BAD, environ, 0));
    errno = 0; show("execveat envp -1", syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, BAD, 0));
    errno = 0; show("arch_prctl ARCH_GET_GS to 8", syscall(SYS_arch_prctl, ARCH_GET_GS, 8));
    errno = 0; show("arch_prctl ARCH_GET_FS to 8", syscall(SYS_arch_prctl, ARCH_GET_FS, 8));
    errno = 0; show("rt_sigaction act 8", syscall(SYS_rt_sigaction, SIGUSR1, 8, 0, 8));
    errno = 0; show("rt_sigaction oldact 8", syscall(SYS_rt_sigaction, SIGUSR1, 0, 8, 8));
    errno = 0; show("sigaltstack ss 8", syscall(SYS_sigaltstack, 8, 0));
    errno = 0; show("sigaltstack old 8", syscall(SYS_sigaltstack, 0, 8));
    errno = 0; show("clone3 args 8", syscall(SYS_clone3, 8, 88));
    errno = 0; show("rt_sigprocmask set 8", syscall(SYS_rt_sigprocmask, SIG_BLOCK, 8, 0, 8));
    errno = 0; show("write buf 8", syscall(SYS_write, 1, 8, 10));
    errno = 0; show("execve /bin/true", execve("/bin/echo", (char *[]){ "echo", "exec still works", NULL }, environ));
    return 1;
}
