// CFLAGS: -O2
/* posix_spawn of /bin/echo (glibc spawns with clone(CLONE_VM|CLONE_VFORK)),
 * with a file action that sends the child's stdout to a file, then
 * posix_spawnp of "echo" found through PATH writing to our stdout. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
    pid_t pid;
    int st;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "spawn.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *argv1[] = { "echo", "written", "by a spawned echo", NULL };
    int r = posix_spawn(&pid, "/bin/echo", &fa, NULL, argv1, environ);
    printf("posix_spawn: %d\n", r);
    waitpid(pid, &st, 0);
    printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    char buf[100] = { 0 };
    FILE *f = fopen("spawn.out", "r");
    if (f && fgets(buf, sizeof buf, f)) printf("file holds: %s", buf);
    if (f) fclose(f);
    posix_spawn_file_actions_destroy(&fa);

    fflush(stdout);
    char *argv2[] = { "echo", "spawnp", "through PATH", NULL };
    r = posix_spawnp(&pid, "echo", NULL, NULL, argv2, environ);
    waitpid(pid, &st, 0);
    printf("posix_spawnp: %d, child exited %d\n", r, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
