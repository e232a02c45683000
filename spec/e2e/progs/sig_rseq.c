// CFLAGS: -O2 -pthread
/* Restartable sequences. glibc (2.35+) registers an rseq area for each
 * thread at start (__rseq_offset/__rseq_size from the thread pointer); the
 * kernel keeps its cpu_id current, and it must agree with sched_getcpu()
 * (compared only when two reads of cpu_id around the call agree).
 * Argument "abort": a critical section (a descriptor in the rseq area's
 * rseq_cs, a ~20 us spin, then a commit store to a counter) runs 3000
 * times while ITIMER_REAL interrupts every 50 us. The kernel moves a
 * thread interrupted inside [start_ip, post_commit_ip) to abort_ip before
 * the handler runs, so the handler never sees a RIP inside the section,
 * some attempts abort, and attempts = commits + aborts, counter = commits.
 * Argument "fault": a fault inside a section (a load from NULL) and one in
 * its commit (a store to NULL): the kernel aborts before the handler runs,
 * so the handler sees RIP = abort_ip and rseq_cs cleared, and returns there.
 * Argument "preempt": this thread and a second one pinned to one cpu; the
 * section waits for the second thread's progress counter to move, which it
 * can only do while this thread is off the cpu, i.e. preempted inside the
 * section: the kernel aborts it, every time. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/time.h>
#include <ucontext.h>

extern char cs_start[], cs_post[];
long cs_run(void *area);
static volatile long counter;

/* cs_run(area): 0 committed, 1 aborted. The descriptor's fields are
 * absolute addresses (relocated in .data). */
__asm__(".pushsection .data\n"
        ".balign 32\n"
        "cs_desc: .long 0, 0\n"
        "  .quad cs_start, cs_post - cs_start, cs_abort\n"
        ".popsection\n"
        ".text\n"
        ".globl cs_run\n"
        "cs_run:\n"
        "  lea cs_desc(%rip), %rax\n"
        "  mov %rax, 8(%rdi)\n"              /* rseq_cs = &cs_desc */
        "cs_start:\n"
        "  mov $20000, %ecx\n"
        "1: dec %ecx\n  jnz 1b\n"
        "  incq counter(%rip)\n"             /* the commit */
        "cs_post:\n"
        "  xor %eax, %eax\n  ret\n"
        "  .long 0x53053053\n"              /* RSEQ_SIG before abort_ip */
        "cs_abort:\n"
        "  mov $1, %eax\n  ret\n");

/* cs_fault(area, load, store): a load from load inside the section, then
** the commit, a store to store. 0 committed, 1 aborted. */
extern char cs2_abort[];
long cs_fault(void *area, long *load, long *store);
__asm__(".pushsection .data\n"
        ".balign 32\n"
        "cs2_desc: .long 0, 0\n"
        "  .quad cs2_start, cs2_post - cs2_start, cs2_abort\n"
        ".popsection\n"
        ".text\n"
        ".globl cs_fault, cs2_abort\n"
        "cs_fault:\n"
        "  lea cs2_desc(%rip), %rax\n"
        "  mov %rax, 8(%rdi)\n"
        "cs2_start:\n"
        "  mov (%rsi), %rax\n"
        "  movq $1, (%rdx)\n"                 /* the commit */
        "cs2_post:\n"
        "  xor %eax, %eax\n  ret\n"
        "  .long 0x53053053\n"
        "cs2_abort:\n"
        "  mov $1, %eax\n  ret\n");

/* cs_wait(area, progress): waits inside the section until *progress moves. */
long cs_wait(void *area, volatile long *progress);
__asm__(".pushsection .data\n"
        ".balign 32\n"
        "cs3_desc: .long 0, 0\n"
        "  .quad cs3_start, cs3_post - cs3_start, cs3_abort\n"
        ".popsection\n"
        ".text\n"
        ".globl cs_wait\n"
        "cs_wait:\n"
        "  lea cs3_desc(%rip), %rax\n"
        "  mov %rax, 8(%rdi)\n"
        "cs3_start:\n"
        "  mov (%rsi), %rcx\n"
        "1: cmp (%rsi), %rcx\n  je 1b\n"
        "  incq counter(%rip)\n"             /* the commit */
        "cs3_post:\n"
        "  xor %eax, %eax\n  ret\n"
        "  .long 0x53053053\n"
        "cs3_abort:\n"
        "  mov $1, %eax\n  ret\n");

static volatile long inside, hits, cs_set;
static struct rseq *area(void);

static void on_alrm(int sig, siginfo_t *si, void *ucp)
{
    (void)sig, (void)si;
    ucontext_t *uc = ucp;
    uint64_t rip = uc->uc_mcontext.gregs[REG_RIP];
    hits++;
    if (area()->rseq_cs) cs_set++;
    if (rip >= (uint64_t)cs_start && rip < (uint64_t)cs_post) inside++;
}

