// CFLAGS: -O2
/* Nested fork trees: every process down to depth 3 forks 3 children and
 * waits for them; each exits with the number of processes in its subtree,
 * so the root learns the tree size (1 + 3 + 9 + 27 = 40) from exit statuses
 * alone.  Leaves do a little work and check it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int node(int depth, int path)
{
    if (depth == 3) {
        unsigned s = 0;
        for (unsigned i = 0; i < 100000; i++) s += i * (unsigned)path;
        return s == (unsigned)(path * 4999950000ul) ? 1 : 100;   /* 1 process, or an error marker */
    }
    int total = 1;
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] < 0) { perror("fork"); exit(200); }
        if (kids[i] == 0) _exit(node(depth + 1, path * 3 + i + 1));
    }
    for (int i = 0; i < 3; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st)) return 200;
        total += WEXITSTATUS(st);
    }
    return total;
}

int main(void)
{
    fflush(stdout);
    int n = node(0, 0);
    printf("processes in the tree: %d\n", n);
    return n == 40 ? 0 : 1;
}
