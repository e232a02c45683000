/* lurk benchmark: recursive fib -- call/return heavy (stresses return
 * handling / indirect-branch lookup in the engine).
 * Usage: fib [N]  (default 43).  N comes from argv so the compiler cannot
 * fold the result. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static long fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 43;
    printf("fib(%d) = %ld\n", n, fib(n));
    return 0;
}
