/* Code injected on an executable stack (built with -z execstack): a stack
 * buffer overflow overwrites vuln's return address with the address of
 * the buffer, which holds the shellcode. shepherd: origin (the return's
 * target is stack memory). */
#include "common.h"

static char *leak_buf;     /* the info leak: where buf is, where its frame's return address is */
static void **leak_slot;

/* The bug: copies n bytes of input into a 64-byte buffer. */
__attribute__((noinline)) static int vuln(const unsigned char *in, size_t n) {
  char buf[64];
  leak_buf = buf;
  leak_slot = (void **)__builtin_frame_address(0) + 1;
  memcpy(buf, in, n);
  return (int)n;
}

int main(int argc, char **argv) {
  int attack = attack_mode(argc, argv);
  vuln((const unsigned char *)"hello", 6);     /* learns the layout */
  if (attack) {
    size_t off = (size_t)((char *)leak_slot - leak_buf);
    unsigned char *in = calloc(1, off + 8);
    memcpy(in, shellcode, sizeof shellcode);
    memcpy(in + off, &leak_buf, 8);            /* return into buf */
    vuln(in, off + 8);
  } else {
    vuln((const unsigned char *)"benign input", 13);
  }
  puts("execstack: done");
  return 0;
}
