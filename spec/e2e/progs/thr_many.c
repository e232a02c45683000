// CFLAGS: -O2 -pthread
/* 300 threads alive at once: all wait at one barrier (so all exist
 * together), then each computes a value; the main thread checks
 * /proc/self/status shows 301 threads and joins them all. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 300
static pthread_barrier_t bar;
static uint64_t out[N];

static void *worker(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    pthread_barrier_wait(&bar);
    uint64_t s = id;
    for (int i = 0; i < 20000; i++) s = s * 6364136223846793005ull + 1442695040888963407ull;
    out[id] = s;
    return (void *)(id + 1);
}

static int threads_now(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Threads:", 8)) sscanf(line + 8, "%d", &n);
    if (f) fclose(f);
    return n;
}

int main(void)
{
    static pthread_t t[N];
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    pthread_barrier_init(&bar, NULL, N + 1);
    for (uintptr_t i = 0; i < N; i++)
        if (pthread_create(&t[i], &a, worker, (void *)i)) { printf("create %lu failed\n", (unsigned long)i); return 1; }
    printf("threads in the process: %d\n", threads_now());
    pthread_barrier_wait(&bar);
    uint64_t sum = 0, rets = 0;
    for (int i = 0; i < N; i++) {
        void *r;
        pthread_join(t[i], &r);
        rets += (uintptr_t)r;
        sum ^= out[i] + i;
    }
    printf("joined %d threads, sum of returns %llu, xor %016llx\n", N, (unsigned long long)rets, (unsigned long long)sum);
    printf("threads in the process: %d\n", threads_now());
    return 0;
}
