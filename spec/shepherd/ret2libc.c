/* ret2libc through an overwritten return address (no executable stack):
 * a stack buffer overflow replaces vuln's return address with a `ret`
 * (to align the stack) and then libc's system(), whose argument (rdi)
 * still points at the input, which starts with the command.
 * shepherd: return (the target is not the instruction after a call). */
#include "common.h"

static char *leak_buf;
static void **leak_slot;

/* Logs the input (not yet); leaves rdi pointing at it (built at -O0). */
__attribute__((noinline)) static void log_input(const char *p) { (void)p; }

/* A function whose last instruction is the `ret` the chain uses. */
__attribute__((noinline)) static void tail(void) { __asm__ volatile(".globl r2l_ret\nr2l_ret: ret"); }
extern char r2l_ret[];

/* The bug: copies n bytes of input into a 64-byte buffer. */
__attribute__((noinline)) static void vuln(const char *in, size_t n) {
  char buf[64];
  leak_buf = buf;
  leak_slot = (void **)__builtin_frame_address(0) + 1;
  memcpy(buf, in, n);
  log_input(in);
}

int main(int argc, char **argv) {
  int attack = attack_mode(argc, argv);
  vuln("hello", 6);
  if (argc > 2) tail();          /* never: its `ret` is only a gadget */
  if (attack) {
    size_t off = (size_t)((char *)leak_slot - leak_buf);
    char *in = calloc(1, off + 16);
    strcpy(in, "echo PWNED; exit 0 #");
    void *chain[2] = { r2l_ret, (void *)system };
    memcpy(in + off, chain, sizeof chain);
    vuln(in, off + 16);
  } else {
    vuln("benign", 7);
  }
  puts("ret2libc: done");
  return 0;
}
