// CFLAGS: -O2
/* Asynchronous signals see application addresses only: a timer (ITIMER_REAL,
 * every 200 us) interrupts an asm loop that does nothing but call a leaf
 * function.  Wherever each of 300 signals lands, the RIP in the ucontext
 * must lie inside the loop or the leaf, and when it lies in the leaf the
 * word at RSP must be the loop's return address (not, say, a code-cache
 * address left in the slot by a call/ret translation).  Also checks that
 * the loop's registers are intact when the handler returns. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

extern char pc_loop[], pc_loop_end[], pc_leaf[], pc_leaf_end[], pc_ret_site[];
extern uint64_t pc_run(uint64_t x);
volatile int pc_stop;
__asm__(
    ".text\n"
    ".globl pc_run, pc_loop, pc_loop_end, pc_leaf, pc_leaf_end, pc_ret_site\n"
    "pc_run:\n"                                 /* rdi = x; loops until pc_stop */
    "  push %rbx\n"
    "  mov %rdi, %rbx\n"
    "  xor %eax, %eax\n"
    "pc_loop:\n"
    "  mov %rbx, %rdi\n"
    "  call pc_leaf\n"
    "pc_ret_site:\n"
    "  add %rax, %rbx\n"
    "  cmpl $0, pc_stop(%rip)\n"
    "  je pc_loop\n"
    "pc_loop_end:\n"
    "  mov %rbx, %rax\n"
    "  pop %rbx\n"
    "  ret\n"
    "pc_leaf:\n"
    "  lea 1(%rdi), %rax\n"
    "  imul $3, %rax, %rax\n"
    "  shr $1, %rax\n"
    "  and $0xffff, %rax\n"
    "  ret\n"
    "pc_leaf_end:\n");

#define N 300
static volatile int count, outside, bad_slot;

static void handler(int sig, siginfo_t *si, void *ucv)
{
    (void)si;
    greg_t *g = ((ucontext_t *)ucv)->uc_mcontext.gregs;
    char *rip = (char *)g[REG_RIP];
    if (rip >= pc_leaf && rip < pc_leaf_end) {
        if (*(char **)g[REG_RSP] != pc_ret_site) bad_slot++;
    } else if (!(rip >= (char *)pc_run && rip < pc_loop_end)) {
        outside++;
    }
    if (++count == N) {
        struct itimerval off = { { 0, 0 }, { 0, 0 } };
        setitimer(ITIMER_REAL, &off, NULL);
        signal(sig, SIG_IGN);
        pc_stop = 1;
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 200 }, { 0, 200 } };
    setitimer(ITIMER_REAL, &it, NULL);
    pc_run(1);
    printf("%d signals: rip outside the loop %d, wrong return address on the stack %d\n", count, outside, bad_slot);
    return 0;
}
