// CFLAGS: -O2
/* Test wrapper: waitsig [--core] PROGRAM ARGS... forks, runs PROGRAM, and
 * prints how it ended: "exited N" or "killed by SIGxxx, core dumped: yes|no".
 * With --core the child's RLIMIT_CORE is raised to its hard limit first (kernel.core_pattern
 * is "core" on the project machines, so the core file lands in the scratch
 * directory; any "core*" file there is removed afterwards); without it,
 * RLIMIT_CORE = 0, so no core is written and the flag must be clear.  The
 * wrapper itself exits 0. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int core = argc > 1 && !strcmp(argv[1], "--core");
    char **cmd = argv + 1 + core;
    if (!*cmd) { fprintf(stderr, "usage: waitsig [--core] PROGRAM ARGS...\n"); return 2; }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) {
        struct rlimit rl;
        getrlimit(RLIMIT_CORE, &rl);
        rl.rlim_cur = core ? rl.rlim_max : 0;     /* as high as allowed (root: unlimited) */
        setrlimit(RLIMIT_CORE, &rl);
        execv(cmd[0], cmd);
        perror("execv");
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); return 2; }
    if (WIFEXITED(st)) printf("waitsig: exited %d\n", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("waitsig: killed by SIG%s, core dumped: %s\n", sigabbrev_np(WTERMSIG(st)), WCOREDUMP(st) ? "yes" : "no");
    else printf("waitsig: status %#x\n", st);
    DIR *d = opendir(".");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, "core", 4)) unlink(e->d_name);
    if (d) closedir(d);
    return 0;
}
