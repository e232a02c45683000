// CFLAGS: -O2 -pthread
/* Thread-directed signals: pthread_kill(SIGUSR1) to each of 4 threads in a
 * fixed order; the handler records which thread it ran on (a __thread id)
 * and the si_code (SI_TKILL); the main thread never runs it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NT 4
static __thread int my_id = -1;
static atomic_int handled_by[NT], nlog, stop, ready;
static int log_id[NT], log_code[NT];

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    int n = atomic_load(&nlog);
    log_id[n] = my_id;
    log_code[n] = si->si_code;
    atomic_store(&nlog, n + 1);
    if (my_id >= 0) atomic_store(&handled_by[my_id], 1);
}

static void *worker(void *arg)
{
    my_id = (int)(uintptr_t)arg;
    atomic_fetch_add(&ready, 1);
    volatile uint64_t spin = 0;
    while (!atomic_load(&stop)) spin++;
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t[NT];
    for (uintptr_t i = 0; i < NT; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    while (atomic_load(&ready) < NT) ;
    int order[NT] = { 2, 0, 3, 1 };
    for (int k = 0; k < NT; k++) {
        pthread_kill(t[order[k]], SIGUSR1);
        while (!atomic_load(&handled_by[order[k]])) sched_yield();
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    for (int k = 0; k < atomic_load(&nlog); k++)
        printf("signal %d handled on thread %d, si_code %s\n", k, log_id[k], log_code[k] == SI_TKILL ? "SI_TKILL" : "other");
    return 0;
}
