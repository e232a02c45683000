// CFLAGS: -O2 -no-pie
/* Found by the differential fuzzer (spec/fuzz): after a `ret`, the qword
 * just below rsp (the red zone, which belongs to the code that called) still
 * holds the return address the call pushed. lurk's translated ret writes the
 * cache pad's address over that slot before its real ret (docs/
 * architecture.md, Returns), so a program that reads it back sees a code
 * cache address. Prints what the slot holds, relative to the return address. */
#include <stdint.h>
#include <stdio.h>

extern char ret_here[];

int main(void)
{
    uint64_t slot;
    __asm__ volatile("call 1f\n"
                     ".globl ret_here\nret_here: jmp 2f\n"
                     "1: ret\n"
                     "2: mov -8(%%rsp), %0" : "=r"(slot) :: "memory");
    if (slot == (uint64_t)(uintptr_t)ret_here) printf("slot below rsp: the return address\n");
    else printf("slot below rsp: not the return address (a code cache address?)\n");
    return 0;
}
