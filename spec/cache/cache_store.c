/* A store into a translated copy of the program's own code: cache_store
 * handler|die.
 * marker() is one instruction with a unique 64-bit immediate, then ret.
 * The program runs it, then looks for those 10 bytes in every executable
 * mapping but its own text: under lurk that finds marker's translated copy
 * in the code cache; natively nothing, and the target is marker itself.
 * Either way it stores to the target the byte already there:
 *   handler  a SIGSEGV handler prints the fault (si_code, si_addr) and the
 *            program exits 0; "stored" (exit 1) if the store went through.
 *   die      no handler: the process dies of the SIGSEGV.
 * stdout is the same natively and under lurk; stderr says which target
 * ("target: copy" or "target: original"). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t marker(void);
__asm__(".text\n.globl marker\n.type marker,@function\nmarker:\n"
        "  movabs $0x5a17c0de5eed1e55, %rax\n  ret\n");

static volatile uint8_t *target;
static sigjmp_buf jb;

/* The fault: what natively a store to code gives. */
static void on_segv(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  printf("signal %d, %s, at the target: %s\n", sig,
         si->si_code == SEGV_ACCERR ? "SEGV_ACCERR" : si->si_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other code",
         (void *)si->si_addr == (void *)target ? "yes" : "no");
  siglongjmp(jb, 1);
}

/* marker's bytes in an executable mapping other than [own_lo, own_hi). */
static volatile uint8_t *find_copy(const uint8_t *pat, size_t n) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  volatile uint8_t *found = NULL;
  while (f && !found && fgets(line, sizeof line, f)) {
    uintptr_t lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
    if (perms[0] != 'r' || perms[2] != 'x') continue;
    if ((uintptr_t)marker >= lo && (uintptr_t)marker < hi) continue; /* the original */
    if (strstr(line, "[vsyscall]")) continue;
    void *m = memmem((void *)lo, hi - lo, pat, n);
    if (m) found = m;
  }
  if (f) fclose(f);
  return found;
}

int main(int argc, char **argv) {
  int die = argc > 1 && strcmp(argv[1], "die") == 0;
  uint64_t sum = 0;
  for (int i = 0; i < 1000; i++) sum += marker(); /* translated, and run from the cache */
  uint8_t pat[10];
  memcpy(pat, (const void *)marker, sizeof pat);
  target = find_copy(pat, sizeof pat);
  fprintf(stderr, "target: %s\n", target ? "copy" : "original");
  if (!target) target = (volatile uint8_t *)(uintptr_t)marker;
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("marker ran (%llx)\n", (unsigned long long)(sum == 1000 * marker() ? marker() : 0));
  if (!die) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(jb, 1)) return marker() == 0x5a17c0de5eed1e55ull ? 0 : 3;
  }
  *target = *target; /* the byte that is there: a store that succeeds changes nothing */
  printf("stored\n");
  return 1;
}
