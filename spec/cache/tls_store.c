/* Stores into the read-only page of lurk's thread blocks: tls_store
 * handler|die.
 * A thread block (the gs segment, arch/x86_64/target.h) starts with a
 * pointer to itself. The program keeps a second thread alive, then looks
 * for every readable mapping whose first quad is its own address: under
 * lurk --preload that finds the blocks of both threads; natively nothing,
 * and the target is a page of its own text (read+execute). Either way it
 * stores, at each read-only field's offset (TLS_SELF ... TLS_GIBL_MISS),
 * the quad already there, and then at the first writable slot's offset
 * (TLS_EXIT_ID) of a writable page: a block's, or natively a static one.
 *   handler  a SIGSEGV handler notes each fault (si_code, si_addr) and
 *            resumes after the store; the program prints a summary and
 *            exits 0, or "stored" lines (exit 1) for stores that went through.
 *   die      no handler: the first store kills the process (SIGSEGV).
 * stdout is the same natively and under lurk; stderr says what was found
 * ("targets: N thread blocks" or "targets: own text"). */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../arch/x86_64/target.h"

static const int ro_fields[] = { TLS_SELF, TLS_W, TLS_RESUME, TLS_IBL_TABLE, TLS_IBL_MASK,
                                 TLS_DISP_ENTRY, TLS_ENGINE_SP, TLS_IBL_MISS, TLS_CC_ENTRY,
                                 TLS_XCR0_LO, TLS_XCR0_HI, TLS_SIG_PENDING, TLS_RSEQ_AREA,
                                 TLS_GUARD_TAB, TLS_GUARD_TAB + 16 * ARCH_GUARDS - 8, TLS_GIBL_MISS };
#define NRO (int)(sizeof ro_fields / sizeof ro_fields[0])

static volatile uint64_t *target;
static volatile int faults, wrong;
static sigjmp_buf jb;
static int gate[2];
static uint8_t data_page[2 * TLS_RO_SIZE] __attribute__((aligned(4096)));

static void on_segv(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (sig == SIGSEGV && si->si_code == SEGV_ACCERR && (void *)si->si_addr == (void *)target) faults++;
  else wrong++;
  siglongjmp(jb, 1);
}

static void *waiter(void *a) {
  char c;
  (void)a;
  if (read(gate[0], &c, 1) < 0) return NULL; /* alive until main is done */
  return NULL;
}

/* Up to max thread blocks: readable anonymous (or shared memory) mappings
 * whose first quad is their address (a file's data can be so too: __dso_handle). */
static int find_blocks(uintptr_t *out, int max) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  int n = 0;
  while (f && n < max && fgets(line, sizeof line, f)) {
    uintptr_t lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
    if (perms[0] != 'r') continue;
    char *path = strchr(line, '/'), *brk = strchr(line, '[');
    if (brk || (path && strncmp(path, "/dev/zero", 9))) continue; /* anonymous or shared memory only */
    if (*(volatile uint64_t *)lo == lo) out[n++] = lo;
  }
  if (f) fclose(f);
  return n;
}

/* Store the quad at p back to p; 1 if the store went through. */
static int store(uintptr_t p, int die) {
  target = (volatile uint64_t *)p;
  if (!die && sigsetjmp(jb, 1)) return 0;
  *target = *target;
  return 1;
}

int main(int argc, char **argv) {
  int die = argc > 1 && strcmp(argv[1], "die") == 0;
  pthread_t th;
  if (pipe(gate) || pthread_create(&th, NULL, waiter, NULL)) return 2;
  uintptr_t blocks[8];
  int n = find_blocks(blocks, 8);
  if (n) fprintf(stderr, "targets: %d thread blocks\n", n);
  else fprintf(stderr, "targets: own text\n");
  uintptr_t ro[8], rw[8];
  int nt = n ? n : 1;
  for (int i = 0; i < nt; i++) {
    ro[i] = n ? blocks[i] : ((uintptr_t)main & ~(uintptr_t)4095);
    rw[i] = n ? blocks[i] : (uintptr_t)data_page;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!die) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
  }
  int stored = 0;
  for (int i = 0; i < nt; i++)
    for (int k = 0; k < NRO; k++)
      if (store(ro[i] + ro_fields[k], die)) {
        printf("stored at read-only offset %d\n", ro_fields[k]);
        stored++;
      }
  int wrote = 0;
  for (int i = 0; i < nt; i++) wrote += store(rw[i] + TLS_EXIT_ID, die);
  printf("read-only fields: %s (%s)\n", stored ? "written" : "every store faulted",
         wrong ? "a fault with another code or address" : "SEGV_ACCERR at the address");
  printf("writable slot: %s\n", wrote == nt ? "written" : "faulted");
  if (write(gate[1], "x", 1) != 1 || pthread_join(th, NULL)) return 2;
  return stored ? 1 : 0;
}
