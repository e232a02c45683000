/* Guarded checks and their validated targets (spec/shepherd_spec.lua,
 * "shepherd's guards"). shepherd validates a target once per kind of
 * transfer; these modes check that a validation for one kind does not
 * carry over to another, and that a validated target is checked again
 * once the code there is gone.
 *
 *   kinds:    a direct call to helper returns to after_call (a valid
 *             return target, validated), then an indirect call goes to
 *             after_call: not a function entry, a call violation
 *   unload:   an indirect call into libreval_lib.so's entry (valid,
 *             validated), dlclose, anonymous code mapped where that entry
 *             was, the same indirect call again: the code is not from a
 *             module (origin); natively it prints 9 where lib_fn printed 7
 *   benign:   the calls of "kinds" without the bad one
 *   loop:     100000 indirect calls to helper and returns to after_call:
 *             validated once, they do not reach the guards' handlers again
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void site(void);
extern char after_call[];
__asm__(".text\n"
        ".globl helper\n.type helper,@function\nhelper:\n  ret\n"
        ".globl site\n.type site,@function\nsite:\n  call helper\n"
        ".globl after_call\nafter_call:\n  ret\n");

static int unload(const char *lib)
{
  void *h = dlopen(lib, RTLD_NOW);
  if (!h) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
  int (*volatile fp)(void) = (int (*)(void))dlsym(h, "lib_fn");
  printf("lib_fn: %d\n", fp());
  unsigned long page = (unsigned long)fp & ~4095ul;
  dlclose(h);
  /* mov eax, 9; ret -- where lib_fn was */
  static const unsigned char code[] = { 0xb8, 9, 0, 0, 0, 0xc3 };
  unsigned char *m = mmap((void *)page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (m == MAP_FAILED) { perror("mmap"); return 2; }
  memcpy((unsigned char *)fp, code, sizeof code);
  printf("again: %d\n", fp());
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 2) return 2;
  if (!strcmp(argv[1], "unload")) return unload(argc > 2 ? argv[2] : "./libreval_lib.so");
  site();
  site();
  if (!strcmp(argv[1], "kinds")) {
    void (*volatile fp)(void) = (void (*)(void))after_call;
    fp();
  } else if (!strcmp(argv[1], "loop")) {
    void (*volatile fp)(void) = site;
    for (int i = 0; i < 100000; i++) fp();
  } else if (strcmp(argv[1], "benign")) return 2;
  puts("done");
  return 0;
}
