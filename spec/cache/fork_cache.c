/* Parent and child each translate code of their own after a fork, in
 * turn: the child runs group A, then the parent group B, then the child A
 * again. A cache the two shared would hold B's code where the child's A
 * blocks were (both write at the same place after the fork): the child's
 * second pass would run B's code. Prints each pass's sum; the same
 * natively. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define F4(p, n) F(p, n##0) F(p, n##1) F(p, n##2) F(p, n##3)
#define F16(p, n) F4(p, n##0) F4(p, n##1) F4(p, n##2) F4(p, n##3)
#define F64(p) F16(p, 1) F16(p, 2) F16(p, 3) F16(p, 4)
/* Distinct functions, each a few blocks. */
#define P_a 5
#define P_b 11
#define F(p, n)                                              \
  __attribute__((noinline)) static long p##_##n(long x) {  \
    if (x & 1) x = x * 3 + 0x##n;                            \
    else x = (x >> 1) ^ (0x##n * P_##p);                     \
    return x;                                                \
  }
F64(a)
F64(b)
#undef F
#define F(p, n) p##_##n,
static long (*const fa[])(long) = { F64(a) };
static long (*const fb[])(long) = { F64(b) };

static long run(long (*const *f)(long), long x) {
  for (int k = 0; k < 50; k++)
    for (unsigned i = 0; i < sizeof fa / sizeof fa[0]; i++) x = f[i](x) & 0xffffffffl;
  return x;
}

int main(void) {
  int p1[2], p2[2];
  char c = 0;
  setvbuf(stdout, NULL, _IONBF, 0);
  if (pipe(p1) || pipe(p2)) return 2;
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    close(p1[0]);
    close(p2[1]);
    long s1 = run(fa, 7);
    if (write(p1[1], &c, 1) != 1) return 2;
    if (read(p2[0], &c, 1) != 1) return 2;
    long s2 = run(fa, 7);
    printf("child: A %lx, A again %lx\n", s1, s2);
    return s1 == s2 ? 0 : 1;
  }
  close(p1[1]);
  close(p2[0]);
  if (read(p1[0], &c, 1) != 1) return 2;
  printf("parent: B %lx\n", run(fb, 7));
  if (write(p2[1], &c, 1) != 1) return 2;
  int st;
  waitpid(pid, &st, 0);
  printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return 0;
}
