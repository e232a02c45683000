// CFLAGS: -O2
/* vfork + execve: the child execs /bin/echo (the parent resumes once the exec
 * has happened); a second child's execve of a missing file fails, and it
 * reports errno to the parent through the shared memory before _exit(127). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static volatile int child_errno;

static int run(const char *path, char *const argv[])
{
    fflush(stdout);
    pid_t pid = vfork();
    if (pid < 0) { perror("vfork"); return -1; }
    if (pid == 0) {
        execve(path, argv, environ);
        child_errno = errno;
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

int main(void)
{
    char *echo_argv[] = { "echo", "hello from", "vfork+execve", NULL };
    int r = run("/bin/echo", echo_argv);
    printf("echo exited %d, child errno %d\n", r, child_errno);
    char *missing_argv[] = { "nothing", NULL };
    r = run("/nonexistent/program", missing_argv);
    printf("missing program: exited %d, child errno %s\n", r, child_errno == ENOENT ? "ENOENT" : strerror(child_errno));
    return 0;
}
