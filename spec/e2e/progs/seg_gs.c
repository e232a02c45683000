// CFLAGS: -O2 -pthread
/* The app's gs segment base (lurk keeps its own thread block in gs).
 * arch_prctl(ARCH_GET_GS) at start, ARCH_SET_GS to an area of known words,
 * ARCH_GET_GS back; then gs-relative instructions of many shapes read and
 * write that area: loads with a displacement only, base, base+index*scale,
 * rsp as base, 8/16/32/64-bit and SSE widths, stores of immediates and
 * registers, read-modify-write with flags (add, inc, xadd, cmpxchg, lock),
 * a compare whose flags are used, push/pop of a gs operand, and lea with a
 * gs prefix (no access). A gs access past the area faults: SIGSEGV with
 * si_addr = base + offset. The base survives a signal handler (which reads
 * through gs too), is inherited by a thread and a forked child, and a
 * thread's own ARCH_SET_GS does not change the main thread's. With FSGSBASE
 * (AT_HWCAP2 bit 1): rdgsbase/wrgsbase, 64 and 32-bit forms. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t *area, *area2;
static sigjmp_buf env;
static volatile uint64_t fault_addr;

static long set_gs(uint64_t b) { return syscall(SYS_arch_prctl, ARCH_SET_GS, b); }
static uint64_t get_gs(void)
{
    uint64_t b = 0xdead;
    syscall(SYS_arch_prctl, ARCH_GET_GS, &b);
    return b;
}
static const char *which(uint64_t b)
{
    return b == 0 ? "0" : b == (uint64_t)area ? "area" : b == (uint64_t)area2 ? "area2" : "OTHER";
}

static uint64_t gs_load(uint64_t off)
{
    uint64_t v;
    __asm__ volatile("mov %%gs:(%1), %0" : "=r"(v) : "r"(off) : "memory");
    return v;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    fault_addr = (uint64_t)si->si_addr;
    siglongjmp(env, 1);
}

static void on_usr1(int sig)
{
    (void)sig;
    printf("  handler: gs base %s, gs:[8] = %lu\n", which(get_gs()), (unsigned long)gs_load(8));
}

static void *thr(void *arg)
{
    (void)arg;
    printf("  thread: gs base %s, gs:[8] = %lu\n", which(get_gs()), (unsigned long)gs_load(8));
    set_gs((uint64_t)area2);
    printf("  thread: after its ARCH_SET_GS: %s, gs:[8] = %lu\n", which(get_gs()), (unsigned long)gs_load(8));
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    area = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    area2 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap((char *)area + 4096, 4096); /* the area is one page, a hole after it */
    for (int i = 0; i < 512; i++) area[i] = 1000 + i, area2[i] = 2000 + i;
    printf("start: gs base %s\n", which(get_gs()));
    long r = set_gs((uint64_t)area);
    printf("ARCH_SET_GS: %ld, ARCH_GET_GS: %s\n", r, which(get_gs()));

    uint64_t a, b, c, d, e;
    uint64_t idx = 3, base = 16;
    __asm__ volatile("mov %%gs:0x10, %0\n\t"          /* disp only: area[2] */
                     "mov %%gs:(%5,%6,8), %1\n\t"     /* base + index*8: area[2+3] */
                     "movl %%gs:4(%5,%6,4), %k2\n\t"  /* 32-bit: low half of area[(16+4+12)/8]=area[4] */
                     "movzwl %%gs:0x18, %k3\n\t"      /* 16-bit: area[3] */
                     "movzbl %%gs:0x20, %k4\n\t"      /* 8-bit: area[4] */
                     : "=&r"(a), "=&r"(b), "=&r"(c), "=&r"(d), "=&r"(e)
                     : "r"(base), "r"(idx) : "memory");
    printf("loads: %lu %lu %lu %lu %lu\n", (unsigned long)a, (unsigned long)b, (unsigned long)c,
           (unsigned long)d, (unsigned long)e);

    uint64_t v = 5, fl;
    __asm__ volatile("movq $77, %%gs:0x30\n\t"        /* area[6] = 77 */
                     "mov %1, %%gs:0x38\n\t"          /* area[7] = 5 */
                     "addq %1, %%gs:0x40\n\t"         /* area[8] += 5 */
                     "incq %%gs:0x48\n\t"             /* area[9]++ */
                     "lock xaddq %1, %%gs:0x50\n\t"   /* area[10] += 5, v = old */
                     "cmpq $1011, %%gs:0x58\n\t"      /* flags from a gs operand */
                     "pushfq\n\tpop %0\n\t"
                     : "=&r"(fl), "+r"(v) : : "memory", "cc");
    printf("stores: %lu %lu %lu %lu %lu xadd old %lu, cmp ZF %d\n", (unsigned long)area[6],
           (unsigned long)area[7], (unsigned long)area[8], (unsigned long)area[9],
           (unsigned long)area[10], (unsigned long)v, (int)((fl >> 6) & 1));

    uint64_t expect = 1012, newv = 4242, rax_after;
    __asm__ volatile("lock cmpxchgq %2, %%gs:0x60" : "=a"(rax_after) : "a"(expect), "r"(newv) : "memory", "cc");
    printf("cmpxchg: area[12] %lu, rax %lu\n", (unsigned long)area[12], (unsigned long)rax_after);

    uint64_t popped, lea, sp_read;
    __asm__ volatile("pushq %%gs:0x68\n\t"            /* area[13] */
                     "pop %0\n\t"
                     "lea %%gs:0x10(%3), %1\n\t"      /* lea ignores the segment */
                     "mov %%rsp, %%rax\n\t"
                     "sub %%rax, %%rax\n\t"
                     "mov %%gs:0x70(%%rax), %2\n\t"   /* area[14] with rax as base */
                     : "=&r"(popped), "=&r"(lea), "=&r"(sp_read) : "r"(base) : "rax", "memory");
    printf("push/pop %lu, lea %lu, load %lu\n", (unsigned long)popped, (unsigned long)lea,
           (unsigned long)sp_read);

    uint64_t xv[2];
    __asm__ volatile("movdqu %%gs:0x80, %%xmm1\n\tmovdqu %%xmm1, %0" : "=m"(xv) : : "xmm1", "memory");
    printf("sse: %lu %lu\n", (unsigned long)xv[0], (unsigned long)xv[1]);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (!sigsetjmp(env, 1)) {
        gs_load(4096 + 64);
        printf("fault: NONE\n");
    } else {
        printf("fault: si_addr %s\n", fault_addr == (uint64_t)area + 4096 + 64 ? "= base + offset" : "OTHER");
    }

    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    printf("after the handler: gs base %s\n", which(get_gs()));

    pthread_t th;
    pthread_create(&th, NULL, thr, NULL);
    pthread_join(th, NULL);
    printf("main after the thread: gs base %s, gs:[8] = %lu\n", which(get_gs()), (unsigned long)gs_load(8));

    pid_t pid = fork();
    if (pid == 0) {
        printf("  child: gs base %s, gs:[8] = %lu\n", which(get_gs()), (unsigned long)gs_load(8));
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    int fsgs = (getauxval(AT_HWCAP2) & 2) != 0;
    printf("fsgsbase: %s\n", fsgs ? "yes" : "no");
    if (fsgs) {
        uint64_t r64;
        uint32_t r32;
        __asm__ volatile("rdgsbase %0" : "=r"(r64));
        printf("rdgsbase: %s\n", which(r64));
        __asm__ volatile("wrgsbase %0" : : "r"((uint64_t)area2) : "memory");
        printf("wrgsbase area2: ARCH_GET_GS %s, gs:[8] = %lu\n", which(get_gs()), (unsigned long)gs_load(8));
        __asm__ volatile("rdgsbase %0" : "=r"(r32));
        printf("rdgsbase r32: %s\n", r32 == (uint32_t)(uint64_t)area2 ? "low half" : "OTHER");
        uint32_t low = 0x1000;
        __asm__ volatile("wrgsbase %0" : : "r"(low) : "memory");
        printf("wrgsbase r32 0x1000: ARCH_GET_GS 0x%lx\n", (unsigned long)get_gs());
        set_gs((uint64_t)area);
    }
    printf("end: gs base %s, gs:[8] = %lu\n", which(get_gs()), (unsigned long)gs_load(8));
    return 0;
}
