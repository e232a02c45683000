// CFLAGS: -O2
/* Tail calls: at -O2 gcc turns these into jmp (sibling calls), so a chain of
 * 10 million mutual-recursive calls runs in constant stack.  Also tail calls
 * through function pointers (indirect jmp) and a tail call into libc. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

__attribute__((noinline)) int is_odd(uint64_t n);
__attribute__((noinline)) int is_even(uint64_t n) { return n == 0 ? 1 : is_odd(n - 1); }
__attribute__((noinline)) int is_odd(uint64_t n) { return n == 0 ? 0 : is_even(n - 1); }

typedef uint64_t (*state_fn)(uint64_t n, uint64_t acc);
static uint64_t st_a(uint64_t n, uint64_t acc);
static uint64_t st_b(uint64_t n, uint64_t acc);
static uint64_t st_c(uint64_t n, uint64_t acc);
static state_fn volatile states[3] = { st_a, st_b, st_c };

__attribute__((noinline)) static uint64_t st_a(uint64_t n, uint64_t acc)
{ return n == 0 ? acc : states[(acc + n) % 3](n - 1, acc * 5 + 1); }
__attribute__((noinline)) static uint64_t st_b(uint64_t n, uint64_t acc)
{ return n == 0 ? acc : states[(acc ^ n) % 3](n - 1, acc + n); }
__attribute__((noinline)) static uint64_t st_c(uint64_t n, uint64_t acc)
{ return n == 0 ? acc : states[n % 3](n - 1, acc ^ (acc >> 3)); }

__attribute__((noinline)) static uint64_t gcd(uint64_t a, uint64_t b)
{ return b == 0 ? a : gcd(b, a % b); }

__attribute__((noipa)) static size_t tail_into_libc(const char *s)
{ return strlen(s); }                        /* jmp strlen@plt */

int main(void)
{
    printf("is_even(10000000) = %d\n", is_even(10000000));
    printf("is_odd(7777777) = %d\n", is_odd(7777777));
    printf("state machine = %016llx\n", (unsigned long long)st_a(5000000, 1));
    printf("gcd = %llu\n", (unsigned long long)gcd(1836311903ull * 7, 2971215073ull * 7));
    printf("strlen = %zu\n", tail_into_libc("tail-called strlen"));
    return 0;
}
