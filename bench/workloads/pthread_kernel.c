/* lurk benchmark (needs threads -- issue 3): a pthread compute kernel.
 *
 * NTHREADS workers each integrate a slice of a numeric kernel (a dense
 * mat-vec style loop plus an integer hash), then combine their partial
 * results under a mutex and meet at a barrier for several rounds.  The
 * output is deterministic: each thread's contribution depends only on its
 * slice, and the combination is order-independent (integer sums / xor).
 *
 * Usage: pthread_kernel [NTHREADS (default 2)] [ROUNDS (default 8000)]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 512

static int nthreads = 2;
static int rounds = 8000;
static double mat[N][N];
static double vec[2][N];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;
static uint64_t global_sum, global_xor;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    int lo = id * N / nthreads, hi = (id + 1) * N / nthreads;
    for (int r = 0; r < rounds; r++) {
        const double *in = vec[r & 1];
        double *out = vec[(r + 1) & 1];
        uint64_t sum = 0, x = 0;
        for (int i = lo; i < hi; i++) {
            double acc = 0.0;
            for (int j = 0; j < N; j++)
                acc += mat[i][j] * in[j];
            out[i] = acc / (1.0 + (acc < 0 ? -acc : acc)); /* bounded, never vanishes */
            uint64_t q = (uint64_t)(int64_t)(acc * 1000.0);
            sum += q;
            x ^= q * 0x9E3779B97F4A7C15ull + (uint64_t)i;
        }
        pthread_mutex_lock(&lock);
        global_sum += sum;
        global_xor ^= x;
        pthread_mutex_unlock(&lock);
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        nthreads = atoi(argv[1]);
    if (argc > 2)
        rounds = atoi(argv[2]);
    if (nthreads < 1 || nthreads > 64)
        nthreads = 2;

    uint32_t s = 1;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            s = s * 1664525u + 1013904223u;
            mat[i][j] = (double)(s >> 8) / (double)(1u << 24) - 0.5;
        }
        vec[0][i] = 1.0 + (i % 7);
    }

    pthread_t *tids = malloc(sizeof *tids * (size_t)nthreads);
    if (!tids)
        return 1;
    pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
    for (int t = 0; t < nthreads; t++)
        if (pthread_create(&tids[t], NULL, worker, (void *)(intptr_t)t) != 0) {
            perror("pthread_create");
            return 1;
        }
    for (int t = 0; t < nthreads; t++)
        pthread_join(tids[t], NULL);
    pthread_barrier_destroy(&barrier);
    free(tids);

    printf("threads=%d rounds=%d sum=%016llx xor=%016llx v0=%.6f\n", nthreads, rounds,
           (unsigned long long)global_sum, (unsigned long long)global_xor, vec[rounds & 1][0]);
    return 0;
}
