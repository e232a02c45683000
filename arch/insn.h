/* lurk: one decoded machine instruction, in arch-neutral terms.
** The inspection half of the instruction list: the Lua bindings and the
** engine see this struct; only arch/<arch>/insn.c knows the decoder.
** Registers and opcodes are arch ids (small integers) named by
** insn_reg_name() and insn_mnemonic(). An insn keeps its raw bytes and pc,
** so the arch side can always re-decode it (for text, or to re-encode it
** at another address); created instructions will carry their opcode,
** operand width and operands instead.
*/
#ifndef LURK_ARCH_INSN_H
#define LURK_ARCH_INSN_H
#include "../engine/lurk.h"

#define INSN_MAX_BYTES 15
#define INSN_MAX_OPNDS 10

/* Operand kinds. ORDER INSN_OPND */
enum insn_opnd_kind {
  INSN_OPND_NONE, INSN_OPND_REG, INSN_OPND_IMM, INSN_OPND_MEM, INSN_OPND_PTR
};

/* Operand access (bit set). */
enum { INSN_READ = 1, INSN_WRITE = 2, INSN_COND = 4 /* only when a condition holds */ };

/* Operand flags. */
enum {
  INSN_OPF_HIDDEN = 1,    /* not shown in the text (flags, rsp of push, ...) */
  INSN_OPF_IMPLICIT = 2,  /* implied by the opcode but shown (shl x, 1; movs) */
  INSN_OPF_MASK = 4,      /* an AVX-512 writemask register ({k1}) */
  INSN_OPF_SIGNED = 8,    /* immediate: signed */
  INSN_OPF_RELATIVE = 16, /* immediate: pc-relative branch displacement */
  INSN_OPF_AGEN = 32,     /* memory: address computed, not accessed (lea) */
  INSN_OPF_SEGMENT = 64   /* memory: the segment is explicit or fs/gs */
};

struct insn_opnd {
  uint8_t kind, access, flags;
  uint16_t size;            /* bits (0 when the decoder gives none) */
  uint16_t reg;             /* REG: register id */
  union {
    struct {
      uint16_t base, index, seg; /* register ids, 0 = none */
      uint8_t scale;             /* 0 when there is no index */
      int64_t disp;
    } mem;
    struct { uint64_t value; } imm; /* sign-extended when signed */
    struct { uint16_t seg; uint32_t off; } ptr;
  };
};

/* Instruction categories and prefixes (bit set). */
enum {
  INSN_F_CALL = 1u << 0,
  INSN_F_RET = 1u << 1,
  INSN_F_BRANCH = 1u << 2,     /* any control transfer: call, ret, jmp, jcc, loop */
  INSN_F_CBR = 1u << 3,        /* conditional branch (jcc, jrcxz, loop*) */
  INSN_F_INDIRECT = 1u << 4,   /* branch through a register or memory, or ret */
  INSN_F_DIRECT = 1u << 5,     /* branch with an immediate target (insn.target) */
  INSN_F_READS_MEM = 1u << 6,  /* reads memory (explicit or implicit operands) */
  INSN_F_WRITES_MEM = 1u << 7,
  INSN_F_SYSCALL = 1u << 8,    /* syscall / sysenter */
  INSN_F_LOCK = 1u << 9,
  INSN_F_REP = 1u << 10,       /* rep / repe */
  INSN_F_REPNE = 1u << 11,
  INSN_F_RIPREL = 1u << 12,    /* has a pc-relative memory operand */
  INSN_F_ZEROING = 1u << 13,   /* AVX-512 zeroing-masking ({z}) */
  INSN_F_FAR = 1u << 14        /* far branch (segment change) */
};

struct insn {
  uint64_t pc;              /* address the instruction was decoded at */
  uint64_t target;          /* INSN_F_DIRECT: the branch target */
  uint32_t flags;
  uint16_t opcode;          /* arch mnemonic id */
  uint16_t opsize;          /* operand width, bits */
  uint8_t len;
  uint8_t nopnds;           /* all operands, hidden ones last */
  uint8_t nvisible;         /* operands shown in the text: op[0..nvisible) */
  uint8_t bytes[INSN_MAX_BYTES];
  struct insn_opnd op[INSN_MAX_OPNDS];
};

/* Decode the instruction at the start of bytes[0..n) as if it sat at pc.
** LURK_OK, or LURK_ERR(DECODE) (invalid, or truncated by n). */
lurk_status insn_decode(struct insn *in, const uint8_t *bytes, size_t n, uint64_t pc);
/* Intel-syntax text (absolute branch targets) into buf; its length, or 0
** (buf is then ""). */
size_t insn_format(const struct insn *in, char *buf, size_t n);
/* Names: "mov", "rax" (NULL for an unknown id; "" for register 0). */
const char *insn_mnemonic(const struct insn *in);
const char *insn_reg_name(uint16_t reg);
/* Width of a register in bits (0 if unknown). */
unsigned insn_reg_bits(uint16_t reg);

#endif
