// CFLAGS: -O2
/* The protections lurk keeps track of from the app's mmap, mprotect and
 * munmap (engine/vm.c): code in pages whose protection changes piecewise
 * (a three-page mapping whose middle page alone becomes executable, then
 * the first, then the middle unmapped and mapped again), each call
 * reporting what the kernel does: the return value, or the signal with its
 * code and whether the address is the page's. Then READ_IMPLIES_EXEC
 * (personality): a page mapped read+write only is executable, as the
 * kernel makes it. pkey_mprotect. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

static sigjmp_buf back;
static uintptr_t want;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
  (void)uc;
  printf("  signal %d code %d at the page: %s\n", sig, si->si_code,
         (uintptr_t)si->si_addr == want ? "yes" : "no");
  siglongjmp(back, 1);
}

/* Call the function at p (returns its own number), or report the signal. */
static void call(const char *what, uint8_t *p)
{
  printf("%s:\n", what);
  want = (uintptr_t)p;
  if (sigsetjmp(back, 1)) return;
  int r = ((int (*)(void))p)();
  printf("  returned %d\n", r);
}

/* mov eax, n; ret */
static void put(uint8_t *p, int n)
{
  uint8_t code[] = { 0xb8, (uint8_t)n, 0, 0, 0, 0xc3 };
  memcpy(p, code, sizeof code);
}

int main(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  long pg = sysconf(_SC_PAGESIZE);
  uint8_t *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (int i = 0; i < 3; i++) put(m + i * pg, i + 1);
  call("read+write, first page", m);
  mprotect(m + pg, pg, PROT_READ | PROT_EXEC);
  call("middle page made executable", m + pg);
  call("first page, still read+write", m);
  call("last page, still read+write", m + 2 * pg);
  mprotect(m, pg, PROT_READ | PROT_EXEC);
  call("first page made executable", m);
  mprotect(m, 2 * pg, PROT_READ);
  call("first page made read-only", m);
  call("middle page made read-only", m + pg);
  munmap(m + pg, pg);
  call("middle page unmapped", m + pg);
  uint8_t *again = mmap(m + pg, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  put(again, 7);
  call("middle page mapped again, executable", again);
  mprotect(m, 3 * pg, PROT_READ | PROT_WRITE | PROT_EXEC);
  call("all three executable: first", m);
  call("all three executable: last", m + 2 * pg);
  munmap(m, 3 * pg);

  int old = personality(0xffffffff);
  personality(old | READ_IMPLIES_EXEC);
  uint8_t *r = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  put(r, 9);
  call("READ_IMPLIES_EXEC: read+write mapping", r);
  mprotect(r, pg, PROT_READ);
  call("READ_IMPLIES_EXEC: made read-only", r);
  personality(old);
  mprotect(r, pg, PROT_READ);
  call("personality back: read-only again", r);
  /* pkey_mprotect with no key (-1) is mprotect */
  uint8_t *k = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  put(k, 11);
  printf("pkey_mprotect: %ld\n", syscall(SYS_pkey_mprotect, k, pg, PROT_READ | PROT_EXEC, -1));
  call("pkey_mprotect made it executable", k);
  return 0;
}
