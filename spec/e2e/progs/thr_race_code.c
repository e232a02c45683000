// CFLAGS: -O1 -pthread
/* Threads racing to run the same fresh code: 512 distinct functions
 * (generated with macros, never run before) are called through a table by
 * 8 threads released together by a barrier; even threads walk the table
 * forwards, odd ones backwards, so several threads hit each new function at
 * about the same moment.  Each thread's chained result is fixed by its id. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define F(n)                                                                  \
    __attribute__((noinline)) static uint32_t f_##n(uint32_t x)              \
    {                                                                         \
        uint32_t k = 1##n;                                                    \
        for (int i = 0; i < 3; i++) {                                         \
            if (x & 1) x = x * k + i;                                         \
            else x = (x >> 1) ^ k;                                            \
        }                                                                     \
        return x + k;                                                         \
    }
#define D8(p, M) M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7)
#define D64(p, M) D8(p##0, M) D8(p##1, M) D8(p##2, M) D8(p##3, M) D8(p##4, M) D8(p##5, M) D8(p##6, M) D8(p##7, M)
#define D512(M) D64(0, M) D64(1, M) D64(2, M) D64(3, M) D64(4, M) D64(5, M) D64(6, M) D64(7, M)
D512(F)
#define T(n) f_##n,
static uint32_t (*const table[512])(uint32_t) = { D512(T) };

#define NT 8
static pthread_barrier_t bar;
static uint32_t out[NT];

static void *worker(void *arg)
{
    int id = (int)(uintptr_t)arg;
    uint32_t x = 17 + id;
    pthread_barrier_wait(&bar);
    for (int round = 0; round < 20; round++)
        for (int i = 0; i < 512; i++) x = table[(id & 1) ? 511 - i : i](x);
    out[id] = x;
    return NULL;
}

int main(void)
{
    pthread_t t[NT];
    pthread_barrier_init(&bar, NULL, NT);
    for (uintptr_t i = 0; i < NT; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < NT; i++) printf("thread %d: %08x\n", i, out[i]);
    /* the same walks again on the main thread, now on warm code */
    for (int id = 0; id < NT; id++) {
        uint32_t x = 17 + id;
        for (int round = 0; round < 20; round++)
            for (int i = 0; i < 512; i++) x = table[(id & 1) ? 511 - i : i](x);
        if (x != out[id]) printf("thread %d: MISMATCH with the main thread's %08x\n", id, x);
    }
    puts("main thread agrees");
    return 0;
}
