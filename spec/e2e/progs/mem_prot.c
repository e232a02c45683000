// CFLAGS: -O2 -z execstack
/* Memory protection as the CPU enforces it for instruction fetches:
 *  - code on a page without PROT_EXEC (read/write) faults: SIGSEGV,
 *    SEGV_ACCERR, si_addr = rip = the code, err = user|fetch|protection;
 *    after mprotect(PROT_READ|PROT_EXEC) it runs; after mprotect(PROT_READ)
 *    it faults again;
 *  - code on a page mapped PROT_WRITE|PROT_EXEC (no read) runs, and so does
 *    code on a page made PROT_EXEC only (x86 pages are readable when
 *    present, without protection keys);
 *  - gcc nested functions: trampolines on the (executable) stack;
 *  - code mapped at 4 KiB and near 2^47 (MAP_FIXED) and moved there with
 *    mremap (MREMAP_FIXED): a loop with a rip-relative load and store and a
 *    call back into the program through a register. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

/* Position-independent code to copy: f(n, cb) = sum over i < n of cb(i),
 * plus the rip-relative word after the code (5) << 20. */
extern char blob_start[], blob_end[];
__asm__(".text\n.globl blob_start, blob_end\n"
        "blob_start:\n"
        "  push %rbx\n  push %r12\n  push %r13\n"
        "  mov %rdi, %r12\n  mov %rsi, %r13\n  xor %ebx, %ebx\n"
        "  mov word(%rip), %rax\n  shl $20, %rax\n  push %rax\n"
        "1:cmp %r12, %rbx\n  jge 2f\n"
        "  mov %rbx, %rdi\n  call *%r13\n  add %rax, (%rsp)\n"
        "  inc %rbx\n  jmp 1b\n"
        "2:pop %rax\n  pop %r13\n  pop %r12\n  pop %rbx\n  ret\n"
        "  .balign 8\nword: .quad 5\n"
        "blob_end:\n");

static long sq(long i) { return i * i; }
typedef long (*blob_fn)(long, long (*)(long));

static sigjmp_buf env;
static void *expect;

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    printf("  SIGSEGV si_code %d si_addr %s rip %s trapno %lld err %#llx\n", si->si_code,
           si->si_addr == expect ? "code" : "other",
           (void *)uc->uc_mcontext.gregs[REG_RIP] == expect ? "code" : "other",
           uc->uc_mcontext.gregs[REG_TRAPNO], uc->uc_mcontext.gregs[REG_ERR]);
    siglongjmp(env, 1);
}

static void call(const char *what, void *code)
{
    printf("%s:\n", what);
    expect = code;
    if (!sigsetjmp(env, 1)) printf("  result %ld\n", ((blob_fn)code)(10, sq));
}

static int apply(int (*f)(int), int n)
{
    int s = 0;
    for (int i = 0; i < n; i++) s += f(i);
    return s;
}

static int nested(int k)
{
    int base = k * 3;
    int add(int x) { return x * base + k; } /* needs a trampoline: uses k, base */
    return apply(add, 100);
}

static void far_map(const char *what, unsigned long at)
{
    size_t len = 4096;
    char *p = mmap((void *)at, len, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (char *)at) { printf("%s: cannot map\n", what); return; }
    memcpy(p, blob_start, blob_end - blob_start);
    call(what, p);
    call(what, p);
    munmap(p, len);
}

static void far_remap(const char *what, unsigned long at)
{
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(p, blob_start, blob_end - blob_start);
    mprotect(p, 4096, PROT_READ | PROT_EXEC);
    call(what, p); /* translated at its first place */
    char *q = mremap(p, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)at);
    if (q != (char *)at) { printf("%s: cannot remap\n", what); return; }
    call(what, q);
    munmap(q, 4096);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    size_t n = blob_end - blob_start;

    char *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(rw, blob_start, n);
    call("read+write page", rw);
    mprotect(rw, 4096, PROT_READ | PROT_EXEC);
    call("after mprotect read+exec", rw);
    mprotect(rw, 4096, PROT_READ);
    call("after mprotect read", rw);
    mprotect(rw, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
    call("after mprotect rwx", rw);
    mprotect(rw, 4096, PROT_EXEC);
    call("exec only", rw);

    char *wx = mmap(NULL, 4096, PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(wx, blob_start, n);
    call("write+exec page", wx);

    printf("nested functions: %d %d\n", nested(1), nested(7));

    far_map("mapped at 4 KiB", 0x1000);
    far_map("mapped near 2^47", 0x7ffffffff000ul - 0x100000000ul);
    far_remap("remapped to 8 KiB", 0x2000);
    far_remap("remapped near 2^47", 0x7ffffffff000ul - 0x100002000ul);
    return 0;
}
