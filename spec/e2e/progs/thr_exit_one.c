// CFLAGS: -O2 -pthread
/* One thread leaves with the raw SYS_exit system call (only that thread
 * ends) while the others keep computing; pthread_join still sees it go (the
 * kernel clears its tid), and the process carries on to a normal exit. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N 4
static atomic_int go;
static volatile uint64_t out[N];

static void *worker(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    if (id == 0) {
        out[0] = 12345;
        syscall(SYS_exit, 0);            /* this thread only; no unwinding */
        out[0] = 999;                    /* never reached */
    }
    while (!atomic_load(&go)) ;          /* spin until thread 0 is known gone */
    uint64_t s = id;
    for (uint64_t i = 0; i < 2000000; i++) s = s * 31 + (i ^ id);
    out[id] = s;
    return (void *)(uintptr_t)(id * 11);
}

int main(void)
{
    pthread_t t[N];
    for (uintptr_t i = 0; i < N; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    void *r = (void *)1;
    int e = pthread_join(t[0], &r);
    printf("thread 0: join=%d ret=%p out=%llu\n", e, r, (unsigned long long)out[0]);
    atomic_store(&go, 1);
    for (int i = 1; i < N; i++) {
        e = pthread_join(t[i], &r);
        printf("thread %d: join=%d ret=%lu out=%016llx\n", i, e, (unsigned long)(uintptr_t)r, (unsigned long long)out[i]);
    }
    puts("main: done");
    return 0;
}
