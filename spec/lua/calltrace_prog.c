/* calltrace's test program (spec/calltrace_spec.lua): calls with known
** arguments, one mode per argv[1]. Built -O0 -fno-builtin so every libc
** call is a call; ct_* are the program's own traced functions. */
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* -- args: strings with escapes, negative ints, doubles, flags ----------- */

NOINLINE double ct_mix(int i, double d, const char *s, double e, long l)
{
  return i + d + e + l + (s ? (double)strlen(s) : 0);
}

NOINLINE long ct_raw(long a, long b, long c) { return a + b + c; }

static void mode_args(void)
{
  char buf[16];
  printf("%zu\n", strlen("tab\there \"q\" \\ nl\n\001\377"));
  printf("%zu\n", strlen("0123456789abcdefghijklmnopqrstuvwxyz"));
  int i1 = atoi("-42");
  long l1 = strtol("-0x10", NULL, 16);
  printf("%d %ld %d\n", i1, l1, abs(-7));
  printf("%g\n", strtod("2.5e3", NULL));
  int fd = open("/nonexistent/ct", O_WRONLY | O_CREAT | O_TRUNC, 0640);
  int fd2 = openat(AT_FDCWD, "/etc/hostname", O_RDONLY | O_CLOEXEC);
  printf("%d %d\n", fd, fd2 >= 0);
  close(fd2);
  memset(buf, 'A', 8);
  buf[8] = 0;
  int c1 = memcmp("abc", "abd", 3);
  printf("%s %d\n", buf, c1 < 0);
  printf("%s\n", getenv("CT_VAR"));
  printf("%d %s\n", -3, setlocale(LC_ALL, "C"));
  double d1 = ct_mix(-5, 1.25, "x\ty", -0.5, -1000000000000L);
  printf("%.3f %ld\n", d1, ct_raw(1, -1, 16));
  printf("%d %s %.2f %c %x\n", -3, "s", 0.5, 'z', 255);
}

/* -- nest: traced calls inside traced calls, a callback from libc ------- */

NOINLINE int ct_inner(const char *s) { return (int)strlen(s); }
NOINLINE int ct_outer(const char *s) { return ct_inner(s) + ct_inner("ab"); }
NOINLINE int ct_cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void mode_nest(void)
{
  int v[3] = { 3, 1, 2 };
  printf("%d\n", ct_outer("hello"));
  qsort(v, 3, sizeof v[0], ct_cmp);
  printf("%d %d %d\n", v[0], v[1], v[2]);
}

/* -- threads: A's call is in flight while B makes one -------------------- */

static int p1[2], p2[2];

NOINLINE int ct_block(int x)
{
  char c = 'a';
  if (write(p1[1], &c, 1) != 1 || read(p2[0], &c, 1) != 1) return -1;
  return x;
}

NOINLINE int ct_ping(int x) { return x + 1; }

static void *thread_a(void *arg) { (void)arg; printf("a %d\n", ct_block(1)); return NULL; }

static void *thread_b(void *arg)
{
  char c;
  (void)arg;
  if (read(p1[0], &c, 1) != 1) return NULL;
  int r = ct_ping(2);
  printf("b %d\n", r);
  if (write(p2[1], &c, 1) != 1) return NULL;
  return NULL;
}

static void mode_threads(void)
{
  pthread_t a, b;
  if (pipe(p1) || pipe(p2)) exit(1);
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_create(&a, NULL, thread_a, NULL); /* blocks in ct_block until b pinged */
  pthread_create(&b, NULL, thread_b, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
}

/* -- longjmp out of two traced functions --------------------------------- */

static jmp_buf env;

NOINLINE int ct_deep(int x) { longjmp(env, x + 5); }
NOINLINE int ct_jump(int x) { return ct_deep(x + 1) + 1; }
NOINLINE int ct_after(int x) { return x; }

static void mode_longjmp(void)
{
  static volatile int got = -1;
  int r = setjmp(env);
  if (r == 0) got = ct_jump(1); /* not reached again after the longjmp */
  printf("setjmp %d, after %d, got %d\n", r, ct_after(3), got);
}

int main(int argc, char **argv)
{
  const char *m = argc > 1 ? argv[1] : "args";
  if (!strcmp(m, "args")) mode_args();
  else if (!strcmp(m, "nest")) mode_nest();
  else if (!strcmp(m, "threads")) mode_threads();
  else if (!strcmp(m, "longjmp")) mode_longjmp();
  else if (!strcmp(m, "loop")) { /* the cost per traced call */
    long n = argc > 2 ? atol(argv[2]) : 1000000, s = 0;
    for (long i = 0; i < n; i++) s += ct_ping((int)i);
    printf("%ld\n", s);
  } else return 2;
  fflush(stdout);
  exit(0);
}
