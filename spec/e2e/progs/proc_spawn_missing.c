// CFLAGS: -O2
/* posix_spawn reports an exec failure as its own return value (glibc's
 * child writes the error into memory shared with the parent through
 * CLONE_VM|CLONE_VFORK): ENOENT for a missing program, ENOENT from
 * posix_spawnp for a name not on PATH, EACCES for a file that is not
 * executable.  No child is left to reap. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

static const char *name(int e)
{
    return e == 0 ? "0" : e == ENOENT ? "ENOENT" : e == EACCES ? "EACCES" : strerror(e);
}

int main(void)
{
    pid_t pid = 0;
    char *argv[] = { "x", NULL };
    printf("posix_spawn missing: %s\n", name(posix_spawn(&pid, "/nonexistent/dir/prog", NULL, NULL, argv, environ)));
    printf("posix_spawnp missing: %s\n", name(posix_spawnp(&pid, "no-such-program-e2e", NULL, NULL, argv, environ)));
    printf("posix_spawn not executable: %s\n", name(posix_spawn(&pid, "/etc/passwd", NULL, NULL, argv, environ)));
    int st;
    printf("children left: %s\n", waitpid(-1, &st, 0) < 0 && errno == ECHILD ? "none" : "some");
    return 0;
}
