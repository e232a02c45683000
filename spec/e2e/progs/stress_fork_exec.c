// CFLAGS: -O2
/* Stress: 200 children that each exec /bin/true (at most 8 alive at a time);
 * every child is waited for and the successful exits are counted. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
    int started = 0, ok = 0, bad = 0, alive = 0;
    char *argv[] = { "true", NULL };
    while (started < 200 || alive > 0) {
        if (started < 200 && alive < 8) {
            pid_t p = fork();
            if (p < 0) { perror("fork"); return 1; }
            if (p == 0) { execve("/bin/true", argv, environ); _exit(127); }
            started++, alive++;
            continue;
        }
        int st;
        if (wait(&st) < 0) { perror("wait"); return 1; }
        alive--;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) ok++; else bad++;
    }
    printf("%d children exec'd /bin/true: %d exited 0, %d did not\n", started, ok, bad);
    return 0;
}
