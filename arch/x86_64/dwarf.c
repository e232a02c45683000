/* lurk: x86-64 DWARF register numbering for the unwinder (engine/sym_unwind.c). */
#include "../arch.h"

/* DWARF number -> arch_mctx slot: rax rdx rcx rbx rsi rdi rbp rsp r8..r15. */
static const uint8_t dwarf_slot[16] = {
  MCTX_RAX, MCTX_RDX, MCTX_RCX, MCTX_RBX, MCTX_RSI, MCTX_RDI, MCTX_RBP, MCTX_RSP,
  MCTX_R8, MCTX_R9, MCTX_R10, MCTX_R11, MCTX_R12, MCTX_R13, MCTX_R14, MCTX_R15,
};

void arch_dwarf_regs(const struct arch_mctx *m, uint64_t r[ARCH_DWARF_NREGS])
{
  for (int i = 0; i < 16; i++) r[i] = m->gpr[dwarf_slot[i]];
  r[ARCH_DWARF_RA] = 0;
}
