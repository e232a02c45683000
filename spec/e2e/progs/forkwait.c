// CFLAGS: -O2
/* (expected failure until fork is supported) fork three children that each
 * compute something and exit with a status; the parent waits for them in
 * order.  stdout is flushed before fork so nothing is printed twice. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

int main(void)
{
    printf("parent starting\n");
    fflush(stdout);
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        pid_t p = fork();
        if (p < 0) { perror("fork"); return 1; }
        if (p == 0) {
            unsigned s = 0;
            for (unsigned j = 0; j < 1000000u * (i + 1); j++) s += j * 7;
            printf("child %d computed %u\n", i, s);
            exit(10 + i);
        }
        kids[i] = p;
        int st;
        waitpid(kids[i], &st, 0);            /* wait in order: deterministic output */
        printf("child %d exited %d\n", i, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        fflush(stdout);
    }
    return 0;
}
