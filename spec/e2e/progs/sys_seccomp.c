// CFLAGS: -O2
/* seccomp filters and SIGSYS, compared with native.
 * A first filter (seccomp(2)) traps getppid (SECCOMP_RET_TRAP with data 0x55)
 * and fails getpgid with SECCOMP_RET_ERRNO(ENOTTY). The SIGSYS handler prints
 * si_signo, si_code (SYS_SECCOMP), si_errno (the filter's data), si_syscall,
 * si_arch, whether si_call_addr and the ucontext RIP are the address just
 * after the syscall instruction (a label after an inline-asm syscall; for
 * glibc's getppid(), the two agree and the bytes before are 0f 05), and the
 * RAX the handler sees (the syscall number: the kernel rolls it back); it
 * sets RAX to 4242, the result the program then sees.
 * A second filter (prctl(PR_SET_SECCOMP)) fails rt_sigprocmask with EPERM
 * and process_vm_readv with ENOSYS, and traps getsid: calls lurk makes
 * itself, so it must not be hurt by them; after it the program runs code
 * never run before, takes a SIGUSR1 and a SIGALRM in a loop, and forks a
 * child whose getppid is trapped too (filters are inherited). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static volatile uint64_t expect_pc; /* the label after the syscall, or 0: not known */
static volatile int usr1, alrm;

static void on_sys(int sig, siginfo_t *si, void *ucp)
{
    ucontext_t *uc = ucp;
    uint64_t rip = uc->uc_mcontext.gregs[REG_RIP];
    uint64_t call = (uint64_t)si->si_call_addr;
    const char *where;
    if (expect_pc) where = call == expect_pc ? "the label after the syscall" : "ELSEWHERE";
    else {
        const unsigned char *p = (const unsigned char *)call;
        where = p[-2] == 0x0f && p[-1] == 0x05 ? "just after a syscall instruction" : "ELSEWHERE";
    }
    printf("  SIGSYS: signo %d code %d errno 0x%x syscall %d arch %s call_addr %s, rip %s, rax %lld\n",
           sig, si->si_code, si->si_errno, si->si_syscall,
           si->si_arch == AUDIT_ARCH_X86_64 ? "x86_64" : "OTHER", where,
           rip == call ? "= call_addr" : "DIFFERENT", (long long)uc->uc_mcontext.gregs[REG_RAX]);
    uc->uc_mcontext.gregs[REG_RAX] = 4242;
}

static void on_usr1(int sig) { (void)sig; usr1++; }
static void on_alrm(int sig) { (void)sig; alrm++; }

/* getppid through an inline syscall; *after gets the address after it. */
static long raw_getppid(uint64_t *after)
{
    long r;
    uint64_t a;
    __asm__ volatile("lea 1f(%%rip), %1\n\t"
                     "mov %%rdx, %%rdx\n\t"
                     "mov %2, %%eax\n\t"
                     "mov %1, expect_pc(%%rip)\n\t"
                     "syscall\n"
                     "1:"
                     : "=&a"(r), "=&r"(a)
                     : "i"(SYS_getppid)
                     : "rcx", "r11", "memory");
    *after = a;
    return r;
}

#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define LD(f) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, f))
#define ON(nr, ret) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, (ret))

static int install(int use_prctl, struct sock_filter *f, unsigned short n)
{
    struct sock_fprog prog = { n, f };
    long r = use_prctl ? prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)
                       : syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
    printf("%s: %ld%s%s\n", use_prctl ? "prctl(PR_SET_SECCOMP)" : "seccomp(SET_MODE_FILTER)", r,
           r ? " " : "", r ? strerror(errno) : "");
    return (int)r;
}

static void __attribute__((noinline)) fresh_code(int i)
{
    /* run for the first time after the second filter: lurk translates it then */
    volatile double d = i;
    for (int k = 0; k < 1000; k++) d = d * 1.000001 + k;
    if (i == 0) printf("fresh code ran: %s\n", d > 0 ? "yes" : "no");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    sa.sa_flags = 0;
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);
    printf("no_new_privs: %d\n", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));

    struct sock_filter f1[] = {
        LD(arch),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        LD(nr),
        ON(SYS_getppid, SECCOMP_RET_TRAP | 0x55),
        ON(SYS_getpgid, SECCOMP_RET_ERRNO | ENOTTY),
        ALLOW,
    };
    if (install(0, f1, sizeof f1 / sizeof f1[0])) return 1;

    uint64_t after;
    long r = raw_getppid(&after);
    printf("inline getppid: %ld\n", r);
    expect_pc = 0;
    printf("glibc getppid: %ld\n", (long)getppid());
    errno = 0;
    r = getpgid(0);
    printf("getpgid: %ld errno %s\n", r, strerror(errno));

    struct sock_filter f2[] = {
        LD(nr),
        ON(SYS_rt_sigprocmask, SECCOMP_RET_ERRNO | EPERM),
        ON(SYS_process_vm_readv, SECCOMP_RET_ERRNO | ENOSYS),
        ON(SYS_getsid, SECCOMP_RET_TRAP | 0x66),
        ALLOW,
    };
    if (install(1, f2, sizeof f2 / sizeof f2[0])) return 1;
    printf("getsid: %ld\n", (long)getsid(0));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    errno = 0;
    r = sigprocmask(SIG_BLOCK, &set, NULL);
    printf("sigprocmask: %ld errno %s\n", r, strerror(errno));
    for (int i = 0; i < 3; i++) fresh_code(i);
    raise(SIGUSR1);
    printf("SIGUSR1 handler ran %d time(s)\n", usr1);
    struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    volatile uint64_t x = 1;
    while (alrm < 20) x = x * 6364136223846793005ull + 1;
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    printf("SIGALRM handler ran %s20 times\n", alrm >= 20 ? ">= " : "< ");

    pid_t pid = fork();
    if (pid == 0) {
        printf("child: glibc getppid: %ld\n", (long)getppid());
        _exit(3);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
