/* lurk: x86-64 instruction decoding into the arch-neutral struct insn
** (arch/insn.h), with Zydis. Zydis types stay in this file.
*/
#include <Zydis/Zydis.h>
#include "../insn.h"

static ZydisDecoder insn_dec;
static ZydisFormatter insn_fmt;
static int insn_ready;

/* Decoder and formatter, set up on first use (pure: no allocation). */
static void insn_setup(void)
{
  if (insn_ready) return;
  ZydisDecoderInit(&insn_dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisFormatterInit(&insn_fmt, ZYDIS_FORMATTER_STYLE_INTEL);
  ZydisFormatterSetProperty(&insn_fmt, ZYDIS_FORMATTER_PROP_DISP_PADDING, ZYDIS_PADDING_DISABLED);
  ZydisFormatterSetProperty(&insn_fmt, ZYDIS_FORMATTER_PROP_IMM_PADDING, ZYDIS_PADDING_DISABLED);
  ZydisFormatterSetProperty(&insn_fmt, ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE, ZYDIS_PADDING_DISABLED);
  /* objdump-like: "qword ptr [rip+0x10]", lower-case hex. */
  ZydisFormatterSetProperty(&insn_fmt, ZYDIS_FORMATTER_PROP_FORCE_SIZE, ZYAN_TRUE);
  ZydisFormatterSetProperty(&insn_fmt, ZYDIS_FORMATTER_PROP_FORCE_RELATIVE_RIPREL, ZYAN_TRUE);
  ZydisFormatterSetProperty(&insn_fmt, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
  insn_ready = 1;
}

static int insn_zy_decode(const uint8_t *b, size_t n, ZydisDecodedInstruction *zi,
                          ZydisDecodedOperand *zo)
{
  insn_setup();
  return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&insn_dec, b, n, zi, zo));
}

static uint8_t insn_access(ZydisOperandActions a)
{
  uint8_t r = 0;
  if (a & ZYDIS_OPERAND_ACTION_MASK_READ) r |= INSN_READ;
  if (a & ZYDIS_OPERAND_ACTION_MASK_WRITE) r |= INSN_WRITE;
  if (a & (ZYDIS_OPERAND_ACTION_CONDREAD | ZYDIS_OPERAND_ACTION_CONDWRITE)) r |= INSN_COND;
  return r;
}

/* One Zydis operand into o; updates the instruction's memory flags. */
static void insn_opnd(struct insn *in, const ZydisDecodedInstruction *zi,
                      const ZydisDecodedOperand *z, struct insn_opnd *o)
{
  lurk_memset(o, 0, sizeof *o);
  o->access = insn_access(z->actions);
  o->size = z->size;
  if (z->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN) o->flags |= INSN_OPF_HIDDEN;
  if (z->visibility == ZYDIS_OPERAND_VISIBILITY_IMPLICIT) o->flags |= INSN_OPF_IMPLICIT;
  switch (z->type) {
  case ZYDIS_OPERAND_TYPE_REGISTER:
    o->kind = INSN_OPND_REG;
    o->reg = (uint16_t)z->reg.value;
    if (z->encoding == ZYDIS_OPERAND_ENCODING_MASK) {
      o->flags |= INSN_OPF_MASK;
      /* k0 means "no masking": not in the text, so not a visible operand */
      if (z->reg.value == ZYDIS_REGISTER_K0) o->flags |= INSN_OPF_HIDDEN;
    }
    break;
  case ZYDIS_OPERAND_TYPE_MEMORY:
    o->kind = INSN_OPND_MEM;
    o->mem.base = (uint16_t)z->mem.base;
    o->mem.index = (uint16_t)z->mem.index;
    o->mem.seg = (uint16_t)z->mem.segment;
    o->mem.scale = z->mem.index != ZYDIS_REGISTER_NONE ? z->mem.scale : 0;
    o->mem.disp = z->mem.disp.has_displacement ? z->mem.disp.value : 0;
    if (z->mem.segment == ZYDIS_REGISTER_FS || z->mem.segment == ZYDIS_REGISTER_GS ||
        (z->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT && (zi->attributes & ZYDIS_ATTRIB_HAS_SEGMENT)))
      o->flags |= INSN_OPF_SEGMENT;
    if (z->mem.base == ZYDIS_REGISTER_RIP) in->flags |= INSN_F_RIPREL;
    /* lea computes an address; a multi-byte nop names one and touches nothing */
    if (z->mem.type == ZYDIS_MEMOP_TYPE_AGEN || z->mem.type == ZYDIS_MEMOP_TYPE_MIB ||
        zi->mnemonic == ZYDIS_MNEMONIC_NOP) {
      o->flags |= INSN_OPF_AGEN;
      o->access = 0;
    } else {
      if (o->access & INSN_READ) in->flags |= INSN_F_READS_MEM;
      if (o->access & INSN_WRITE) in->flags |= INSN_F_WRITES_MEM;
    }
    break;
  case ZYDIS_OPERAND_TYPE_POINTER:
    o->kind = INSN_OPND_PTR;
    o->ptr.seg = z->ptr.segment;
    o->ptr.off = z->ptr.offset;
    break;
  case ZYDIS_OPERAND_TYPE_IMMEDIATE:
    o->kind = INSN_OPND_IMM;
    o->imm.value = z->imm.value.u;
    if (z->imm.is_signed) o->flags |= INSN_OPF_SIGNED;
    if (z->imm.is_relative) o->flags |= INSN_OPF_RELATIVE;
    break;
  default:
    break;
  }
}

