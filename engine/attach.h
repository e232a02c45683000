/* lurk: attaching to a running process (lurk attach PID). The launcher
** (engine/attach_client.c) stops every thread with ptrace, maps liblurk.so
** with a remote call of the process's dlopen, then makes remote calls of
** lurk_attach (arch attach.S -> attach.c): once to start the engine, once
** per thread to take it over. Each call gets one record, written by the
** launcher into memory it mapped in the process; the call ends with a
** breakpoint trap the launcher waits for. See docs/architecture.md,
** "Attaching".
*/
#ifndef LURK_ATTACH_H
#define LURK_ATTACH_H
#include <stdint.h>

#define ATTACH_MAGIC 0x6c75726b61747461ull /* "lurkatta" */
#define ATTACH_XSAVE 4096                  /* >= TLS_XSAVE_SIZE */

enum { ATTACH_INIT = 1, ATTACH_THREAD = 2 };

/* x86-64 registers in the kernel's struct user_regs_struct order. */
enum { AR_R15, AR_R14, AR_R13, AR_R12, AR_RBP, AR_RBX, AR_R11, AR_R10, AR_R9, AR_R8,
       AR_RAX, AR_RCX, AR_RDX, AR_RSI, AR_RDI, AR_ORIG_RAX, AR_RIP, AR_CS, AR_EFLAGS,
       AR_RSP, AR_SS, AR_FS_BASE, AR_GS_BASE, AR_DS, AR_ES, AR_FS, AR_GS, AR_NREGS };

struct attach_rec {
  uint64_t magic;
  uint32_t kind;            /* ATTACH_INIT or ATTACH_THREAD */
  int32_t status;           /* out: 0, or why it failed (msg) */
  uint64_t regs[AR_NREGS];  /* THREAD: where the thread goes on (restart applied) */
  uint64_t sigmask;         /* THREAD: the app's signal mask, restored at the end */
  uint64_t opts;            /* INIT: the options (opt.h encoding, NUL-terminated) */
  uint64_t environ_at;      /* INIT: address of the app's `environ` (char **), or 0 */
  char msg[240];            /* out: an error message */
  uint8_t xsave[ATTACH_XSAVE] __attribute__((aligned(64))); /* filled by the entry */
};

/* Engine side (inj.c): lurk's output fd, as at takeover; has the engine
** started in this process (by takeover or attach)? */
void inj_output(void);
extern int inj_started;

#endif
