/* e2e: a fault in the middle of a run of memory accesses while every
** general register holds a known value. Under a tool with compiled
** handlers at each access (progs/hc_spill.lua) the registers a handler
** saves stay saved across the app instructions between the handlers
** (arch/x86_64/hc.c); the SIGSEGV handler must still see the program's own
** registers and flags, as natively. Prints them, then does it again with
** the fault after a read-modify-write and a push. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

void spill_run(void *bad);
void spill_run2(void *bad);
void spill_end(void);

/* Every register but rsp set, stores through rsp (which no handler takes
** as scratch), flags set by a compare and read after the fault would have
** passed (so they are live at each access), then a load through r11
** (the bad address). No register is written after the accesses, so none
** is dead at them: a handler may clobber a dead one without saving it
** (docs/decisions.md), which a signal handler can see. */
__asm__(".text\n"
        ".globl spill_run\n"
        "spill_run:\n"
        "  mov %rdi, %r11\n"
        "  mov $0x1111111111111111, %rax\n"
        "  mov $0x2222222222222222, %rcx\n"
        "  mov $0x3333333333333333, %rdx\n"
        "  mov $0x4444444444444444, %rbx\n"
        "  mov $0x5555555555555555, %rbp\n"
        "  mov $0x6666666666666666, %rsi\n"
        "  mov $0x7777777777777777, %rdi\n"
        "  mov $0x8888888888888888, %r8\n"
        "  mov $0x9999999999999999, %r9\n"
        "  mov $0xaaaaaaaaaaaaaaaa, %r10\n"
        "  mov $0xcccccccccccccccc, %r12\n"
        "  mov $0xdddddddddddddddd, %r13\n"
        "  mov $0xeeeeeeeeeeeeeeee, %r14\n"
        "  mov $0xffffffffffffffff, %r15\n"
        "  cmp %r12, %r13\n"
        "  mov %r12, -8(%rsp)\n"
        "  mov %r13, -16(%rsp)\n"
        "  mov %r14, -24(%rsp)\n"
        "  mov %r15, -32(%rsp)\n"
        "  mov %r10, (%r11)\n"
        "  setb %al\n"
        "  ret\n"
        ".globl spill_run2\n"
        "spill_run2:\n"
        "  mov %rdi, %r11\n"
        "  mov $0x0101010101010101, %rax\n"
        "  mov $0x0202020202020202, %rcx\n"
        "  mov $0x0303030303030303, %rdx\n"
        "  mov $0x0404040404040404, %rbx\n"
        "  mov $0x0505050505050505, %rbp\n"
        "  mov $0x0606060606060606, %rsi\n"
        "  mov $0x0707070707070707, %rdi\n"
        "  mov $0x0808080808080808, %r8\n"
        "  mov $0x0909090909090909, %r9\n"
        "  mov $0x0a0a0a0a0a0a0a0a, %r10\n"
        "  mov $0x0c0c0c0c0c0c0c0c, %r12\n"
        "  mov $0x0d0d0d0d0d0d0d0d, %r13\n"
        "  mov $0x0e0e0e0e0e0e0e0e, %r14\n"
        "  mov $0x0f0f0f0f0f0f0f0f, %r15\n"
        "  mov %r12, -16(%rsp)\n"
        "  add %r13, -16(%rsp)\n"
        "  cmp %r13, %r12\n"
        "  push %r14\n"
        "  mov %r15, -8(%rsp)\n"
        "  mov %r10, (%r11)\n"
        "  lea 8(%rsp), %rsp\n"
        "  setb %al\n"
        "  ret\n"
        ".globl spill_end\n"
        "spill_end:\n"
        "  ret\n");

static sigjmp_buf jb;
static greg_t seen[NGREG];

static void on_segv(int sig, siginfo_t *si, void *uc)
{
  (void)sig;
  (void)si;
  memcpy(seen, ((ucontext_t *)uc)->uc_mcontext.gregs, sizeof seen);
  siglongjmp(jb, 1);
}

static void show(const char *what, void (*fn)(void *))
{
  static const struct { const char *name; int reg; } r[] = {
    { "rax", REG_RAX }, { "rcx", REG_RCX }, { "rdx", REG_RDX }, { "rbx", REG_RBX },
    { "rbp", REG_RBP }, { "rsi", REG_RSI }, { "rdi", REG_RDI }, { "r8", REG_R8 },
    { "r9", REG_R9 },   { "r10", REG_R10 }, { "r11", REG_R11 }, { "r12", REG_R12 },
    { "r13", REG_R13 }, { "r14", REG_R14 }, { "r15", REG_R15 },
  };
  memset(seen, 0, sizeof seen);
  if (sigsetjmp(jb, 1) == 0) {
    fn((void *)0x10);
    printf("%s: no fault\n", what);
    return;
  }
  printf("%s: fault at +%ld, addr 0x%llx, flags 0x%llx\n", what,
         (long)(seen[REG_RIP] - (greg_t)fn), (unsigned long long)seen[REG_CR2],
         (unsigned long long)seen[REG_EFL] & 0x8d5);
  for (unsigned i = 0; i < sizeof r / sizeof r[0]; i++)
    printf("  %-3s %016llx\n", r[i].name, (unsigned long long)seen[r[i].reg]);
}

int main(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  for (int i = 0; i < 3; i++) { /* the first time translated, then from the cache */
    show("stores", spill_run);
    show("read-modify-write, push", spill_run2);
  }
  return 0;
}
