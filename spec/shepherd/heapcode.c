/* Code written into the heap and called through a function pointer. The
 * program keeps its records in an executable heap arena (as programs that
 * build trampolines on the heap do: it mprotects the arena RWX at start);
 * a heap overflow of a record's name overwrites the record's handler
 * pointer with the address of the name, which holds the shellcode.
 * shepherd: syscall (the mprotect, default policy); with a policy that
 * allows it (heapcode.policy), origin (the call's target is heap code). */
#include "common.h"
#include <sys/mman.h>

struct record {
  char name[64];
  void (*handler)(struct record *);
};

/* The benign handler. */
static void greet(struct record *r) { printf("hello, %s\n", r->name); }

/* The bug: copies n bytes of input into the 64-byte name. */
__attribute__((noinline)) static void set_name(struct record *r, const unsigned char *in, size_t n) {
  memcpy(r->name, in, n);
}

int main(int argc, char **argv) {
  int attack = attack_mode(argc, argv);
  long pg = sysconf(_SC_PAGESIZE);
  char *arena = malloc(4 * pg);
  char *page = (char *)(((uintptr_t)arena + pg - 1) & ~(uintptr_t)(pg - 1));
  if (mprotect(page, 2 * pg, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) { perror("mprotect"); return 1; }
  struct record *r = (struct record *)page;
  r->handler = greet;
  if (attack) {
    unsigned char in[72];
    memset(in, 0x90, sizeof in);
    memcpy(in, shellcode, sizeof shellcode);
    void *target = r->name;                  /* the leak: where the record is */
    memcpy(in + 64, &target, 8);
    set_name(r, in, sizeof in);
  } else {
    set_name(r, (const unsigned char *)"world", 6);
  }
  r->handler(r);
  puts("heapcode: done");
  return 0;
}
