// CFLAGS: -O1
/* Deep recursion: a 100000-deep non-tail recursion (about 3 MB of stack, within
 * the default 8 MB limit), Ackermann, and naive Fibonacci (lots of call/return
 * pairs). */
#include <stdio.h>
#include <stdint.h>

__attribute__((noipa)) static uint64_t deep(uint64_t n)
{
    volatile unsigned char pad[8];          /* keeps a real frame per level */
    pad[n & 7] = (unsigned char)n;
    if (n == 0)
        return 0;
    return deep(n - 1) + pad[n & 7] + 1;
}

__attribute__((noipa)) static uint64_t ack(uint64_t m, uint64_t n)
{
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

__attribute__((noipa)) static uint64_t fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(void)
{
    printf("deep(100000) = %llu\n", (unsigned long long)deep(100000));
    printf("ack(2, 500) = %llu\n", (unsigned long long)ack(2, 500));
    printf("ack(3, 7) = %llu\n", (unsigned long long)ack(3, 7));
    printf("fib(30) = %llu\n", (unsigned long long)fib(30));
    return 0;
}
