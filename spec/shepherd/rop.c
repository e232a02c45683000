/* A return-oriented chain (no executable stack): the overflow replaces
 * vuln's return address with a chain of gadgets (`pop rdi; ret` found in
 * the binary, then libc's puts and exit) that prints the marker.
 * shepherd: return (the first gadget is not after a call). */
#include "common.h"

static char *leak_buf;
static void **leak_slot;
static const char marker[] = "PWNED";

/* The binary's gadgets (as compilers leave them in real code). */
__attribute__((noinline)) static void gadgets(void) {
  __asm__ volatile(".globl g_pop_rdi\ng_pop_rdi: pop %rdi\nret\n.globl g_ret\ng_ret: ret");
}
extern char g_pop_rdi[], g_ret[];

/* The bug: copies n bytes of input into a 64-byte buffer. */
__attribute__((noinline)) static void vuln(const char *in, size_t n) {
  char buf[64];
  leak_buf = buf;
  leak_slot = (void **)__builtin_frame_address(0) + 1;
  memcpy(buf, in, n);
}

int main(int argc, char **argv) {
  int attack = attack_mode(argc, argv);
  vuln("hello", 6);
  if (argc > 2) gadgets();       /* never: only gadgets */
  if (attack) {
    size_t off = (size_t)((char *)leak_slot - leak_buf);
    void *chain[] = { g_pop_rdi, (void *)marker, g_ret, (void *)puts,
                      g_pop_rdi, (void *)42, (void *)exit };
    char *in = calloc(1, off + sizeof chain);
    memcpy(in + off, chain, sizeof chain);
    setvbuf(stdout, NULL, _IONBF, 0);
    vuln(in, off + sizeof chain);
  } else {
    vuln("benign", 7);
  }
  puts("rop: done");
  return 0;
}
