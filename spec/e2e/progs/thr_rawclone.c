// CFLAGS: -O2 -fno-stack-protector
/* Raw clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|
 * CLONE_SYSVSEM|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID[|CLONE_SETTLS])
 * through inline asm, on hand-made mmap'd stacks; the children never touch
 * libc, exit with SYS_exit, and the parent waits on the cleared tid word with
 * futex.  Two of the four threads get their own fs base (CLONE_SETTLS) and
 * read a value through it. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N 4
#define STACK (64 * 1024)

struct tlsblock { struct tlsblock *self; uint64_t value; uint64_t pad[3]; uint64_t canary; uint64_t more[8]; };
static struct tlsblock tls[N];
static volatile uint64_t result[N];
static volatile int ptid[N], ctid[N];

static int child(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    uint64_t v = 0;
    if (id & 1) __asm__ volatile("mov %%fs:8, %0" : "=r"(v));   /* through our own fs base */
    uint64_t s = v;
    for (uint64_t i = 0; i < 100000; i++) s += (i * (id + 3)) ^ (s >> 7);
    result[id] = s;
    return 0;
}

/* clone(flags, stack, ptid, ctid, tls); the child pops fn and arg from its new stack */
static long raw_clone(unsigned long flags, void *stack_top, volatile int *pt, volatile int *ct, void *tlsp,
                      int (*fn)(void *), void *arg)
{
    uint64_t *sp = stack_top;
    *--sp = (uintptr_t)arg;
    *--sp = (uintptr_t)fn;
    long ret;
    register long r10 __asm__("r10") = (long)ct;
    register long r8 __asm__("r8") = (long)tlsp;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xor %%ebp, %%ebp\n\t"
        "pop %%rax\n\t"
        "pop %%rdi\n\t"
        "call *%%rax\n\t"
        "mov %%eax, %%edi\n\t"
        "mov $60, %%eax\n\t"          /* SYS_exit: this thread only */
        "syscall\n\t"
        "ud2\n"
        "1:"
        : "=a"(ret)
        : "0"(SYS_clone), "D"(flags), "S"(sp), "d"(pt), "r"(r10), "r"(r8)
        : "rcx", "r11", "memory");
    return ret;
}

int main(void)
{
    for (int i = 0; i < N; i++) {
        char *stk = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stk == MAP_FAILED) { perror("mmap"); return 1; }
        unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                              CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
        tls[i].self = &tls[i];
        tls[i].value = 1000u * (i + 1);
        if (i & 1) flags |= CLONE_SETTLS;
        ctid[i] = -1;
        long t = raw_clone(flags, stk + STACK, &ptid[i], &ctid[i], (i & 1) ? &tls[i] : NULL, child, (void *)(uintptr_t)i);
        if (t <= 0) { printf("clone %d failed: %ld\n", i, t); return 1; }
        printf("thread %d: parent tid set: %s\n", i, ptid[i] == t ? "yes" : "no");
    }
    for (int i = 0; i < N; i++) {
        int v;
        while ((v = ctid[i]) != 0) syscall(SYS_futex, &ctid[i], FUTEX_WAIT, v, NULL, NULL, 0);
        printf("thread %d: result %016llx\n", i, (unsigned long long)result[i]);
    }
    return 0;
}
