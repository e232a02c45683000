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
  /* A memory operand written without a size (lea rax, [rbx]) gets the
  ** first that encodes: a register operand's width, then each size. */
  int unsized = -1;
  uint16_t sizes[12];
  unsigned nsizes = 0;
  for (unsigned i = 0; i < q.operand_count; i++)
    if (q.operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY && !q.operands[i].mem.size && unsized < 0)
      unsized = (int)i;
  sizes[nsizes++] = 0;
  if (unsized >= 0) {
    for (unsigned i = 0; i < q.operand_count; i++)
      if (q.operands[i].type == ZYDIS_OPERAND_TYPE_REGISTER)
        sizes[nsizes++] = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, q.operands[i].reg.value) / 8;
    static const uint16_t all[] = { 1, 2, 4, 8, 10, 16, 32, 64, 6 };
    for (unsigned i = 0; i < sizeof all / sizeof all[0] && nsizes < 12; i++) sizes[nsizes++] = all[i];
  }
  for (unsigned k = 0; k < nsizes; k++) {
    if (unsized >= 0) q.operands[unsized].mem.size = sizes[k];
    ZyanUSize n = ZYDIS_MAX_INSTRUCTION_LENGTH;
    ZyanStatus s = absolute ? ZydisEncoderEncodeInstructionAbsolute(&q, out, &n, pc)
                            : ZydisEncoderEncodeInstruction(&q, out, &n);
    if (ZYAN_SUCCESS(s)) {
      *len = (unsigned)n;
      return LURK_OK;
    }
    if (unsized < 0) break;
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
