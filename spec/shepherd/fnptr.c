/* A function-pointer overwrite that lands in the middle of a function:
 * an overflow of a session's name replaces its callback with an address
 * inside admin(), past its permission check. shepherd: call (the
 * indirect call's target is not a function entry). */
#include "common.h"

struct session {
  char name[32];
  void (*callback)(int);
};

/* Privileged: only for authorized callers. */
__attribute__((noinline)) void admin(int authorized) {
  if (authorized != 0x5eC2e7) return;
  __asm__ volatile(".globl admin_unchecked\nadmin_unchecked:");
  write(1, "PWNED\n", 6);
  _exit(42);
}
extern char admin_unchecked[];

/* The benign callback. */
static void hello(int n) { printf("hello %d\n", n); }

/* The callbacks a session may have: a table in data (built stripped and
 * without unwind tables, only the table's relocation, or in a non-PIE
 * program the pointer in its data, says hello is a function entry). */
static void (*const callbacks[])(int) = { hello };

/* The bug: copies n bytes of input into the 32-byte name. */
__attribute__((noinline)) static void set_name(struct session *s, const char *in, size_t n) {
  memcpy(s->name, in, n);
}

int main(int argc, char **argv) {
  int attack = attack_mode(argc, argv);
  struct session *s = malloc(sizeof *s);
  s->callback = callbacks[argc - 2];
  if (attack) {
    char in[40];
    memset(in, 'A', sizeof in);
    void *t = admin_unchecked;
    memcpy(in + 32, &t, 8);
    set_name(s, in, sizeof in);
  } else {
    set_name(s, "guest", 6);
  }
  s->callback(1);
  puts("fnptr: done");
  return 0;
}
