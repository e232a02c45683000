/* lurk: x86-64 encoding of arch-neutral requests (arch/asm.h) with Zydis's
** encoder. Zydis types stay in this file.
*/
#include <Zydis/Zydis.h>
#include "../asm.h"

/* ORDER ASM_PREFIX */
static const ZyanU64 asm_prefix_attr[] = {
  ZYDIS_ATTRIB_HAS_LOCK, ZYDIS_ATTRIB_HAS_REP, ZYDIS_ATTRIB_HAS_REPE, ZYDIS_ATTRIB_HAS_REPNE,
  ZYDIS_ATTRIB_HAS_BND, ZYDIS_ATTRIB_HAS_XACQUIRE, ZYDIS_ATTRIB_HAS_XRELEASE,
  ZYDIS_ATTRIB_HAS_NOTRACK
};

static ZyanU64 asm_seg_attr(uint16_t seg)
{
  switch (seg) {
  case ZYDIS_REGISTER_CS: return ZYDIS_ATTRIB_HAS_SEGMENT_CS;
  case ZYDIS_REGISTER_SS: return ZYDIS_ATTRIB_HAS_SEGMENT_SS;
  case ZYDIS_REGISTER_DS: return ZYDIS_ATTRIB_HAS_SEGMENT_DS;
  case ZYDIS_REGISTER_ES: return ZYDIS_ATTRIB_HAS_SEGMENT_ES;
  case ZYDIS_REGISTER_FS: return ZYDIS_ATTRIB_HAS_SEGMENT_FS;
  case ZYDIS_REGISTER_GS: return ZYDIS_ATTRIB_HAS_SEGMENT_GS;
  default: return 0;
  }
}

static ZydisBroadcastMode asm_bcast(uint8_t n)
{
  switch (n) {
  case 2: return ZYDIS_BROADCAST_MODE_1_TO_2;
  case 4: return ZYDIS_BROADCAST_MODE_1_TO_4;
  case 8: return ZYDIS_BROADCAST_MODE_1_TO_8;
  case 16: return ZYDIS_BROADCAST_MODE_1_TO_16;
  case 32: return ZYDIS_BROADCAST_MODE_1_TO_32;
  case 64: return ZYDIS_BROADCAST_MODE_1_TO_64;
  default: return ZYDIS_BROADCAST_MODE_INVALID;
  }
}

/* Does the absolute-mode encoding at out reach the target q asked for
** (a relative branch's immediate, a rip-relative operand's address)? */
static int asm_target_ok(const ZydisEncoderRequest *q, const uint8_t *out, ZyanUSize n, uint64_t pc)
{
  static ZydisDecoder dec;
  static int ready;
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  if (!ready) {
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    ready = 1;
  }
  if (ZYAN_FAILED(ZydisDecoderDecodeFull(&dec, out, n, &zi, zo))) return 0;
  for (unsigned i = 0; i < zi.operand_count_visible; i++) {
    const ZydisDecodedOperand *z = &zo[i];
    ZyanU64 a, want;
    if (z->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && z->imm.is_relative) want = q->operands[0].imm.u;
    else if (z->type == ZYDIS_OPERAND_TYPE_MEMORY && z->mem.base == ZYDIS_REGISTER_RIP) {
      want = 0;
      for (unsigned k = 0; k < q->operand_count; k++)
        if (q->operands[k].type == ZYDIS_OPERAND_TYPE_MEMORY) want = (ZyanU64)q->operands[k].mem.displacement;
    } else continue;
    if (ZYAN_FAILED(ZydisCalcAbsoluteAddress(&zi, z, pc, &a)) || a != want) return 0;
  }
  return 1;
}

