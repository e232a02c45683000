/* A value the program stores into its thread block's writable slots is
 * not taken for lurk's own: tls_forge.
 * Under lurk --preload it finds its thread block (a page of anonymous or
 * shared memory whose first quad is its address) and
 * stores into TLS_GUARD_DATA, the slot a guarded lookup's miss leaves its
 * site data in, the address of fake site data (guard number 7, of 4); then
 * it calls a function it never called before through a pointer, a lookup
 * miss. Natively the store goes to a static quad. Either way the program
 * prints what the call returned and exits 0. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "../../arch/x86_64/target.h"

static uint64_t fake[5] = { 0x1234, 0, 0, 0, 7 }; /* pc, lo, hi, delta, g */
static uint64_t native_slot;

static int __attribute__((noinline)) fresh(int x) { return x * 3 + 1; }
static int (*volatile fp)(int) = fresh;

static uintptr_t find_block(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  uintptr_t found = 0;
  while (f && !found && fgets(line, sizeof line, f)) {
    uintptr_t lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r') continue;
    char *path = strchr(line, '/'), *brk = strchr(line, '[');
    if (brk || (path && strncmp(path, "/dev/zero", 9))) continue;
    if (hi - lo > (256ul << 20)) continue; /* a tool's shadow reservation, not a block */
    for (uintptr_t p = lo; p < hi && !found; p += 4096) /* a block may share a mapping */
      if (*(volatile uint64_t *)p == p) found = p;
  }
  if (f) fclose(f);
  return found;
}

int main(void) {
  uintptr_t b = find_block();
  fprintf(stderr, "target: %s\n", b ? "thread block" : "static");
  volatile uint64_t *slot = b ? (volatile uint64_t *)(b + TLS_GUARD_DATA) : &native_slot;
  *slot = (uint64_t)(uintptr_t)fake;
  int r = fp(13);
  printf("the call returned %d\n", r);
  return 0;
}
