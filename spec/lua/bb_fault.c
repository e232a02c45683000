/* bb_fault.c: an instrumented block whose load faults (a NULL pointer every
** other call); the SIGSEGV handler checks the state it is given, then
** siglongjmps out. Prints what it saw (spec/bb_spec.lua). Built -no-pie.
*/
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

long t_fault(long *p);

asm(".intel_syntax noprefix\n"
    ".globl t_fault\n"
    "t_fault: push rbx\n"
    "  mov rbx, 0x1234\n"
    "t_fault_a: add rbx, rdi\n"
    "t_fault_ld: mov rax, qword ptr [rdi]\n"
    "t_fault_b: add rax, rbx\n"
    "  pop rbx\n"
    "  ret\n"
    ".att_syntax prefix\n");

extern char t_fault_ld[];
static sigjmp_buf jb;
static volatile long bad_rip, last_rbx, last_rdi, bad_addr;

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
  ucontext_t *uc = ucv;
  (void)sig;
  if (uc->uc_mcontext.gregs[REG_RIP] != (greg_t)t_fault_ld) bad_rip++;
  if (si->si_addr != NULL) bad_addr++;
  last_rbx = uc->uc_mcontext.gregs[REG_RBX];
  last_rdi = uc->uc_mcontext.gregs[REG_RDI];
  siglongjmp(jb, 1);
}

int main(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  static long val = 1000;
  volatile long sum = 0, faults = 0;
  for (int i = 0; i < 100; i++) {
    if (sigsetjmp(jb, 1) == 0) sum += t_fault(i % 2 ? &val : NULL);
    else faults++;
  }
  printf("faults %ld sum %ld\n", faults, sum);
  printf("bad rip %ld bad addr %ld\n", bad_rip, bad_addr);
  printf("last rbx 0x%lx rdi 0x%lx\n", last_rbx, last_rdi);
  return 0;
}
