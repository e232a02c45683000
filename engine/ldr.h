/* lurk: the ELF loader of early injection (--early). lurk maps the program
** and its interpreter itself, as the kernel's execve would, builds the
** initial stack the kernel would build, and the app's first instruction is
** the interpreter's entry (or the program's, for a static one). The heap
** break of the app is emulated (the process's real break is the launcher's).
*/
#ifndef LURK_LDR_H
#define LURK_LDR_H
#include "lurk.h"

struct ldr_image {
  uint64_t entry;       /* AT_ENTRY: the program's entry point */
  uint64_t phdr, phnum; /* AT_PHDR, AT_PHNUM */
  uint64_t interp_base; /* AT_BASE: the interpreter's load address, 0 without one */
  uint64_t start;       /* first app pc: the interpreter's entry, or entry */
  uint64_t lo, hi;      /* the program's extent */
  uint64_t ilo, ihi;    /* the interpreter's extent (0, 0 without one) */
  uint64_t brk;         /* where the app's heap break starts */
  int exec_stack;       /* PT_GNU_STACK asks for an executable stack */
};

/* Map path (and its PT_INTERP). 0, or -1 with a message in err. */
int ldr_load(const char *path, struct ldr_image *img, char *err, size_t errlen);
/* Build the kernel's initial stack below top; returns the app's rsp. */
uint64_t ldr_stack(uint64_t top, const struct ldr_image *img, const char *execfn,
                   char *const argv[], char *const envp[]);
/* PT_GNU_STACK said PF_X: the stack sp is in becomes executable, as the
** kernel makes it for such a program. */
void ldr_exec_stack(uint64_t sp);
/* The end of the mapping that holds addr (the stack's top), or 0. */
uint64_t ldr_stack_end(uint64_t addr);
/* The program's canonical path: what /proc/self/exe says natively. */
extern char ldr_exe[4096];
/* 1: the kernel's /proc/self/exe is the program already (ldr_commit). */
extern int ldr_exe_kernel;
/* Tell the kernel about the image (prctl PR_SET_MM_MAP, allowed without
** privileges): its argv, envp and auxv (/proc/self/cmdline, environ,
** auxv), its heap break (brk and [heap] are then the kernel's own), code
** and data; and /proc/self/exe where the process may change it. 0 when
** the kernel refused (the break is emulated), 1 done, 2 with exe. */
int ldr_commit(void);
/* 1 once ldr_load ran: the app's brk is ldr_brk's; 2 after ldr_commit
** moved the kernel's break (brk is the kernel's). */
extern int ldr_active;
/* The app's brk(req): the new break, or the old one when it cannot move. */
uint64_t ldr_brk(uint64_t req);

#endif
