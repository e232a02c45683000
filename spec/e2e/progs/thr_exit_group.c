// CFLAGS: -O2 -pthread
/* exit_group from a non-main thread while the other threads spin in hot
 * loops and the main thread waits in pthread_join: the whole process ends
 * at once with that thread's status (7). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_int spinning, main_waiting;
static volatile uint64_t sink[4];

static void say(const char *s) { write(1, s, strlen(s)); }

static void *spinner(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    atomic_fetch_add(&spinning, 1);
    for (uint64_t i = 0;; i++) sink[id] += i ^ id;    /* forever */
    return NULL;
}

static void *leaver(void *arg)
{
    (void)arg;
    while (atomic_load(&spinning) < 3 || !atomic_load(&main_waiting)) ;
    say("leaver: calling exit_group(7)\n");
    syscall(SYS_exit_group, 7);
    say("leaver: still alive?!\n");
    return NULL;
}

int main(void)
{
    pthread_t t[4];
    for (uintptr_t i = 0; i < 3; i++) pthread_create(&t[i], NULL, spinner, (void *)i);
    pthread_create(&t[3], NULL, leaver, NULL);
    say("main: joining\n");
    atomic_store(&main_waiting, 1);
    pthread_join(t[3], NULL);
    say("main: join returned?!\n");
    return 0;
}
