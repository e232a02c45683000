/* Module text written after load: the program makes its own text
 * writable (mprotect RWX: main shares the page), writes code over a
 * function, makes it
 * read-only again (RX) and calls it -- the code no longer comes from
 * the file. shepherd: origin (code in module text written since load). */
#include "common.h"
#include <sys/mman.h>

/* Long enough to hold the shellcode. */
__attribute__((noinline)) void victim(int n) {
  volatile int s = 0;
  for (int i = 0; i < n; i++) s += i * 3 + 1;
  for (int i = 0; i < n; i++) s ^= i << 2;
  printf("victim: %d\n", s);
}

int main(int argc, char **argv) {
  int attack = attack_mode(argc, argv);
  victim(10);
  if (attack) {
    long pg = sysconf(_SC_PAGESIZE);
    char *page = (char *)((uintptr_t)victim & ~(uintptr_t)(pg - 1));
    if (mprotect(page, 2 * pg, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) { perror("mprotect"); return 1; }
    memcpy((void *)victim, shellcode, sizeof shellcode);
    if (mprotect(page, 2 * pg, PROT_READ | PROT_EXEC) != 0) { perror("mprotect"); return 1; }
  }
  victim(5);
  puts("selfpatch: done");
  return 0;
}