/* Encode q; a memory operand written without a size (lea rax, [rbx])
** gets the first that encodes: a register operand's width, then each size. */
static int asm_try(ZydisEncoderRequest *q, int absolute, uint64_t pc, uint8_t *out, unsigned *len)
{
  int unsized = -1;
  uint16_t sizes[24];
  unsigned nsizes = 0;
  for (unsigned i = 0; i < q->operand_count; i++)
    if (q->operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY && !q->operands[i].mem.size && unsized < 0)
      unsized = (int)i;
  sizes[nsizes++] = 0;
  if (unsized >= 0) {
    for (unsigned i = 0; i < q->operand_count; i++)
      if (q->operands[i].type == ZYDIS_OPERAND_TYPE_REGISTER)
        sizes[nsizes++] = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, q->operands[i].reg.value) / 8;
    /* ... and the odd ones: fword, the x87 environment and state images */
    static const uint16_t all[] = { 1, 2, 4, 8, 10, 16, 32, 64, 6, 28, 14, 108, 94, 512 };
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) sizes[nsizes++] = all[i];
  }
  for (unsigned k = 0; k < nsizes; k++) {
    if (unsized >= 0) q->operands[unsized].mem.size = sizes[k];
    ZyanUSize n = ZYDIS_MAX_INSTRUCTION_LENGTH;
    ZydisEncoderRequest c = *q; /* the absolute encoder rewrites its request */
    ZyanStatus s = absolute ? ZydisEncoderEncodeInstructionAbsolute(&c, out, &n, pc)
                            : ZydisEncoderEncodeInstruction(&c, out, &n);
    if (ZYAN_SUCCESS(s) && absolute && !asm_target_ok(q, out, n, pc) &&
        q->branch_type != ZYDIS_BRANCH_TYPE_FAR && q->branch_width != ZYDIS_BRANCH_WIDTH_32) {
      /* Zydis 4.0.0 picks rel8 for targets 128..131 bytes ahead: long form */
      q->branch_width = ZYDIS_BRANCH_WIDTH_32;
      n = ZYDIS_MAX_INSTRUCTION_LENGTH;
      c = *q;
      s = ZydisEncoderEncodeInstructionAbsolute(&c, out, &n, pc);
      q->branch_width = ZYDIS_BRANCH_WIDTH_NONE;
      if (ZYAN_SUCCESS(s) && !asm_target_ok(q, out, n, pc)) s = ZYAN_STATUS_FAILED;
    }
    if (ZYAN_SUCCESS(s)) {
      *len = (unsigned)n;
      if (unsized >= 0) q->operands[unsized].mem.size = 0;
      return 1;
    }
  }
  if (unsized >= 0) q->operands[unsized].mem.size = 0;
  return 0;
}

/* Sign-extend each immediate that fits the first operand's width w
** unsigned and has bit w-1 set. Did any change? */
static int asm_sext(ZydisEncoderRequest *q)
{
  const ZydisEncoderOperand *o = &q->operands[0];
  unsigned w = o->type == ZYDIS_OPERAND_TYPE_REGISTER ? ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, o->reg.value)
             : o->type == ZYDIS_OPERAND_TYPE_MEMORY ? 8u * o->mem.size : 0;
  int changed = 0;
  if (w == 0 || w >= 64) return 0;
  for (unsigned i = 1; i < q->operand_count; i++) {
    ZydisEncoderOperand *z = &q->operands[i];
    if (z->type != ZYDIS_OPERAND_TYPE_IMMEDIATE || z->imm.u >> w || !(z->imm.u >> (w - 1) & 1)) continue;
    z->imm.u |= ~0ull << w;
    changed = 1;
  }
  return changed;
}

