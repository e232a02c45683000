// CFLAGS: -O2
/* kill(getpid(), SIGTERM) with the default disposition (after a handler was
 * installed and then reset to SIG_DFL with signal()): death by SIGTERM,
 * status 143 in the runner. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void handler(int s) { (void)s; }

int main(void)
{
    signal(SIGTERM, handler);
    signal(SIGTERM, SIG_DFL);
    printf("sending SIGTERM to myself\n");
    fflush(stdout);
    kill(getpid(), SIGTERM);
    printf("still alive?!\n");
    return 0;
}
