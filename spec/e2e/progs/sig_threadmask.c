// CFLAGS: -O2 -pthread
/* Per-thread signal masks: a process-directed kill(SIGUSR1) goes to the one
 * thread that does not block it (all others, main included, block it); a
 * thread-directed SIGUSR2 sent to a thread that blocks it stays pending on
 * that thread until the thread unblocks it with pthread_sigmask. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NT 4
static __thread int my_id = -1;
static atomic_int usr1_on = -2, usr2_on = -2, ready, phase;

static void on_usr1(int sig) { (void)sig; atomic_store(&usr1_on, my_id); }
static void on_usr2(int sig) { (void)sig; atomic_store(&usr2_on, my_id); }

static void *worker(void *arg)
{
    my_id = (int)(uintptr_t)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);                    /* everyone blocks SIGUSR2 */
    if (my_id != 2) sigaddset(&s, SIGUSR1);    /* all but thread 2 block SIGUSR1 */
    pthread_sigmask(SIG_SETMASK, &s, NULL);    /* (the mask inherited from main blocks both) */
    atomic_fetch_add(&ready, 1);
    while (atomic_load(&phase) < 1) ;
    if (my_id == 1) {                          /* SIGUSR2 is pending on us now */
        sigset_t p;
        sigpending(&p);
        int pending = sigismember(&p, SIGUSR2);
        int before = atomic_load(&usr2_on);
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        printf("thread 1: SIGUSR2 pending %d, handled before unblocking: %s, after: on thread %d\n", pending,
               before == -2 ? "no" : "yes", atomic_load(&usr2_on));
        atomic_store(&phase, 2);
    }
    while (atomic_load(&phase) < 2) ;
    return NULL;
}

int main(void)
{
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    pthread_t t[NT];
    for (uintptr_t i = 0; i < NT; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    while (atomic_load(&ready) < NT) ;
    kill(getpid(), SIGUSR1);
    while (atomic_load(&usr1_on) == -2) ;
    printf("process-directed SIGUSR1 handled on thread %d\n", atomic_load(&usr1_on));
    pthread_kill(t[1], SIGUSR2);
    atomic_store(&phase, 1);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    return 0;
}
