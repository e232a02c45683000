// CFLAGS: -O2
/* Prints argc, every argv[] entry and the whole environment (in order),
 * with non-printable bytes escaped, plus a few totals. */
#include <stdio.h>
#include <string.h>

extern char **environ;

static void put_escaped(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\') fputs("\\\\", stdout);
        else if (*p >= 0x20 && *p < 0x7f) putchar(*p);
        else printf("\\x%02x", *p);
    }
}

int main(int argc, char **argv, char **envp)
{
    size_t total = 0;
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) {
        printf("argv[%d]=<", i);
        put_escaped(argv[i]);
        printf("> len %zu\n", strlen(argv[i]));
        total += strlen(argv[i]) + 1;
    }
    printf("argv[argc] is %s\n", argv[argc] ? "NOT NULL" : "NULL");
    int n = 0;
    for (char **e = envp; *e; e++, n++) {
        printf("env[%d]=<", n);
        put_escaped(*e);
        printf(">\n");
        total += strlen(*e) + 1;
    }
    printf("envc=%d, environ == envp: %s, argv+envp bytes=%zu\n", n, environ == envp ? "yes" : "no", total);
    printf("envp follows argv: %s\n", envp == argv + argc + 1 ? "yes" : "no");
    return 0;
}
