/* wrap_spec: functions to wrap, one mode per argv[1]. Built -O2 -no-pie
** -fno-ipa-ra (callers must not rely on what a wrapped function leaves in
** registers: a skip or replace changes rax/xmm0); `nm` gives the w_* addresses.
** Each mode prints what it computed, natively the same as under lurk unless
** the script changes it. */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

NOINLINE long w_sum9(long a, long b, long c, long d, long e, long f, long g, long h, long i)
{
  return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i;
}
NOINLINE double w_fmix(double a, double b, long k, double c) { return a * b + c - (double)k; }
NOINLINE unsigned long w_big(unsigned long x) { return x ^ 0xf0f0f0f0f0f0f0f0ul; }

/* fib with its own call count and deepest depth */
static long fib_calls, fib_depth, fib_max;
NOINLINE long w_fib(long n)
{
  fib_calls++;
  if (++fib_depth > fib_max) fib_max = fib_depth;
  long r = n < 2 ? n : w_fib(n - 1) + w_fib(n - 2);
  fib_depth--;
  __asm__ volatile("" ::: "memory");
  return r;
}

/* longjmp out of a wrapped function (two levels deep) */
static jmp_buf jb;
NOINLINE long w_jump_inner(long x) { if (x > 2) longjmp(jb, (int)x); return x; }
NOINLINE long w_jump(long x) { long r = w_jump_inner(x) + 1; __asm__ volatile("" ::: "memory"); return r; }

/* a tail call: w_tail's `return w_tail_to(x + 1)` is a jmp at -O2 */
NOINLINE long w_tail_to(long x) { __asm__ volatile("" ::: "memory"); return x * 3; }
NOINLINE long w_tail(long x) { return w_tail_to(x + 1); }

/* threads */
NOINLINE long w_work(long x) { __asm__ volatile("" ::: "memory"); return x + 1; }
static void *thr(void *arg)
{
  long s = 0;
  for (long i = 0; i < 100000; i++) s += w_work(i);
  return (void *)s;
}

/* a handler on the alternate stack, mid-function */
static volatile long sig_seen;
NOINLINE long w_leaf(long x) { __asm__ volatile("" ::: "memory"); return x + 7; }
static void on_sig(int s) { (void)s; sig_seen = w_leaf(100); }
NOINLINE long w_outer(long x) { raise(SIGUSR1); return w_leaf(x) + sig_seen; }

/* fork inside a wrapped function */
NOINLINE long w_forker(long x)
{
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) { printf("child %ld\n", w_leaf(x)); fflush(stdout); _exit(0); }
  int st;
  waitpid(p, &st, 0);
  return w_leaf(x + 1);
}

/* the bench loop */
NOINLINE long w_empty(long x) { __asm__ volatile("" ::: "memory"); return x; }

int main(int argc, char **argv)
{
  const char *m = argc > 1 ? argv[1] : "";
  if (!strcmp(m, "args")) {
    printf("sum9 %ld\n", w_sum9(1, 2, 3, 4, 5, 6, 7, 8, 9));
    printf("fmix %g\n", w_fmix(1.5, 4.0, 2, 0.25));
    printf("big %lx\n", w_big(0x0123456789abcdeful));
  } else if (!strcmp(m, "fib")) {
    long r = w_fib(argc > 2 ? atol(argv[2]) : 15);
    printf("fib %ld calls %ld depth %ld\n", r, fib_calls, fib_max);
  } else if (!strcmp(m, "longjmp")) {
    long t = 0;
    for (long i = 0; i < 6; i++) {
      int v = setjmp(jb);
      if (v) { t += 100 * v; continue; }
      t += w_jump(i);
    }
    printf("longjmp %ld\n", t);
  } else if (!strcmp(m, "tail")) {
    printf("tail %ld\n", w_tail(4));
  } else if (!strcmp(m, "threads")) {
    pthread_t t[8];
    long total = 0;
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, thr, NULL);
    for (int i = 0; i < 8; i++) { void *r; pthread_join(t[i], &r); total += (long)r; }
    printf("threads %ld\n", total);
  } else if (!strcmp(m, "altstack")) {
    /* on main's own stack, above w_outer's frame: the handler's stack
    ** pointers are higher than the interrupted call's */
    static char *volatile keep;
    char altbuf[1 << 16];
    keep = altbuf;
    stack_t ss = { .ss_sp = altbuf, .ss_size = sizeof altbuf };
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    printf("altstack %ld\n", w_outer(1));
  } else if (!strcmp(m, "dlopen")) {
    void *h = dlopen(argv[2], RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    long (*f)(long) = (long (*)(long))dlsym(h, "wl_twice");
    long (*g)(long) = (long (*)(long))dlsym(h, "wl_thrice");
    long s = 0;
    for (long i = 0; i < 10; i++) s += f(i);
    if (argc > 3) for (long i = 0; i < 5; i++) s += g(i); /* "dlopen LIB both" */
    printf("dlopen %ld\n", s);
  } else if (!strcmp(m, "strings")) {
    /* libc's IFUNCs, called from here through the PLT with sizes the
    ** compiler cannot see (so it cannot inline them) */
    static char src[256], dst[256];
    volatile size_t n = 100;
    size_t tot = 0;
    memset(src, 'a', sizeof src - 1);
    for (int i = 0; i < 7; i++) { memcpy(dst, src, n + i); tot += strlen(src + i); }
    printf("strings %zu %d\n", tot, dst[100]);
  } else if (!strcmp(m, "again")) {
    for (long i = 0; i < 3; i++) { /* one call site, run before the wrap exists */
      long r = w_leaf(i);
      printf("again %ld\n", r);
      fflush(stdout);
    }
  } else if (!strcmp(m, "fork")) {
    /* a fork inside a wrapped call: both processes see it return */
    printf("fork %ld\n", w_forker(1));
  } else if (!strcmp(m, "bench")) {
    long n = argc > 2 ? atol(argv[2]) : 10000000, s = 0;
    for (long i = 0; i < n; i++) s += w_empty(i);
    printf("bench %ld\n", s);
  } else {
    return 2;
  }
  return 0;
}
