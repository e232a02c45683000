// CFLAGS: -O2 -pthread
/* 8 threads hammering malloc/free: each keeps 512 live blocks and replaces
 * a pseudo-randomly chosen one 60,000 times (sizes 1..4096 bytes, some
 * realloc and calloc), filling each block with a pattern and checking it
 * before freeing; blocks also move between threads through a shared
 * mutex-protected exchange slot.  Per-thread checksums are printed. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NT 8
#define LIVE 512
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *slot;
static size_t slot_len;
static uint64_t sums[NT];
static int corrupt;

static int check_free(unsigned char *p, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= p[i] != (unsigned char)(n + i);
    free(p);
    return bad;
}

static void *worker(void *arg)
{
    uint64_t id = (uintptr_t)arg, x = id * 0x9e3779b97f4a7c15ull + 1, sum = 0;
    unsigned char *blk[LIVE] = { 0 };
    size_t len[LIVE] = { 0 };
    int bad = 0;
    for (int it = 0; it < 60000; it++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int k = (int)(x % LIVE);
        size_t n = 1 + (x >> 20) % 4096;
        if (blk[k]) bad |= check_free(blk[k], len[k]);
        switch ((x >> 40) % 8) {
        case 0: blk[k] = calloc(1, n); break;
        case 1: blk[k] = realloc(malloc(16), n); break;
        default: blk[k] = malloc(n); break;
        }
        len[k] = n;
        for (size_t i = 0; i < n; i++) blk[k][i] = (unsigned char)(n + i);
        sum += n;
        if ((x >> 50) % 64 == 0) {             /* swap a block with whatever is in the exchange slot */
            pthread_mutex_lock(&mu);
            unsigned char *p = slot;
            size_t pl = slot_len;
            slot = blk[k], slot_len = len[k];
            blk[k] = p, len[k] = pl;
            pthread_mutex_unlock(&mu);
        }
    }
    for (int k = 0; k < LIVE; k++)
        if (blk[k]) bad |= check_free(blk[k], len[k]);
    sums[id] = sum;
    if (bad) __atomic_store_n(&corrupt, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(void)
{
    pthread_t t[NT];
    for (uintptr_t i = 0; i < NT; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    if (slot) corrupt |= check_free(slot, slot_len);
    for (int i = 0; i < NT; i++) printf("thread %d: allocated %llu bytes\n", i, (unsigned long long)sums[i]);
    printf("corruption: %s\n", corrupt ? "YES" : "none");
    return 0;
}
