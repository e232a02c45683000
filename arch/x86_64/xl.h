/* lurk: x86-64 translation records — how to get the app's state back at a
** cache pc (written by tr.c, read by signal.c). One record per stretch of
** a block's code, sorted by cache offset; a record holds from its offset
** to the next one's.
*/
#ifndef LURK_ARCH_XL_H
#define LURK_ARCH_XL_H
#include <stdint.h>

enum {
  XL_LINEAR, /* verbatim copies: app pc = aoff + (cache offset - coff) */
  XL_AT,     /* the app state is whole, before the instruction at aoff */
  XL_RCX,    /* as XL_AT, but the app's rcx is in gs:TLS_SPILL_RCX */
  XL_SCR,    /* as XL_AT, but the app's `reg` is in gs:TLS_SPILL_SCR */
  XL_RCXRDX, /* as XL_AT, but rcx and rdx in gs:TLS_SPILL_RCX/RDX (rseq commit) */
  XL_NONE,   /* mid-sequence (lookup, call push, exit stub): not whole */
  XL_HCSAVE  /* as XL_AT, but the registers in `mask` are in their compiled
                handlers' save slots, gs:TLS_HC_SAVE, and with `reg` 1 the
                status flags in slot 16 as lahf and seto left them (hc.c:
                left saved across app instructions that do not touch them) */
};

/* In a block with clean calls or edits, every record past the block's
** first instruction holds for faults only: an asynchronous signal waits
** for the next block start, so instrumentation before an instruction never
** runs twice for one execution of it. */
#define XL_F_FAULT 0x80

struct xl_rec {
  uint16_t coff, aoff;
  uint8_t kind, reg;
  uint16_t mask;            /* XL_HCSAVE: the registers (bit per hardware number) */
};

struct arch_tls;
/* The x87 FIP of xsave64 image x as the program would see it: the app pc
** of the cache copy the CPU ran, or 0 if it is not a cache pc (signal.c). */
uint64_t arch_fip_app(const uint8_t *x, const struct arch_tls *tls);
/* The x87 last opcode (FOP: the escape byte's low 3 bits, then the ModRM
** byte) of the app's x87 instruction at pc, as the CPU records it with FIP
** (the two describe the same instruction); -1 if it cannot be read. A copy whose operand lurk rewrote (rip-relative
** with --far-cache, fs where mangled) has another ModRM (signal.c). */
int arch_fop_app(uint64_t pc);
/* Copy up to max app bytes at pc into buf: as many as are readable from pc
** on (one copy when all are); returns the count (signal.c). */
size_t arch_fetch_app(uint8_t *buf, uint64_t pc, size_t max);
/* Is the CPU an AMD (or Hygon) one? Their x87 pointers and far branches
** differ from Intel's (emul.c). */
int arch_cpu_amd(void);
/* Does the instruction (a ZydisDecodedInstruction) store the x87 FIP:
** fnstenv, fnsave, fxsave, the xsave family (x87.c)? */
int arch_x87_saves(const void *in);

#endif
