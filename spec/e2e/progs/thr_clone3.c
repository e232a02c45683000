// CFLAGS: -O2 -fno-stack-protector
/* clone3 (syscall 435) called directly to make threads: CLONE_VM|CLONE_FS|
 * CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_PARENT_SETTID|
 * CLONE_CHILD_CLEARTID with a stack given as (stack, stack_size).  The child
 * gets its function and argument in callee-saved registers, never touches
 * libc, and exits with SYS_exit; the parent futex-waits on the tid word. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <linux/sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define N 3
#define STACK (64 * 1024)
static volatile uint64_t result[N];
static volatile int ptid[N], ctid[N];

static int child(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    uint64_t s = id;
    for (uint64_t i = 0; i < 200000; i++) s = (s << 3) ^ (s >> 5) ^ (i * 2654435761u);
    result[id] = s;
    return 0;
}

static long clone3_thread(struct clone_args *ca, int (*fn)(void *), void *arg)
{
    long ret;
    register void *r12 __asm__("r12") = (void *)fn;
    register void *r13 __asm__("r13") = arg;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xor %%ebp, %%ebp\n\t"
        "mov %%r13, %%rdi\n\t"
        "call *%%r12\n\t"
        "mov %%eax, %%edi\n\t"
        "mov $60, %%eax\n\t"
        "syscall\n\t"
        "ud2\n"
        "1:"
        : "=a"(ret)
        : "0"(SYS_clone3), "D"(ca), "S"(sizeof *ca), "r"(r12), "r"(r13)
        : "rcx", "r11", "memory");
    return ret;
}

int main(void)
{
    for (int i = 0; i < N; i++) {
        char *stk = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stk == MAP_FAILED) { perror("mmap"); return 1; }
        struct clone_args ca;
        memset(&ca, 0, sizeof ca);
        ca.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                   CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
        ca.parent_tid = (uintptr_t)&ptid[i];
        ca.child_tid = (uintptr_t)&ctid[i];
        ca.stack = (uintptr_t)stk;
        ca.stack_size = STACK;
        ctid[i] = -1;
        long t = clone3_thread(&ca, child, (void *)(uintptr_t)i);
        if (t <= 0) { printf("clone3 %d failed: %s\n", i, strerror((int)-t)); return 1; }
        printf("thread %d: parent tid set: %s\n", i, ptid[i] == t ? "yes" : "no");
    }
    for (int i = 0; i < N; i++) {
        int v;
        while ((v = ctid[i]) != 0) syscall(SYS_futex, &ctid[i], FUTEX_WAIT, v, NULL, NULL, 0);
        printf("thread %d: result %016llx\n", i, (unsigned long long)result[i]);
    }
    return 0;
}
