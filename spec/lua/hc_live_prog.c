/* lurk spec program (spec/hc_spec.lua): a loop whose one `sub r, [mem]`
** runs with every general register but rsp live, so that code compiled
** at it has no dead register to work in (its values live in the thread
** block). Prints a checksum of the registers.
**   hc_live_prog [iterations]   (default 200000)
*/
#include <stdio.h>
#include <stdlib.h>

static long buf[64];

int main(int argc, char **argv)
{
  long n = argc > 1 ? atol(argv[1]) : 200000, sum = 0;
  for (int i = 0; i < 64; i++) buf[i] = i * 0x9e3779b9L;
  for (long i = 0; i < n; i++) {
    long out, *bp = buf, ii = i;
    __asm__ volatile(
        "mov %[p], %%rax\n\t"
        "mov %[i], %%rcx\n\t"
        "and $63, %%rcx\n\t"
        "lea 1(%%rcx), %%rbx\n\t"
        "lea 2(%%rcx), %%rdx\n\t"
        "lea 3(%%rcx), %%rsi\n\t"
        "lea 4(%%rcx), %%rdi\n\t"
        "lea 5(%%rcx), %%rbp\n\t"
        "lea 6(%%rcx), %%r8\n\t"
        "lea 7(%%rcx), %%r9\n\t"
        "lea 8(%%rcx), %%r10\n\t"
        "lea 9(%%rcx), %%r11\n\t"
        "lea 10(%%rcx), %%r12\n\t"
        "lea 11(%%rcx), %%r13\n\t"
        "lea 12(%%rcx), %%r14\n\t"
        "lea 13(%%rcx), %%r15\n\t"
        "sub (%%rax,%%rcx,8), %%rbx\n\t"
        "add %%rax, %%rbx\n\t"
        "add %%rcx, %%rbx\n\t"
        "add %%rdx, %%rbx\n\t"
        "add %%rsi, %%rbx\n\t"
        "add %%rdi, %%rbx\n\t"
        "add %%rbp, %%rbx\n\t"
        "add %%r8, %%rbx\n\t"
        "add %%r9, %%rbx\n\t"
        "add %%r10, %%rbx\n\t"
        "add %%r11, %%rbx\n\t"
        "add %%r12, %%rbx\n\t"
        "add %%r13, %%rbx\n\t"
        "add %%r14, %%rbx\n\t"
        "add %%r15, %%rbx\n\t"
        "mov %%rbx, %[out]\n\t"
        : [out] "=m"(out)
        : [p] "m"(bp), [i] "m"(ii)
        : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
          "cc", "memory");
    sum += out;
  }
  printf("%ld\n", sum);
  return 0;
}
