// CFLAGS: -O2 -pthread
/* fork from a multithreaded process: 4 threads hammer malloc/free and
 * snprintf while the main thread forks; the child (only the forking thread
 * survives in it) uses malloc, free and printf freely and exits; repeated 5
 * times. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int stop, started;

static void *hammer(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    atomic_fetch_add(&started, 1);
    char buf[64];
    while (!atomic_load(&stop)) {
        void *p[16];
        for (int i = 0; i < 16; i++) p[i] = malloc(16 + (i * 37 + id) % 2000);
        snprintf(buf, sizeof buf, "%lu %p", (unsigned long)id, p[3]);
        for (int i = 0; i < 16; i++) free(p[i]);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, (void *)i);
    while (atomic_load(&started) < 4) ;
    for (int round = 0; round < 5; round++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            size_t total = 0;
            char **v = malloc(1000 * sizeof *v);
            for (int i = 0; i < 1000; i++) {
                v[i] = malloc(10 + i % 300);
                total += 10 + i % 300;
                snprintf(v[i], 10, "%d", i);
            }
            int sum = 0;
            for (int i = 0; i < 1000; i++) { sum += atoi(v[i]); free(v[i]); }
            free(v);
            printf("child %d: allocated %zu bytes, sum %d\n", round, total, sum);
            exit(round);
        }
        int st;
        waitpid(pid, &st, 0);
        printf("parent: child %d exited %d\n", round, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    puts("parent: threads joined");
    return 0;
}
