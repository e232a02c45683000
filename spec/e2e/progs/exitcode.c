// CFLAGS: -O2
/* Exit paths: exit(42) with atexit handlers (run in reverse order, output
 * still flushed), "return" 42 from main, _exit(3) which discards unflushed
 * stdio output, and exit from a nested function.  Mode = argv[1]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void h1(void) { printf("atexit handler 1\n"); }
static void h2(void) { printf("atexit handler 2 (registered last, runs first)\n"); }

__attribute__((noinline)) static void deep_exit(int n, int code)
{
    if (n == 0) { printf("exiting from depth\n"); exit(code); }
    deep_exit(n - 1, code + 1);
    printf("not reached\n");
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "exit";
    atexit(h1);
    atexit(h2);
    printf("mode %s\n", mode);
    if (!strcmp(mode, "exit")) exit(42);
    if (!strcmp(mode, "return")) return 42;
    if (!strcmp(mode, "_exit")) { printf("this line is buffered and lost\n"); _exit(3); }
    if (!strcmp(mode, "deep")) deep_exit(100, 100);
    if (!strcmp(mode, "big")) exit(255 + 7);          /* only the low 8 bits: 6 */
    return 1;
}
