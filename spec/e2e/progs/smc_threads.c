// CFLAGS: -O2 -pthread
/* Code changed by one thread and run by another: a writer thread rewrites
 * the immediate of a generated function in an RWX page (no system call),
 * then hands over through an atomic flag to a runner thread, which calls
 * the function and must see the new value; 2000 rounds.  A DBI engine must
 * drop the translation for every thread, not just the writer. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define ROUNDS 2000
static unsigned char *code;
static atomic_int turn;            /* 2*r: writer's turn for round r, 2*r+1: runner's */
static int stale;
static long sum;

/* Spin (no system call) while the other thread runs on another core; yield
 * only after a while, in case both share one core (else each hand-over
 * could cost a whole time slice). */
static void wait_turn(int t)
{
    for (int i = 0; atomic_load(&turn) != t; i++)
        if (i > 20000) sched_yield();
}

static void *writer(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        wait_turn(2 * r);
        int32_t v = r * 3 + 1;
        memcpy(code + 1, &v, 4);           /* mov eax, imm32 <- v */
        atomic_store(&turn, 2 * r + 1);
    }
    return NULL;
}

static void *runner(void *arg)
{
    (void)arg;
    int (*f)(void) = (int (*)(void))code;
    for (int r = 0; r < ROUNDS; r++) {
        wait_turn(2 * r + 1);
        int got = f();
        stale += got != r * 3 + 1;
        sum += got;
        atomic_store(&turn, 2 * r + 2);
    }
    return NULL;
}

int main(void)
{
    code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) { perror("mmap"); return 1; }
    static const unsigned char body[] = { 0xb8, 0, 0, 0, 0, 0xc3 };   /* mov eax, imm32; ret */
    memcpy(code, body, sizeof body);
    pthread_t w, r;
    pthread_create(&r, NULL, runner, NULL);
    pthread_create(&w, NULL, writer, NULL);
    pthread_join(w, NULL);
    pthread_join(r, NULL);
    printf("%d rounds: %d stale results, sum %ld\n", ROUNDS, stale, sum);
    return 0;
}
