// CFLAGS: -O2
/* Pending signals delivered in the kernel's order once unblocked: the
 * lowest number first, queued instances of one real-time signal in the
 * order they were sent (their si_value shows it). With a handler that
 * blocks everything (sa_mask full) each handler runs to its end before the
 * next delivery; with an empty sa_mask the kernel stacks every frame at
 * once, so the handlers run in the reverse of that order. Then 300
 * instances of one RT signal, sent while blocked, and 100 sent to self
 * unblocked while it is handled. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_sig[1000], log_val[1000];
static volatile int nlog;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    log_sig[nlog] = sig;
    log_val[nlog] = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
    nlog++;
}

static void install(int full)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    if (full) sigfillset(&sa.sa_mask);
    for (int s = SIGRTMIN; s <= SIGRTMIN + 4; s++) sigaction(s, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
}

static void send(int sig, int v)
{
    union sigval sv = { .sival_int = v };
    sigqueue(getpid(), sig, sv);
}

static void print(const char *what)
{
    printf("%s:", what);
    for (int i = 0; i < nlog; i++) {
        if (log_sig[i] >= SIGRTMIN) printf(" RT%d", log_sig[i] - SIGRTMIN);
        else printf(" %s", log_sig[i] == SIGUSR1 ? "USR1" : log_sig[i] == SIGUSR2 ? "USR2" : "?");
        if (log_val[i] >= 0) printf("/%d", log_val[i]);
    }
    printf("\n");
    nlog = 0;
}

static void burst(void)
{
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    send(SIGRTMIN + 3, 1);
    send(SIGRTMIN + 1, 2);
    send(SIGRTMIN + 3, 3);
    kill(getpid(), SIGUSR2);
    send(SIGRTMIN + 1, 4);
    send(SIGRTMIN + 0, 5);
    send(SIGUSR1, 6);
    send(SIGRTMIN + 3, 7);
    send(SIGRTMIN + 4, 8);
    send(SIGRTMIN + 0, 9);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

int main(void)
{
    install(1);
    burst();
    print("sa_mask full");
    install(0);
    burst();
    print("sa_mask empty");

    install(1);
    sigset_t one, old;
    sigemptyset(&one);
    sigaddset(&one, SIGRTMIN + 2);
    struct sigaction sa;
    sigaction(SIGRTMIN + 4, NULL, &sa);
    sigaction(SIGRTMIN + 2, &sa, NULL);
    sigprocmask(SIG_BLOCK, &one, &old);
    for (int i = 0; i < 300; i++) send(SIGRTMIN + 2, i);
    sigprocmask(SIG_SETMASK, &old, NULL);
    int bad = nlog != 300;
    for (int i = 0; i < nlog; i++) bad += log_val[i] != i || log_sig[i] != SIGRTMIN + 2;
    printf("300 queued while blocked: %d delivered, %d out of order\n", nlog, bad);
    nlog = 0;
    for (int i = 0; i < 100; i++) send(SIGRTMIN + 2, i);
    bad = nlog != 100;
    for (int i = 0; i < nlog; i++) bad += log_val[i] != i;
    printf("100 sent unblocked: %d delivered, %d out of order\n", nlog, bad);
    return 0;
}
