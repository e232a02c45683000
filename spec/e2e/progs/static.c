// CFLAGS: -O2 -static
/* A statically linked executable (no dynamic loader, no shared libraries):
 * some string/number work through the static libc, plus IRELATIVE-resolved
 * (ifunc) string functions like memcpy/strlen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    static char buf[200][32];
    char *ptrs[200];
    unsigned s = 12345;
    for (int i = 0; i < 200; i++) {
        s = s * 1103515245u + 12345u;
        snprintf(buf[i], sizeof buf[i], "w%08x-%d", s >> 4, i);
        ptrs[i] = buf[i];
    }
    qsort(ptrs, 200, sizeof ptrs[0], cmp);
    char big[4096];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    memcpy(big + 100, ptrs[0], strlen(ptrs[0]));
    printf("argc %d, first %s last %s, strlen %zu, strchr at %td\n", argc, ptrs[0], ptrs[199],
           strlen(big), strchr(big, 'w') - big);
    printf("strtod %.6f, atoi %d, getenv(TZ)=%s\n", strtod("2.718281828", NULL), atoi("-77"),
           getenv("TZ") ? getenv("TZ") : "(unset)");
    return 0;
}
