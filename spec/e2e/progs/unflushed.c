// CFLAGS: -O2
/* Lots of buffered stdio output that is never flushed explicitly: stdout is
 * a file/pipe in the test, so it is fully buffered and the final part is
 * written by exit() after main returns.  Also mixes stdout and stderr, a
 * fully-buffered stream with a custom buffer, and a last line without '\n'. */
#include <stdio.h>
#include <unistd.h>

static char mybuf[777];

int main(void)
{
    for (int i = 0; i < 20000; i++)
        printf("line %05d %s\n", i, (i % 3) ? "abcdefghijklmnopqrstuvwxyz" : "0123456789");
    fputs("to stderr (unbuffered)\n", stderr);
    for (int i = 0; i < 1000; i++) putchar('a' + i % 26);
    putchar('\n');
    FILE *f = fdopen(dup(1), "w");
    if (f) {
        setvbuf(f, mybuf, _IOFBF, sizeof mybuf);
        fputs("second stream on a dup of fd 1, flushed at exit\n", f);
    }
    fprintf(stderr, "stderr, no newline at the end");
    printf("no newline at the end of stdout");
    return 0;
}
