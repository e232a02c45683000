// CFLAGS: -O2 -pthread
/* execve from a child of a threaded parent: while 3 threads spin, a worker
 * thread (not the main one) forks, and the child (which has just that one
 * thread) execs /bin/echo; the parent thread waits for it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static atomic_int stop, spinning;

static void *spinner(void *arg)
{
    (void)arg;
    atomic_fetch_add(&spinning, 1);
    volatile uint64_t s = 0;
    while (!atomic_load(&stop)) s++;
    return NULL;
}

static void *forker(void *arg)
{
    (void)arg;
    while (atomic_load(&spinning) < 3) ;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = { "echo", "child of a threaded parent", NULL };
        execve("/bin/echo", argv, environ);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return (void *)(intptr_t)(WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st));
}

int main(void)
{
    pthread_t t[4];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, spinner, NULL);
    pthread_create(&t[3], NULL, forker, NULL);
    void *r;
    pthread_join(t[3], &r);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    printf("echo exited %ld\n", (long)(intptr_t)r);
    return 0;
}
