/* strace_spec: threads with a fixed sequence of system calls each.
 * Every worker opens /dev/null, writes its number, reads /dev/zero, closes
 * both, and returns; main creates them one at a time and joins each
 * before the next, so every thread's calls are the same in every run. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static void *worker(void *arg)
{
    char buf[16];
    int id = (int)(intptr_t)arg;
    int n = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int z = open("/dev/zero", O_RDONLY);
    int len = snprintf(buf, sizeof buf, "thread %d\n", id);
    if (write(n, buf, len) != len || read(z, buf, sizeof buf) != sizeof buf) return (void *)1;
    close(z);
    close(n);
    return NULL;
}

int main(void)
{
    for (intptr_t i = 0; i < 3; i++) {
        pthread_t t;
        void *r;
        if (pthread_create(&t, NULL, worker, (void *)i) || pthread_join(t, &r) || r) return 1;
    }
    printf("done\n");
    return 0;
}