lurk_status asm_encode(const struct asm_req *r, uint64_t pc, uint8_t *out, unsigned *len)
{
  ZydisEncoderRequest q;
  int absolute = 0;
  lurk_memset(&q, 0, sizeof q);
  q.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
  q.mnemonic = (ZydisMnemonic)r->mnemonic;
  for (unsigned i = 0; i < sizeof asm_prefix_attr / sizeof asm_prefix_attr[0]; i++)
    if (r->prefixes & (1u << i)) q.prefixes |= asm_prefix_attr[i];
  if (r->nopnds > ASM_MAX_OPNDS) return LURK_ERR(ENCODE);
  q.operand_count = r->nopnds;
  for (unsigned i = 0; i < r->nopnds; i++) {
    const struct asm_opnd *o = &r->op[i];
    ZydisEncoderOperand *z = &q.operands[i];
    switch (o->kind) {
    case INSN_OPND_REG:
      z->type = ZYDIS_OPERAND_TYPE_REGISTER;
      z->reg.value = (ZydisRegister)o->reg;
      break;
    case INSN_OPND_IMM:
      z->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
      z->imm.u = o->imm;
      break;
    case INSN_OPND_MEM:
      z->type = ZYDIS_OPERAND_TYPE_MEMORY;
      z->mem.base = (ZydisRegister)o->base;
      z->mem.index = (ZydisRegister)o->index;
      z->mem.scale = o->index ? o->scale : 0;
      z->mem.displacement = o->disp;
      z->mem.size = (ZyanU16)(o->size / 8);
      q.prefixes |= asm_seg_attr(o->seg);
      if (o->base == ZYDIS_REGISTER_RIP && o->rip_abs) absolute = 1;
      break;
    case INSN_OPND_PTR:
      z->type = ZYDIS_OPERAND_TYPE_POINTER;
      z->ptr.segment = o->ptr_seg;
      z->ptr.offset = o->ptr_off;
      break;
    default:
      return LURK_ERR(ENCODE);
    }
  }
  /* A branch's immediate is its absolute target. */
  ZydisMnemonic m = q.mnemonic;
  if (r->nopnds && r->op[0].kind == INSN_OPND_IMM &&
      ((m >= ZYDIS_MNEMONIC_JB && m <= ZYDIS_MNEMONIC_JZ) || m == ZYDIS_MNEMONIC_CALL ||
       m == ZYDIS_MNEMONIC_LOOP || m == ZYDIS_MNEMONIC_LOOPE || m == ZYDIS_MNEMONIC_LOOPNE ||
       m == ZYDIS_MNEMONIC_XBEGIN))
    absolute = 1;
  if (r->far) q.branch_type = ZYDIS_BRANCH_TYPE_FAR;
  q.evex.zeroing_mask = r->zeroing != 0;
  q.evex.broadcast = asm_bcast(r->broadcast);
  if (r->rounding) q.evex.rounding = (ZydisRoundingMode)(ZYDIS_ROUNDING_MODE_RN + r->rounding - 1);
  q.evex.sae = r->sae != 0 || r->rounding != 0;
  if (asm_try(&q, absolute, pc, out, len)) return LURK_OK;
  /* Immediates as ins.text prints them, unsigned in the operand's width
  ** (and eax, 0xfffffff8): the encoder wants them sign-extended. */
  if (asm_sext(&q) && asm_try(&q, absolute, pc, out, len)) return LURK_OK;
  /* 4-operand VEX/XOP forms (vblendvpd, FMA4) carry one register in
  ** imm8[7:4]: the last, or the third (VEX.W1 swaps them). */
  for (int k = 3; k >= 2 && q.operand_count == 4; k--)
    if (q.operands[k].type == ZYDIS_OPERAND_TYPE_REGISTER) {
      q.operands[k].reg.is4 = ZYAN_TRUE;
      if (asm_try(&q, absolute, pc, out, len)) return LURK_OK;
      q.operands[k].reg.is4 = ZYAN_FALSE;
    }
  /* EVEX forms take their writemask as an operand after the first, k0
  ** (no masking) is not in the text. */
  if (q.operand_count >= 1 && q.operand_count < ZYDIS_ENCODER_MAX_OPERANDS) {
    for (unsigned i = q.operand_count; i > 1; i--) q.operands[i] = q.operands[i - 1];
    lurk_memset(&q.operands[1], 0, sizeof q.operands[1]);
    q.operands[1].type = ZYDIS_OPERAND_TYPE_REGISTER;
    q.operands[1].reg.value = ZYDIS_REGISTER_K0;
    q.operand_count++;
    if (asm_try(&q, absolute, pc, out, len)) return LURK_OK;
  }
  return LURK_ERR(ENCODE);
}

uint16_t asm_mnemonic_id(const char *name)
{
  for (int i = 1; i <= ZYDIS_MNEMONIC_MAX_VALUE; i++) {
    const char *s = ZydisMnemonicGetString((ZydisMnemonic)i);
    if (s && !lurk_strcmp(s, name)) return (uint16_t)i;
  }
  return 0;
}

uint16_t asm_reg_id(const char *name)
{
  for (int i = 1; i <= ZYDIS_REGISTER_MAX_VALUE; i++) {
    const char *s = ZydisRegisterGetString((ZydisRegister)i);
    if (s && !lurk_strcmp(s, name)) return (uint16_t)i;
  }
  return 0;
}
