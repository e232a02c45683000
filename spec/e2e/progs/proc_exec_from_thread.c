// CFLAGS: -O2 -pthread
/* execve called by a non-main thread while the other threads (main
 * included) are running: the kernel kills the other threads and the new
 * program (/bin/sh printing a line and exiting 3) takes over the process,
 * with the same pid. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;
static atomic_int spinning;

static void *spinner(void *arg)
{
    (void)arg;
    atomic_fetch_add(&spinning, 1);
    volatile uint64_t s = 0;
    for (;;) s++;
    return NULL;
}

static void *execer(void *arg)
{
    (void)arg;
    while (atomic_load(&spinning) < 2) ;
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    char *argv[] = { "sh", "-c", "[ \"$$\" = \"$1\" ] && echo same pid after exec || echo pid changed; exit 3", "sh", pid, NULL };
    fflush(stdout);
    execve("/bin/sh", argv, environ);
    perror("execve");
    exit(1);
}

int main(void)
{
    pthread_t t[3];
    puts("threads starting");
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, spinner, NULL);
    pthread_create(&t[2], NULL, execer, NULL);
    volatile uint64_t s = 0;
    for (;;) s++;                          /* the main thread spins too */
}
