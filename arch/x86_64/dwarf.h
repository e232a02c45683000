/* lurk: what the symbol and unwinding code (engine/sym*) needs to know of
** x86-64: DWARF register numbers (SysV psABI, figure 3.36) and the ELF
** relocations it reads (an IFUNC's slot, address-taken functions).
*/
#ifndef LURK_ARCH_X86_64_DWARF_H
#define LURK_ARCH_X86_64_DWARF_H
#include <stdint.h>

#define ARCH_DWARF_NREGS 17  /* rax..r15, then the return address column */
#define ARCH_DWARF_SP 7
#define ARCH_DWARF_FP 6
#define ARCH_DWARF_RA 16
#define ARCH_R_IRELATIVE 37  /* R_X86_64_IRELATIVE */
/* Relocations whose targets are addresses taken (sym_module_addr_taken). */
#define ARCH_R_ABS64 1       /* R_X86_64_64: S + A */
#define ARCH_R_GLOB_DAT 6    /* R_X86_64_GLOB_DAT: S */
#define ARCH_R_JUMP_SLOT 7   /* R_X86_64_JUMP_SLOT: S */
#define ARCH_R_RELATIVE 8    /* R_X86_64_RELATIVE: B + A */

struct arch_mctx;
/* The general registers of m by DWARF number into r[0..15] (r[16] unset). */
void arch_dwarf_regs(const struct arch_mctx *m, uint64_t r[ARCH_DWARF_NREGS]);

#endif
