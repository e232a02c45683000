// CFLAGS: -O2 -pthread
/* __thread variables (initialized, zero-initialized, an array and a struct)
 * hold a separate value in each of 8 threads and the main thread: every
 * thread writes its own values, waits at a barrier until all have written,
 * then checks that it still sees its own. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define NT 8
static __thread int tinit = 42;
static __thread uint64_t tzero;
static __thread char tarr[256];
static __thread struct { int a; double d; } tstruct = { 7, 2.5 };
static pthread_barrier_t bar;
static int report[NT][4];

static void *worker(void *arg)
{
    int id = (int)(uintptr_t)arg;
    int saw_init = tinit, saw_zero = (int)tzero, saw_struct = tstruct.a;
    tinit = 100 + id;
    tzero = 1000 + id;
    for (int i = 0; i < 256; i++) tarr[i] = (char)(id * 3 + i);
    tstruct.a = id;
    tstruct.d = id * 0.5;
    pthread_barrier_wait(&bar);          /* all threads have written theirs */
    int ok = tinit == 100 + id && tzero == 1000u + id && tstruct.a == id && tstruct.d == id * 0.5;
    for (int i = 0; i < 256; i++) ok &= tarr[i] == (char)(id * 3 + i);
    report[id][0] = saw_init;
    report[id][1] = saw_zero;
    report[id][2] = saw_struct;
    report[id][3] = ok;
    return NULL;
}

int main(void)
{
    pthread_t t[NT];
    tinit = 1; tzero = 2; tstruct.a = 3;
    pthread_barrier_init(&bar, NULL, NT);
    for (uintptr_t i = 0; i < NT; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < NT; i++)
        printf("thread %d: started with %d/%d/%d, own values kept: %s\n", i, report[i][0], report[i][1],
               report[i][2], report[i][3] ? "yes" : "NO");
    printf("main: %d %llu %d\n", tinit, (unsigned long long)tzero, tstruct.a);
    return 0;
}
