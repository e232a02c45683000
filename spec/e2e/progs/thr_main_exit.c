// CFLAGS: -O2 -pthread
/* The main thread calls pthread_exit while three other threads are still
 * working; they finish one after the other (in a fixed order), and the
 * process exits with status 0 when the last one returns. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_int turn = -1;

static void *worker(void *arg)
{
    int id = (int)(uintptr_t)arg;
    uint64_t s = id;
    for (uint64_t i = 0; i < 3000000; i++) s = s * 33 + i;
    while (atomic_load(&turn) != id) usleep(100);
    char buf[80];
    int n = snprintf(buf, sizeof buf, "worker %d: %016llx\n", id, (unsigned long long)s);
    write(1, buf, n);
    atomic_store(&turn, id + 1);
    return NULL;
}

int main(void)
{
    pthread_t t;
    for (uintptr_t i = 0; i < 3; i++) pthread_create(&t, NULL, worker, (void *)i);
    write(1, "main: pthread_exit\n", 19);
    atomic_store(&turn, 0);
    pthread_exit(NULL);
}