/* Categories and the direct target from the decoder's meta data. */
static void insn_classify(struct insn *in, const ZydisDecodedInstruction *zi,
                          const ZydisDecodedOperand *zo)
{
  switch (zi->meta.category) {
  case ZYDIS_CATEGORY_CALL: in->flags |= INSN_F_CALL | INSN_F_BRANCH; break;
  case ZYDIS_CATEGORY_RET: in->flags |= INSN_F_RET | INSN_F_BRANCH | INSN_F_INDIRECT; break;
  case ZYDIS_CATEGORY_COND_BR: in->flags |= INSN_F_CBR | INSN_F_BRANCH; break;
  case ZYDIS_CATEGORY_UNCOND_BR: in->flags |= INSN_F_BRANCH; break;
  default: break;
  }
  if (zi->mnemonic == ZYDIS_MNEMONIC_SYSCALL || zi->mnemonic == ZYDIS_MNEMONIC_SYSENTER)
    in->flags |= INSN_F_SYSCALL;
  if (zi->attributes & ZYDIS_ATTRIB_HAS_LOCK) in->flags |= INSN_F_LOCK;
  if (zi->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE)) in->flags |= INSN_F_REP;
  if (zi->attributes & ZYDIS_ATTRIB_HAS_REPNE) in->flags |= INSN_F_REPNE;
  if (zi->encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX && zi->avx.mask.mode == ZYDIS_MASK_MODE_ZEROING)
    in->flags |= INSN_F_ZEROING;
  if ((in->flags & INSN_F_BRANCH) && !(in->flags & INSN_F_RET)) {
    const ZydisDecodedOperand *t = &zo[0];
    if (t->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && t->imm.is_relative) {
      ZyanU64 a;
      if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(zi, t, in->pc, &a))) {
        in->flags |= INSN_F_DIRECT;
        in->target = a;
      }
    } else if (t->type == ZYDIS_OPERAND_TYPE_POINTER) {
      in->flags |= INSN_F_FAR;
    } else {
      in->flags |= INSN_F_INDIRECT;
      if (t->type == ZYDIS_OPERAND_TYPE_MEMORY && (t->size == 80 || t->size == 48))
        in->flags |= INSN_F_FAR;   /* jmp/call far [m16:64] */
    }
  }
}

/* insn_decode and insn_format are the guards in xstate.c. */
lurk_status insn_decode_raw(struct insn *in, const uint8_t *bytes, size_t n, uint64_t pc)
{
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  lurk_memset(in, 0, sizeof *in);
  if (!n || !insn_zy_decode(bytes, n, &zi, zo)) return LURK_ERR(DECODE);
  in->pc = pc;
  in->len = zi.length;
  lurk_memcpy(in->bytes, bytes, zi.length);
  in->opcode = (uint16_t)zi.mnemonic;
  in->opsize = zi.operand_width;
  in->nopnds = zi.operand_count < INSN_MAX_OPNDS ? zi.operand_count : INSN_MAX_OPNDS;
  in->nvisible = zi.operand_count_visible < in->nopnds ? zi.operand_count_visible : in->nopnds;
  /* Shown operands first, in text order; then the hidden ones. */
  unsigned k = 0, vis = in->nvisible;
  for (int pass = 0; pass < 2; pass++) {
    for (unsigned i = 0; i < in->nopnds; i++) {
      int hidden = i >= vis || (zo[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                                zo[i].encoding == ZYDIS_OPERAND_ENCODING_MASK &&
                                zo[i].reg.value == ZYDIS_REGISTER_K0);
      if (hidden == pass) insn_opnd(in, &zi, &zo[i], &in->op[k++]);
    }
    if (pass == 0) in->nvisible = (uint8_t)k;
  }
  insn_classify(in, &zi, zo);
  return LURK_OK;
}

size_t insn_format_raw(const struct insn *in, char *buf, size_t n)
{
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  if (!n) return 0;
  buf[0] = 0;
  if (!in->len || !insn_zy_decode(in->bytes, in->len, &zi, zo)) return 0;
  if (ZYAN_FAILED(ZydisFormatterFormatInstruction(&insn_fmt, &zi, zo, zi.operand_count_visible,
                                                  buf, n, in->pc, ZYAN_NULL)))
    return buf[0] = 0, 0;
  return lurk_strlen(buf);
}

const char *insn_mnemonic(const struct insn *in)
{
  return ZydisMnemonicGetString((ZydisMnemonic)in->opcode);
}

const char *insn_reg_name(uint16_t reg)
{
  if (reg == ZYDIS_REGISTER_NONE) return "";
  return ZydisRegisterGetString((ZydisRegister)reg);
}

unsigned insn_reg_bits(uint16_t reg)
{
  return ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, (ZydisRegister)reg);
}
