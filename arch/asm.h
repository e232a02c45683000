/* lurk: instruction encoding from arch-neutral requests (lurk.asm's back
** end). The Lua side parses text into a struct asm_req; arch/<arch>/asm.c
** encodes it. Registers and mnemonics are the arch ids of arch/insn.h.
*/
#ifndef LURK_ARCH_ASM_H
#define LURK_ARCH_ASM_H
#include "insn.h"

#define ASM_MAX_OPNDS 5

/* Prefixes (bit set). ORDER ASM_PREFIX (asm.c's table) */
enum {
  ASM_P_LOCK = 1u << 0, ASM_P_REP = 1u << 1, ASM_P_REPE = 1u << 2, ASM_P_REPNE = 1u << 3,
  ASM_P_BND = 1u << 4, ASM_P_XACQUIRE = 1u << 5, ASM_P_XRELEASE = 1u << 6,
  ASM_P_NOTRACK = 1u << 7
};

struct asm_opnd {
  uint8_t kind;             /* INSN_OPND_REG, IMM, MEM, PTR */
  uint8_t rip_abs;          /* MEM, base rip: disp is the absolute target */
  uint16_t size;            /* MEM: bits (0: let the encoder choose) */
  uint16_t reg;             /* REG */
  uint16_t base, index, seg;/* MEM: register ids, 0 = none */
  uint8_t scale;
  int64_t disp;
  uint64_t imm;             /* IMM (a branch's is its absolute target) */
  uint16_t ptr_seg;         /* PTR */
  uint32_t ptr_off;
};

struct asm_req {
  uint16_t mnemonic;
  uint8_t nopnds;
  uint8_t zeroing;          /* AVX-512 {z} */
  uint8_t broadcast;        /* AVX-512 {1toN}: N (0: none) */
  uint8_t rounding;         /* AVX-512 {rn,rd,ru,rz-sae}: 1..4 (0: none) */
  uint8_t sae;              /* AVX-512 {sae} */
  uint8_t far;              /* far branch */
  uint32_t prefixes;        /* ASM_P_* */
  struct asm_opnd op[ASM_MAX_OPNDS];
};

/* Encode r as if at pc into out[INSN_MAX_BYTES]; *len its length.
** LURK_OK or LURK_ERR(ENCODE) (no such form, or out of reach). */
lurk_status asm_encode(const struct asm_req *r, uint64_t pc, uint8_t *out, unsigned *len);
/* Arch ids by name ("add", "rax"); 0 if unknown. */
uint16_t asm_mnemonic_id(const char *name);
uint16_t asm_reg_id(const char *name);

#endif
