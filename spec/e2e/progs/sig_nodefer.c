// CFLAGS: -O2
/* SA_NODEFER: a handler that raises its own signal (up to depth 3) re-enters
 * itself at once with SA_NODEFER, while without it each raise is deferred
 * until the handler returns (so the calls run one after the other). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile char trace[128];
static volatile int tlen, calls;

static void handler(int sig)
{
    int me = ++calls;
    trace[tlen++] = '(';
    trace[tlen++] = (char)('0' + me);
    if (me < 3) raise(sig);
    trace[tlen++] = ')';
}

static void run(const char *name, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigaction(SIGUSR1, &sa, NULL);
    tlen = 0, calls = 0;
    raise(SIGUSR1);
    trace[tlen] = 0;
    printf("%-11s %s\n", name, (char *)trace);
}

int main(void)
{
    run("SA_NODEFER", SA_NODEFER);
    run("default", 0);
    return 0;
}
