/* The program tries to write lurk's own memory, as an exploit that has
 * found it would: engine_write TARGET METHOD.
 *   TARGET  cache      an anonymous executable mapping the program did not
 *                      make (lurk's code cache)
 *           lurkdata   liblurk.so's writable data
 *           lurktext   liblurk.so's code
 *           ibltable   the indirect-branch lookup's table: found by its
 *                      contents (pairs, most of whose second words are
 *                      one address in liblurk.so's code: the empty slot's)
 *           tlsblock   a thread block's read-only page: anonymous or shared
 *                      memory whose first quad is its own address
 *   METHOD  store      a plain store
 *           mprotect   mprotect(page, its protection | PROT_WRITE)
 *           vmwritev   process_vm_writev into itself
 *           procmem    pwrite to /proc/self/mem (writes even read-only pages)
 *           procmemat  the same, opened as "./mem" relative to /proc/self
 * Each write puts back the byte that is there, so a write that succeeds
 * changes nothing. Prints "TARGET METHOD: written", "...: faulted (signal
 * N)", "...: refused (error text)", or "TARGET: not found" (natively:
 * there is no lurk). The targets are found in /proc/self/maps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

static sigjmp_buf fault_jb;
static volatile int fault_sig;

/* A write fault: back to the attempt. */
static void on_fault(int sig) {
  fault_sig = sig;
  siglongjmp(fault_jb, 1);
}

/* The first mapping of /proc/self/maps that fits target: its start and
 * protection; 0 when there is none. */
static uintptr_t find(const char *target, int *prot) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  uintptr_t found = 0;
  while (f && !found && fgets(line, sizeof line, f)) {
    uintptr_t lo, hi;
    char perms[8], path[400] = "";
    unsigned long off, inode;
    if (sscanf(line, "%lx-%lx %7s %lx %*s %lu %399s", &lo, &hi, perms, &off, &inode, path) < 5) continue;
    int p = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
            (perms[2] == 'x' ? PROT_EXEC : 0);
    int lurk = strstr(path, "liblurk") != NULL;
    /* the cache: executable, from no file (one anonymous mapping, or the
     * RX view of shared memory, shown as /dev/zero) */
    int anon = (inode == 0 && path[0] == 0) || strcmp(path, "/dev/zero") == 0;
    if ((strcmp(target, "cache") == 0 && anon && (p & PROT_EXEC)) ||
        (strcmp(target, "lurkdata") == 0 && lurk && (p & PROT_WRITE)) ||
        (strcmp(target, "lurktext") == 0 && lurk && (p & PROT_EXEC))) {
      found = lo;
      *prot = p;
    }
  }
  if (f) fclose(f);
  return found;
}

/* The start of a mapping whose first 64 pairs all have the same second
 * word, an address inside [text_lo, text_hi); 0 when there is none. */
static uintptr_t find_table(uintptr_t text_lo, uintptr_t text_hi) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  uintptr_t found = 0;
  while (f && !found && fgets(line, sizeof line, f)) {
    uintptr_t lo, hi;
    char perms[8], path[400] = "";
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %399s", &lo, &hi, perms, path) < 3) continue;
    if (perms[0] != 'r' || perms[2] == 'x' || hi - lo < 4096) continue;
    if (path[0] && strcmp(path, "/dev/zero") != 0) continue;
    /* most of the first 64 pairs are empty: their value is the empty one */
    const uint64_t *q = (const uint64_t *)lo;
    for (int k = 0; k < 4 && !found; k++) {
      uint64_t v = q[2 * k + 1];
      int same = 0;
      for (int i = 0; i < 64; i++) same += q[2 * i + 1] == v;
      if (v >= text_lo && v < text_hi && same >= 32) found = lo;
    }
  }
  if (f) fclose(f);
  return found;
}

/* A page of anonymous or shared memory (up to 256 MiB mappings: not a
 * tool's shadow reservation) whose first quad is its address; 0 when none. */
static uintptr_t find_self_page(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  uintptr_t found = 0;
  while (f && !found && fgets(line, sizeof line, f)) {
    uintptr_t lo, hi;
    char perms[8], path[400] = "";
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %399s", &lo, &hi, perms, path) < 3) continue;
    if (perms[0] != 'r' || hi - lo > (256ul << 20)) continue;
    if (path[0] && strcmp(path, "/dev/zero") != 0) continue;
    for (uintptr_t p = lo; p < hi && !found; p += 4096)
      if (*(volatile uint64_t *)p == p) found = p;
  }
  if (f) fclose(f);
  return found;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s cache|lurkdata|lurktext|ibltable|tlsblock store|mprotect|vmwritev|procmem|procmemat\n", argv[0]);
    return 2;
  }
  const char *target = argv[1], *method = argv[2];
  int prot = 0;
  uintptr_t a;
  if (strcmp(target, "ibltable") == 0) {
    uintptr_t t = find("lurktext", &prot), hi = t;
    /* liblurk.so's code: from its executable mapping's start to its end */
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (t && f && fgets(line, sizeof line, f)) {
      uintptr_t lo, h;
      if (sscanf(line, "%lx-%lx", &lo, &h) == 2 && lo == t) hi = h;
    }
    if (f) fclose(f);
    a = t ? find_table(t, hi) : 0;
    prot = PROT_READ;
  } else if (strcmp(target, "tlsblock") == 0) {
    a = find_self_page();
    prot = PROT_READ;
  } else {
    a = find(target, &prot);
  }
  if (!a) {
    printf("%s: not found\n", target);
    return 0;
  }
  volatile unsigned char *p = (volatile unsigned char *)a;
  unsigned char byte = *p;
  int r = 0;
  signal(SIGSEGV, on_fault);
  signal(SIGBUS, on_fault);
  setvbuf(stdout, NULL, _IONBF, 0);
  if (sigsetjmp(fault_jb, 1)) {
    printf("%s %s: faulted (signal %d)\n", target, method, fault_sig);
    return 0;
  }
  if (strcmp(method, "store") == 0) {
    *p = byte;
  } else if (strcmp(method, "mprotect") == 0) {
    r = mprotect((void *)a, 4096, prot | PROT_WRITE);
  } else if (strcmp(method, "vmwritev") == 0) {
    struct iovec local = { &byte, 1 }, remote = { (void *)a, 1 };
    r = process_vm_writev(getpid(), &local, 1, &remote, 1, 0) == 1 ? 0 : -1;
  } else if (strcmp(method, "procmem") == 0) {
    int fd = open("/proc/self/mem", O_RDWR);
    r = fd < 0 ? -1 : pwrite(fd, &byte, 1, (off_t)a) == 1 ? 0 : -1;
  } else if (strcmp(method, "procmemat") == 0) {
    int dir = open("/proc/self", O_RDONLY | O_DIRECTORY);
    int fd = dir < 0 ? -1 : openat(dir, "./mem", O_RDWR);
    r = fd < 0 ? -1 : pwrite(fd, &byte, 1, (off_t)a) == 1 ? 0 : -1;
  } else {
    fprintf(stderr, "unknown method %s\n", method);
    return 2;
  }
  if (r != 0) printf("%s %s: refused (%s)\n", target, method, strerror(errno));
  else printf("%s %s: written\n", target, method);
  return 0;
}
