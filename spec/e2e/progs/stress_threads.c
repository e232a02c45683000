// CFLAGS: -O2 -pthread
/* Stress: 1000 short-lived threads, created in waves of 50 (each wave
 * joined before the next); each thread computes a small value from its
 * number, and the sum of all of them is printed. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static void *worker(void *arg)
{
    uint64_t id = (uintptr_t)arg, s = id;
    for (int i = 0; i < 1000; i++) s = s * 2862933555777941757ull + 3037000493ull;
    return (void *)(uintptr_t)(s % 1000003);
}

int main(void)
{
    uint64_t sum = 0;
    int joined = 0;
    for (int wave = 0; wave < 20; wave++) {
        pthread_t t[50];
        for (int i = 0; i < 50; i++)
            if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(wave * 50 + i))) { puts("create failed"); return 1; }
        for (int i = 0; i < 50; i++) {
            void *r;
            if (pthread_join(t[i], &r) == 0) joined++;
            sum += (uintptr_t)r;
        }
    }
    printf("%d threads joined, sum %llu\n", joined, (unsigned long long)sum);
    return 0;
}
