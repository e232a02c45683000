// CFLAGS: -O2 -pthread
/* (expected failure until threads are supported) pthread_create/join with
 * four workers summing disjoint ranges, a mutex-protected counter. */
#include <stdio.h>
#include <pthread.h>
#include <stdint.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total;

static void *worker(void *arg)
{
    uint64_t id = (uintptr_t)arg, s = 0;
    for (uint64_t i = id * 1000000; i < (id + 1) * 1000000; i++) s += i ^ (i >> 3);
    pthread_mutex_lock(&mu);
    total += s;
    pthread_mutex_unlock(&mu);
    return (void *)(uintptr_t)(s & 0xffff);
}

int main(void)
{
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        printf("thread %d returned %lu\n", i, (unsigned long)(uintptr_t)r);
    }
    printf("total %llu\n", (unsigned long long)total);
    return 0;
}
