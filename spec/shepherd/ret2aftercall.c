/* A return overwrite whose target IS the instruction after a call: vuln's
 * return address is replaced with the point in login() right after its
 * call to check_password(), so login goes on as if the password had been
 * right. The after-call rule (the default) cannot see it; the exact
 * shadow stack (--shadow-stack) can. shepherd --shadow-stack: return. */
#include "common.h"

static char *leak_buf;
static void **leak_slot;

__attribute__((noinline)) static int check_password(void) { return 0; }

/* Logs in when the password is right. */
__attribute__((noinline)) static void login(void) {
  volatile int ok = check_password();
  if (ok) { write(1, "PWNED\n", 6); _exit(42); }
  puts("login: wrong password");
}

/* The bug: copies n bytes of input into a 64-byte buffer; returns n. */
__attribute__((noinline)) static int vuln(const char *in, size_t n) {
  char buf[64];
  leak_buf = buf;
  leak_slot = (void **)__builtin_frame_address(0) + 1;
  memcpy(buf, in, n);
  return (int)n;
}

/* The address right after login's call to check_password (what an
 * attacker reads off the binary). */
static void *after_call(void) {
  const unsigned char *p = (const unsigned char *)login;
  for (int i = 0; i < 64; i++) {
    int32_t rel;
    memcpy(&rel, p + i + 1, 4);
    if (p[i] == 0xe8 && p + i + 5 + rel == (const unsigned char *)check_password) return (void *)(p + i + 5);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int attack = attack_mode(argc, argv);
  vuln("hello", 6);
  if (attack) {
    size_t off = (size_t)((char *)leak_slot - leak_buf);
    char *in = calloc(1, off + 8);
    void *frame[2] = { leak_buf + 32, after_call() };   /* saved rbp (in buf), return address */
    memcpy(in + off - 8, frame, sizeof frame);
    vuln(in, off + 8);
  } else {
    vuln("benign", 7);
    login();
  }
  puts("ret2aftercall: done");
  return 0;
}