static volatile long segv_at_abort, segv_elsewhere, segv_cs_set;

/* SIGSEGV from cs_fault: where the kernel left the thread (always abort_ip
** natively); anywhere else it is sent there, so the run goes on. */
static void on_segv(int sig, siginfo_t *si, void *ucp)
{
    (void)sig, (void)si;
    ucontext_t *uc = ucp;
    struct rseq *r = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
    if (uc->uc_mcontext.gregs[REG_RIP] == (greg_t)cs2_abort) segv_at_abort++;
    else segv_elsewhere++, uc->uc_mcontext.gregs[REG_RIP] = (greg_t)cs2_abort;
    if (r->rseq_cs) segv_cs_set++;
}

static void run_fault(struct rseq *r)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    long x = 0, y = 0;
    long mid = cs_fault(r, NULL, &x), commit = cs_fault(r, &y, NULL), plain = cs_fault(r, &y, &x);
    printf("fault inside: %s; fault in the commit: %s; no fault: %s (x = %ld)\n", mid ? "aborted" : "committed",
           commit ? "aborted" : "committed", plain ? "aborted" : "committed", x);
    printf("handler at abort_ip: %ld, elsewhere: %ld, saw rseq_cs set: %ld\n", segv_at_abort, segv_elsewhere,
           segv_cs_set);
}

static volatile long progress, stop;

static void *spinner(void *arg)
{
    (void)arg;
    while (!stop) progress++;
    return NULL;
}

static void run_preempt(struct rseq *r)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    sched_setaffinity(0, sizeof one, &one);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setaffinity_np(&at, sizeof one, &one);
    pthread_t th;
    pthread_create(&th, &at, spinner, NULL);
    long commits = 0, aborts = 0;
    for (int i = 0; i < 20 && !aborts; i++) {
        if (cs_wait(r, &progress)) aborts++;
        else commits++;
    }
    stop = 1;
    pthread_join(th, NULL);
    printf("section preempted by a thread on its cpu: %s (commits %ld, counter %ld)\n",
           aborts ? "aborted" : "never aborted", commits, counter);
}

static struct rseq *area(void) { return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset); }

/* Registered, and cpu_id agreeing with sched_getcpu(), on this thread. */
static void check_cpu_id(const char *who)
{
    struct rseq *r = area();
    int32_t id = (int32_t)r->cpu_id;
    printf("%s: rseq area %s\n", who, id >= 0 ? "registered (cpu_id >= 0)" : "not registered");
    if (id < 0) return;
    int compared = 0, mismatch = 0;
    for (int i = 0; i < 2000; i++) {
        uint32_t a = __atomic_load_n(&r->cpu_id, __ATOMIC_RELAXED);
        int c = sched_getcpu();
        uint32_t b = __atomic_load_n(&r->cpu_id, __ATOMIC_RELAXED);
        if (a != b) continue;
        compared++;
        if ((int)a != c) mismatch++;
    }
    printf("%s: cpu_id vs sched_getcpu: %s compared, %d differ\n", who, compared > 1000 ? "> 1000" : "few",
           mismatch);
}

static void *thread_main(void *arg)
{
    (void)arg;
    check_cpu_id("thread");
    return NULL;
}

int main(int argc, char **argv)
{
    /* (__rseq_size itself reads 0 in this program with glibc 2.36: it is
     * judged from the area's cpu_id) */
    printf("glibc rseq: offset %s\n", __rseq_offset ? "nonzero" : "0");
    check_cpu_id("main");
    pthread_t th;
    pthread_create(&th, NULL, thread_main, NULL);
    pthread_join(th, NULL);
    struct rseq *r = area();
    if ((int32_t)r->cpu_id < 0) return 0;
    if (argc >= 2 && strcmp(argv[1], "fault") == 0) { run_fault(r); return 0; }
    if (argc >= 2 && strcmp(argv[1], "preempt") == 0) { run_preempt(r); return 0; }
    if (argc < 2 || strcmp(argv[1], "abort") != 0) return 0;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alrm;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 50 }, { 0, 50 } };
    setitimer(ITIMER_REAL, &it, NULL);
    long commits = 0, aborts = 0, attempts = 0;
    while (commits < 3000) {
        attempts++;
        if (cs_run(r)) aborts++;
        else commits++;
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    printf("commits %ld, counter = commits: %s, attempts = commits + aborts: %s\n", commits,
           counter == commits ? "yes" : "no", attempts == commits + aborts ? "yes" : "no");
    printf("aborts: %s, signals: %s, handler saw a RIP inside the section: %ld, rseq_cs set: %ld\n",
           aborts > 0 ? "some" : "none", hits > 100 ? "> 100" : "few", inside, cs_set);
    return 0;
}
