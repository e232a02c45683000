// CFLAGS: -O2
/* vfork + _exit: the child borrows the parent's memory and the parent is
 * suspended until the child _exits.  (On Linux the child's stores to the
 * shared memory are seen by the parent; a vfork run as fork would lose them
 * and would let the parent run first.) */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int shared, child_done;

int main(void)
{
    for (int round = 1; round <= 3; round++) {
        pid_t pid = vfork();
        if (pid < 0) { perror("vfork"); return 1; }
        if (pid == 0) {
            unsigned s = 0;
            for (unsigned i = 0; i < 2000000; i++) s += i;     /* take some time */
            shared = round * 100 + (int)(s & 7);
            child_done = round;
            _exit(30 + round);
        }
        int seen_done = child_done;          /* the child has already finished */
        int st;
        waitpid(pid, &st, 0);
        printf("round %d: child exited %d, parent resumed after child: %s, shared=%d\n", round,
               WIFEXITED(st) ? WEXITSTATUS(st) : -1, seen_done == round ? "yes" : "no", shared);
    }
    return 0;
}
