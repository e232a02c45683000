// CFLAGS: -O2 -fno-stack-protector
/* fs-relative operands in every form lurk rewrites where it owns fs (a
 * CPU without FSGSBASE, or --mangle-fs): loads into 64-, 32-, 16- and
 * 8-bit registers, movzx/movsx, a load whose destination is also its base,
 * base + index * scale + displacement, the stack protector's check (sub
 * from fs:0x28), read-modify-write with the flags read back, stores. Then
 * faulting fs loads (the address non-canonical): the SIGSEGV handler
 * prints the registers as the kernel saw them, which must be the app's
 * values from before the load, whatever lurk used as its scratch. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static __thread uint64_t tv[8] = { 0x1122334455667788ull, 0x8877665544332211ull, 0xfedcba9876543210ull, 5 };

static long tpoff(void *p) { return (char *)p - (char *)__builtin_thread_pointer(); }

static sigjmp_buf back;
static void on_segv(int sig, siginfo_t *si, void *ucp)
{
  greg_t *g = ((ucontext_t *)ucp)->uc_mcontext.gregs;
  printf("  SIGSEGV code %d addr %lx: rax %llx rcx %llx rdx %llx rsi %llx\n", si->si_code,
         (unsigned long)si->si_addr, (unsigned long long)g[REG_RAX], (unsigned long long)g[REG_RCX],
         (unsigned long long)g[REG_RDX], (unsigned long long)g[REG_RSI]);
  (void)sig;
  siglongjmp(back, 1);
}

int main(void)
{
  long o = tpoff(tv);
  uint64_t a, b, c;
  uint32_t e;
  /* loads */
  __asm__ volatile("mov %%fs:(%1), %0" : "=r"(a) : "r"(o));
  __asm__ volatile("movl %%fs:4(%1), %0" : "=r"(e) : "r"(o));
  printf("load64 %llx load32 %x\n", (unsigned long long)a, e);
  __asm__ volatile("mov $-1, %%rax\n movw %%fs:2(%1), %%ax\n mov %%rax, %0" : "=r"(a) : "r"(o) : "rax");
  __asm__ volatile("mov $-1, %%rax\n movb %%fs:3(%1), %%ah\n mov %%rax, %0" : "=r"(b) : "r"(o) : "rax");
  printf("load16 %llx load8h %llx\n", (unsigned long long)a, (unsigned long long)b);
  __asm__ volatile("movzbl %%fs:(%1,%2,1), %k0" : "=r"(a) : "r"(o), "r"(7L));
  __asm__ volatile("movsbq %%fs:8(%1,%2,4), %0" : "=r"(b) : "r"(o), "r"(1L));
  __asm__ volatile("movslq %%fs:16(%1,%2,8), %0" : "=r"(c) : "r"(o), "r"(0L));
  printf("movzx %llx movsx %llx movsxd %llx\n", (unsigned long long)a, (unsigned long long)b, (unsigned long long)c);
  a = (uint64_t)o;
  __asm__ volatile("mov %%fs:8(%0), %0" : "+r"(a)); /* the destination is the base */
  b = 2;
  __asm__ volatile("movl %%fs:(%1,%0,8), %k0" : "+r"(b) : "r"(o)); /* ... the index */
  printf("dest=base %llx dest=index %llx\n", (unsigned long long)a, (unsigned long long)b);
  /* absolute: the thread pointer at fs:0 (glibc keeps it there), the canary */
  __asm__ volatile("mov %%fs:0, %0" : "=r"(a));
  printf("fs:0 is the thread pointer: %s\n", a == (uint64_t)__builtin_thread_pointer() ? "yes" : "no");
  uint64_t canary = *(uint64_t *)((char *)__builtin_thread_pointer() + 0x28);
  int same;
  __asm__ volatile("sub %%fs:0x28, %1\n sete %b0" : "=r"(same), "+r"(canary) : : "cc");
  printf("canary check: %s\n", same & 1 ? "equal" : "differs");
  /* read-modify-write, flags */
  uint8_t zf, cf;
  __asm__ volatile("addq %2, %%fs:24(%3)\n setz %0\n setc %1" : "=r"(zf), "=r"(cf) : "r"(-5L), "r"(o) : "cc", "memory");
  printf("add: tv[3] %llu zf %u cf %u\n", (unsigned long long)tv[3], zf, cf);
  __asm__ volatile("cmpl $0x55667788, %%fs:(%2)\n setz %0\n setb %1" : "=r"(zf), "=r"(cf) : "r"(o) : "cc");
  printf("cmp: zf %u cf %u\n", zf, cf);
  /* stores */
  __asm__ volatile("movq %0, %%fs:32(%1)" : : "r"(0xabcdefull), "r"(o) : "memory");
  __asm__ volatile("movb $7, %%fs:40(%0,%1,2)" : : "r"(o), "r"(3L) : "memory");
  __asm__ volatile("movw %0, %%fs:48(%1)" : : "r"((uint16_t)0x4242), "r"(o) : "memory");
  printf("stores: %llx %llx %llx\n", (unsigned long long)tv[4], (unsigned long long)tv[5], (unsigned long long)tv[6]);

  /* faults: fs + rdx is not canonical (SIGSEGV, si_code SI_KERNEL, address 0) */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  static const char *what[] = { "load into rax, base rdx", "load into eax, base rdx index rcx",
                                "movzx into esi, base rdx", "add into rax from memory", "store from rsi" };
  for (int k = 0; k < 5; k++) {
    printf("fault: %s\n", what[k]);
    if (sigsetjmp(back, 1)) continue;
    /* rax, rcx, rsi known, rdx such that fs + rdx is not canonical, then the access */
#define FAULT(insn, rcx)                                                                       \
  __asm__ volatile("mov $0x1111, %%eax\n mov $" #rcx ", %%ecx\n mov $0x4000000000000000, %%rdx\n" \
                   "mov $0x3333, %%esi\n " insn : : : "rax", "rcx", "rdx", "rsi", "memory", "cc")
    switch (k) {
    case 0: FAULT("mov %%fs:(%%rdx), %%rax", 0x2222); break;
    case 1: FAULT("movl %%fs:8(%%rdx,%%rcx,8), %%eax", 1); break;
    case 2: FAULT("movzbl %%fs:(%%rdx), %%esi", 0x2222); break;
    case 3: FAULT("add %%fs:(%%rdx), %%rax", 0x2222); break;
    case 4: FAULT("mov %%rsi, %%fs:(%%rdx)", 0x2222); break;
    }
    printf("  no fault\n");
  }
  return 0;
}
