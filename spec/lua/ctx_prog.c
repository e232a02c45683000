/* spec/ctx_spec.lua's program: each mode runs a few instructions around a
** t_* label (a nop the spec's clean call sits before) and prints what the
** registers hold after it. Built -no-pie: nm gives the labels' addresses. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

__attribute__((target("avx"))) static void ymm(void)
{
  double lo[2] = { 1.5, 2.5 }, hi[2] = { 3.5, 4.5 }, out[4];
  __asm__ volatile("vmovupd %1, %%xmm1\n vinsertf128 $1, %2, %%ymm1, %%ymm1\n"
                   ".globl t_ymm\n t_ymm: nop\n vmovupd %%ymm1, %0"
                   : "=m"(out) : "m"(lo), "m"(hi) : "xmm1");
  printf("ymm1 %g %g %g %g\n", out[0], out[1], out[2], out[3]);
}

int main(int argc, char **argv)
{
  const char *m = argc > 1 ? argv[1] : "";
  if (!strcmp(m, "gpr")) {
    uint64_t a = 0xfedcba9876543211ull, b = 0;
    __asm__ volatile(".globl t_gpr\n t_gpr: nop" : "+a"(a), "+b"(b));
    printf("rax %llx rbx %llx\n", (unsigned long long)a, (unsigned long long)b);
  } else if (!strcmp(m, "xmm")) {
    double d = 1.25;
    __asm__ volatile("movq %0, %%xmm0\n .globl t_xmm\n t_xmm: nop\n movq %%xmm0, %0" : "+r"(d) : : "xmm0");
    printf("xmm0 %g\n", d);
  } else if (!strcmp(m, "ymm")) {
    ymm();
  } else if (!strcmp(m, "rsp")) {
    uint64_t before, after;
    __asm__ volatile("mov %%rsp, %0\n .globl t_rsp\n t_rsp: nop\n mov %%rsp, %1\n mov %0, %%rsp"
                     : "=&r"(before), "=&r"(after));
    printf("rsp moved by %lld\n", (long long)(before - after));
  } else if (!strcmp(m, "pc")) {
    int r;
    __asm__ volatile("mov $1, %0\n .globl t_pc\n t_pc: nop\n mov $2, %0\n jmp 1f\n"
                     ".globl t_skip\n t_skip: mov $3, %0\n 1:" : "=r"(r));
    printf("r %d\n", r);
  } else if (!strcmp(m, "sys")) {
    long r = syscall(SYS_getppid, 0xdeadbeefcafebabeull, 0x8000000000000000ull);
    printf("getppid %s\n", r == (long)getppid() ? "ok" : "changed");
  }
  return 0;
}
