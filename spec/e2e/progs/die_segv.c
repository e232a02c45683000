// CFLAGS: -O2
/* Default action of SIGSEGV: after printing (flushed) a line, a store
 * through a null pointer kills the process; the runner sees status 139
 * (128+11), the waitsig wrapper sees the signal and the core flag. */
#include <stdio.h>

int main(void)
{
    printf("about to fault\n");
    fflush(stdout);
    *(volatile int *)0 = 1;
    printf("still alive?!\n");
    return 0;
}
