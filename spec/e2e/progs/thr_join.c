// CFLAGS: -O2 -pthread
/* pthread_create/pthread_join: 8 workers compute different things and hand
 * their results back through the join value and through a shared array. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define N 8
static uint64_t out[N];

static void *worker(void *arg)
{
    uint64_t id = (uintptr_t)arg, h = 1469598103934665603ull;
    for (uint64_t i = 0; i < 200000 + id * 1000; i++) h = (h ^ (i * (id + 1))) * 1099511628211ull;
    out[id] = h;
    return (void *)(uintptr_t)(h % 100003);
}

int main(void)
{
    pthread_t t[N];
    for (uintptr_t i = 0; i < N; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i)) { puts("pthread_create failed"); return 1; }
    for (int i = 0; i < N; i++) {
        void *r;
        int e = pthread_join(t[i], &r);
        printf("thread %d: join=%d ret=%lu out=%016llx\n", i, e, (unsigned long)(uintptr_t)r, (unsigned long long)out[i]);
    }
    return 0;
}
