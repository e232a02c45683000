/* lurk: backward liveness of general registers and status flags over a
** block. A register is dead at a boundary when the instructions after it
** write all of it (a 32- or 64-bit write, unconditional) before any read;
** the flags are dead when all six status flags are written (modified, set
** or left undefined) before any is tested. Everything is live at the end
** of the block: what the next block reads is not known here. */
#include <Zydis/Zydis.h>
#include "live.h"

#define STATUS (ZYDIS_CPUFLAG_CF | ZYDIS_CPUFLAG_PF | ZYDIS_CPUFLAG_AF | ZYDIS_CPUFLAG_ZF | \
                ZYDIS_CPUFLAG_SF | ZYDIS_CPUFLAG_OF)

static ZydisDecoder live_dec;
static int live_ready;

/* The GPR bit of register r (any width), 0 if it is not a general register. */
static uint32_t live_bit(ZydisRegister r)
{
  ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
  if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15) return 0;
  return 1u << (big - ZYDIS_REGISTER_RAX);
}

/* Reads and full writes of one instruction; everything (reads) when it
** does not decode. */
static void live_insn(const struct insn *in, uint32_t *rd, uint32_t *wr)
{
  ZydisDecodedInstruction d;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  *rd = LIVE_ALL;
  *wr = 0;
  if (ZYAN_FAILED(ZydisDecoderDecodeFull(&live_dec, in->bytes, in->len, &d, ops))) return;
  uint32_t r = 0, w = 0;
  for (unsigned i = 0; i < d.operand_count; i++) {
    const ZydisDecodedOperand *o = &ops[i];
    if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
      r |= live_bit(o->mem.base) | live_bit(o->mem.index);
      continue;
    }
    if (o->type != ZYDIS_OPERAND_TYPE_REGISTER) continue;
    uint32_t b = live_bit(o->reg.value);
    if (!b) continue;
    if (o->actions & ZYDIS_OPERAND_ACTION_MASK_READ) r |= b;
    /* Only an unconditional write of 32 or 64 bits replaces the whole
    ** register (a 32-bit write zero-extends); a narrower one merges. */
    if ((o->actions & ZYDIS_OPERAND_ACTION_WRITE) && o->size >= 32) w |= b;
    else if (o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) r |= b;
  }
  /* rdssp writes its register only when shadow stacks are on; off, it is
  ** a nop and code relies on the register keeping its value (libgcc's
  ** unwinder: rdssp then test, incssp, which faults, when not 0). */
  if (d.mnemonic == ZYDIS_MNEMONIC_RDSSPD || d.mnemonic == ZYDIS_MNEMONIC_RDSSPQ) {
    r |= w;
    w = 0;
  }
  const ZydisAccessedFlags *f = d.cpu_flags;
  if (f) {
    if (f->tested & STATUS) r |= LIVE_FLAGS;
    if (((f->modified | f->set_0 | f->set_1 | f->undefined) & STATUS) == STATUS) w |= LIVE_FLAGS;
  }
  /* A branch leaves the block: what the target reads is not known. */
  if (d.meta.category == ZYDIS_CATEGORY_COND_BR || d.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
      d.meta.category == ZYDIS_CATEGORY_CALL || d.meta.category == ZYDIS_CATEGORY_RET ||
      d.meta.category == ZYDIS_CATEGORY_SYSCALL || d.meta.category == ZYDIS_CATEGORY_INTERRUPT) {
    r = LIVE_ALL;
    w = 0;
  }
  *rd = r | (1u << 4); /* rsp is never free */
  *wr = w & ~(1u << 4);
}

uint32_t live_touched(const ZydisDecodedInstruction *d, const ZydisDecodedOperand *ops)
{
  uint32_t m = 0;
  for (unsigned i = 0; i < d->operand_count; i++) {
    const ZydisDecodedOperand *o = &ops[i];
    if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) m |= live_bit(o->mem.base) | live_bit(o->mem.index);
    else if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) m |= live_bit(o->reg.value);
  }
  const ZydisAccessedFlags *f = d->cpu_flags;
  if (f && ((f->tested | f->modified | f->set_0 | f->set_1 | f->undefined) & STATUS)) m |= LIVE_FLAGS;
  return m;
}

void live_block(const struct insn *insns, unsigned n, const uint32_t *extra, uint32_t *out)
{
  if (!live_ready) {
    ZydisDecoderInit(&live_dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    live_ready = 1;
  }
  out[n] = LIVE_ALL;
  for (unsigned i = n; i-- > 0;) {
    uint32_t rd, wr;
    live_insn(&insns[i], &rd, &wr);
    out[i] = (out[i + 1] & ~wr) | rd | extra[i];
  }
}
