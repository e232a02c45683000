/* lurk: x86-64 code for compiled handlers (engine/hc.h). A program runs
** inline at its site: its virtual registers live in the thread block
** (gs:TLS_HC_V), two scratch registers do the work, and only what the app
** may still read is saved: scratch registers taken among the dead ones
** where there are any, the flags (lahf/seto, through rax) only when live
** (live.c). Registers an argument reads are never scratch, so arguments
** are computed from the app's own values. A fault in a load of app memory
** is the tool's bug, reported with the handler's line (bb_meta_note).
** A live register saved at one site stays saved past it (drreg's lazy
** restore): the app's value waits in its save slot while the following
** app instructions do not touch the register, and the next site uses it
** again without a store; tr.c restores it before an instruction that
** reads or writes it, and at every other boundary (arch_hc_unspill). The
** flags likewise, until an instruction that reads or writes a status
** flag. A fault in between is translated with the slots (XL_HCSAVE).
*/
#include <Zydis/Zydis.h>
#include "../arch.h"
#include "emit.h"
#include "live.h"
#include "../../engine/bb.h"
#include "../../engine/cache.h"
#include "../../engine/hc.h"

#define V(r) (TLS_HC_V + 8 * (int32_t)(r))

/* A site is emitted twice (arch_hc_emit): the first pass notes which vregs
** are ever read back from their slots (VR), the second stores only those
** (a value used only while it is still in a register is never stored). */
static int hc_pass;
static uint8_t hc_slot_read[HC_NVREGS];
#define VR(r) (hc_slot_read[(r)] = 1, V(r))
/* Is a store of slot-homed vreg v needed (the second pass knows)? */
static int hc_store_needed(unsigned v) { return hc_pass == 1 || hc_slot_read[v]; }
#define SAVE(r) (TLS_HC_SAVE + 8 * (int32_t)(r))

static uint8_t hc_rex(int w, int r, int x, int b)
{
  return (uint8_t)(0x40 | (w << 3) | ((r >> 3) << 2) | ((x >> 3) << 1) | (b >> 3));
}

/* op r64, gs:[off] (opcode byte op: 03 add, 0b or, 23 and, 2b sub, 33 xor, 3b cmp, 8b mov) */
static void hc_rm_gs(uint8_t **p, uint8_t op, int r, int32_t off)
{
  emit_u8(p, XO_SEG_GS);
  emit_u8(p, hc_rex(1, r, 0, 0));
  emit_u8(p, op);
  emit_abs32(p, r, off);
}

/* op r64, simm32 (group-1 digit: 0 add, 1 or, 4 and, 5 sub, 6 xor, 7 cmp) */
static void hc_ri(uint8_t **p, int digit, int r, int32_t imm)
{
  emit_u8(p, hc_rex(1, 0, 0, r));
  emit_u8(p, 0x81);
  emit_u8(p, (uint8_t)(0xc0 | (digit << 3) | (r & 7)));
  emit_u32(p, (uint32_t)imm);
}

/* A one-register form: REX.W op /digit r (f7 /3 neg), or c1 /digit r, imm8 (shifts). */
static void hc_r1(uint8_t **p, uint8_t op, int digit, int r)
{
  emit_u8(p, hc_rex(1, 0, 0, r));
  emit_u8(p, op);
  emit_u8(p, (uint8_t)(0xc0 | (digit << 3) | (r & 7)));
}

/* modrm (and sib/disp) for [b] with reg field r (mod 00 needs care for rsp/rbp). */
static void hc_mem_base(uint8_t **p, int r, int b)
{
  if ((b & 7) == R_RBP) {
    emit_u8(p, (uint8_t)(0x40 | ((r & 7) << 3) | 5));
    emit_u8(p, 0);
  } else if ((b & 7) == R_RSP) {
    emit_u8(p, (uint8_t)(((r & 7) << 3) | 4));
    emit_u8(p, 0x24);
  } else {
    emit_u8(p, (uint8_t)(((r & 7) << 3) | (b & 7)));
  }
}

/* d = zero-extended size-byte load from [b] */
static void hc_load2(uint8_t **p, int d, int b, unsigned size)
{
  if (size == 8 || size == 4) {
    if (size == 8 || d >= 8 || b >= 8) emit_u8(p, hc_rex(size == 8, d, 0, b));
    emit_u8(p, 0x8b);
  } else {
    if (d >= 8 || b >= 8) emit_u8(p, hc_rex(0, d, 0, b));
    emit_u8(p, 0x0f);
    emit_u8(p, size == 1 ? 0xb6 : 0xb7);
  }
  hc_mem_base(p, d, b);
}
static void hc_load(uint8_t **p, int r, unsigned size) { hc_load2(p, r, r, size); }

/* mov [b + disp32], r */
static void hc_store_disp(uint8_t **p, int b, int32_t disp, int r)
{
  emit_u8(p, hc_rex(1, r, 0, b));
  emit_u8(p, 0x89);
  emit_u8(p, (uint8_t)(0x80 | ((r & 7) << 3) | ((b & 7) == R_RSP ? 4 : (b & 7))));
  if ((b & 7) == R_RSP) emit_u8(p, 0x24);
  emit_u32(p, (uint32_t)disp);
}

/* REX.W op r, [b + disp8] (op: 01 add, 39 cmp: [b+d] op= r / compared with r) */
static void hc_rm_disp8(uint8_t **p, uint8_t op, int r, int b, int8_t disp)
{
  emit_u8(p, hc_rex(1, r, 0, b));
  emit_u8(p, op);
  emit_u8(p, (uint8_t)(0x40 | ((r & 7) << 3) | (b & 7)));
  if ((b & 7) == R_RSP) emit_u8(p, 0x24);
  emit_u8(p, (uint8_t)disp);
}

/* A two-register form REX.W op modrm(11, reg, rm) (op = 01 add ... 39 cmp,
** 89 mov: rm op= reg; 0f af imul, 63 movsxd: reg op= rm). */
static void hc_rr(uint8_t **p, uint8_t op, int reg, int rm)
{
  emit_u8(p, hc_rex(1, reg, 0, rm));
  if (op == 0xaf) emit_u8(p, 0x0f);
  emit_u8(p, op);
  emit_u8(p, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

/* lea r, [base + index*scale + disp32] (base, index: -1 for none) */
static void hc_lea(uint8_t **p, int r, int base, int index, unsigned scale, int32_t disp)
{
  int ss = scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
  emit_u8(p, hc_rex(1, r, index < 0 ? 0 : index, base < 0 ? 0 : base));
  emit_u8(p, 0x8d);
  emit_u8(p, (uint8_t)((base < 0 ? 0x00 : 0x80) | ((r & 7) << 3) | 4));
  emit_u8(p, (uint8_t)((ss << 6) | ((index < 0 ? 4 : index) & 7) << 3 | (base < 0 ? 5 : (base & 7))));
  emit_u32(p, (uint32_t)disp);
}

/* The hardware number of a 64-bit general register enclosing Zydis reg
** r, its width in bits and whether it is a high byte (ah..bh); -1 if none. */
static int hc_gpr(uint16_t r, unsigned *width, int *high)
{
  ZydisRegister z = (ZydisRegister)r;
  ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, z);
  if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15) return -1;
  *width = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, z);
  *high = z == ZYDIS_REGISTER_AH || z == ZYDIS_REGISTER_CH || z == ZYDIS_REGISTER_DH || z == ZYDIS_REGISTER_BH;
  return (int)(big - ZYDIS_REGISTER_RAX);
}

/* The jcc condition nibble of a conditional branch, -1 for others (jrcxz, loop). */
static int hc_jcc(const struct insn *in)
{
  unsigned i = 0;
  while (i < in->len && (in->bytes[i] == 0x2e || in->bytes[i] == 0x3e || in->bytes[i] == 0xf2 ||
                         in->bytes[i] == 0xf3 || in->bytes[i] == 0x66))
    i++;
  if (i >= in->len) return -1;
  if ((in->bytes[i] & 0xf0) == 0x70) return in->bytes[i] & 0xf;
  if (in->bytes[i] == 0x0f && i + 1 < in->len && (in->bytes[i + 1] & 0xf0) == 0x80) return in->bytes[i + 1] & 0xf;
  return -1;
}

/* Registers the site's arguments read (bit per hardware number); -1 if an
** argument cannot be computed inline (fs/gs-relative, a flag register...). */
static int64_t hc_arg_reads(const struct cc_site *s)
{
  uint32_t m = 0;
  for (unsigned i = 0; i < s->nargs; i++) {
    const struct cc_arg *a = &s->args[i];
    unsigned w;
    int hi, r;
    switch (a->kind) {
    case CC_ARG_REG:
      if ((r = hc_gpr(a->reg, &w, &hi)) < 0) return -1;
      m |= 1u << r;
      break;
    case CC_ARG_EA:
      /* fs-relative (TLS, the stack protector's canary): through rdfsbase,
      ** or TLS_APP_FS where fs is mangled or FSGSBASE missing (hc_ea) */
      if (a->op.mem.seg == ZYDIS_REGISTER_GS) return -1;
      if (a->op.mem.base && a->op.mem.base != ZYDIS_REGISTER_RIP) {
        if ((r = hc_gpr(a->op.mem.base, &w, &hi)) < 0 || w != 64) return -1;
        m |= 1u << r;
      }
      if (a->op.mem.index) {
        if ((r = hc_gpr(a->op.mem.index, &w, &hi)) < 0 || w != 64) return -1;
        m |= 1u << r;
      }
      break;
    case CC_ARG_TAKEN:
      if (hc_jcc(&s->in) < 0) return -1;
      break;
    case CC_ARG_TARGET:
      if (s->in.flags & INSN_F_DIRECT) break;
      if (s->in.flags & INSN_F_RET) break;
      if (a->op.kind == INSN_OPND_REG) {
        if ((r = hc_gpr(a->op.reg, &w, &hi)) < 0 || w != 64) return -1;
        m |= 1u << r;
      } else if (a->op.kind == INSN_OPND_MEM) {
        if (a->op.mem.seg == ZYDIS_REGISTER_FS || a->op.mem.seg == ZYDIS_REGISTER_GS) return -1;
        if (a->op.mem.base == ZYDIS_REGISTER_RIP) break;
        if (a->op.mem.base && ((r = hc_gpr(a->op.mem.base, &w, &hi)) < 0 || w != 64)) return -1;
        if (a->op.mem.base) m |= 1u << r;
        if (a->op.mem.index && ((r = hc_gpr(a->op.mem.index, &w, &hi)) < 0 || w != 64)) return -1;
        if (a->op.mem.index) m |= 1u << r;
      } else return -1;
      break;
    default: break;
    }
  }
  return m;
}

int64_t arch_hc_reads(const struct cc_site *s) { return hc_arg_reads(s); }

uint32_t arch_hc_live(const struct hc_prog *pr, const struct cc_site *s)
{
  for (unsigned i = 0; i < pr->n; i++)
    if (pr->ins[i].op == HC_CALL) return LIVE_ALL;
  return (uint32_t)hc_arg_reads(s);
}

int arch_hc_reg_width(uint16_t reg)
{
  unsigned w;
  int hi;
  return hc_gpr(reg, &w, &hi) < 0 ? 0 : (int)w;
}

/* Emit lea s, [operand] for a memory operand, reading base/index from
** their registers, or from their save slots when clobbered (in mask k). */
static void hc_ea(uint8_t **p, int s, const struct insn_opnd *op, uint64_t next, uint32_t k, int s1)
{
  unsigned w;
  int hi;
  if (op->mem.base == ZYDIS_REGISTER_RIP) {
    emit_mov_imm64(p, s, next + (uint64_t)op->mem.disp);
    return;
  }
  int b = op->mem.base ? hc_gpr(op->mem.base, &w, &hi) : -1;
  int x = op->mem.index ? hc_gpr(op->mem.index, &w, &hi) : -1;
  /* only rax can be clobbered here (lahf); it is then read from its slot */
  if ((b >= 0 && (k >> b) & 1) || (x >= 0 && (k >> x) & 1)) {
    int c = (b >= 0 && (k >> b) & 1) ? b : x;
    emit_gs_load(p, s1, SAVE(c));
    if (b == c) b = s1;
    if (x == c) x = s1;
  }
  int64_t d = op->mem.disp;
  if (d != (int32_t)d) { /* a 64-bit displacement: absolute address, no registers */
    emit_mov_imm64(p, s, (uint64_t)d);
    return;
  }
  hc_lea(p, s, b, x, op->mem.scale ? op->mem.scale : 1, (int32_t)d);
  if (op->mem.seg == ZYDIS_REGISTER_FS && (arch_fs_mangled || !arch_fsgsbase())) {
    /* mov s1, gs:[TLS_APP_FS]; add s, s1: where fs is mangled the app's base
    ** is only there; without FSGSBASE the app cannot change its fs base but
    ** through arch_prctl and clone, which keep the slot (arch_tls_install,
    ** scall.c, proc.c) */
    emit_gs_load(p, s1, TLS_APP_FS);
    hc_rr(p, 0x01, s1, s);
  } else if (op->mem.seg == ZYDIS_REGISTER_FS) { /* rdfsbase s1; add s, s1 (the flags are saved or dead) */
    emit_u8(p, 0xf3);
    emit_u8(p, hc_rex(1, 0, 0, s1));
    emit_u8(p, 0x0f);
    emit_u8(p, 0xae);
    emit_u8(p, (uint8_t)(0xc0 | (s1 & 7)));
    hc_rr(p, 0x01, s1, s);
  }
}

/* Compute argument a into s (flags already saved: shifts are fine; the
** flags themselves are still the app's until the body starts). */
static void hc_arg(uint8_t **p, int s, int s1, const struct cc_site *site, const struct cc_arg *a, uint32_t k)
{
  uint64_t next = site->in.pc + site->in.len;
  unsigned w = 64;
  int hi = 0, r;
  switch (a->kind) {
  case CC_ARG_REG:
    r = hc_gpr(a->reg, &w, &hi);
    if ((k >> r) & 1) emit_gs_load(p, s, SAVE(r));
    else emit_mov_rr(p, s, r);
    if (hi) hc_r1(p, 0xc1, 5, s), emit_u8(p, 8);
    if (w == 32) { if (s >= 8) emit_u8(p, 0x45); emit_u8(p, 0x89); emit_u8(p, (uint8_t)(0xc0 | ((s & 7) << 3) | (s & 7))); }
    else if (w == 16 || w == 8) {
      emit_u8(p, hc_rex(0, s, 0, s));
      emit_u8(p, 0x0f);
      emit_u8(p, w == 16 ? 0xb7 : 0xb6);
      emit_u8(p, (uint8_t)(0xc0 | ((s & 7) << 3) | (s & 7)));
    }
    return;
  case CC_ARG_EA:
    hc_ea(p, s, &a->op, next, k, s1);
    return;
  case CC_ARG_TARGET:
    if (site->in.flags & INSN_F_DIRECT) { emit_mov_imm64(p, s, site->in.target); return; }
    if (site->in.flags & INSN_F_RET) {
      emit_u8(p, hc_rex(1, s, 0, R_RSP)); emit_u8(p, 0x8b); hc_mem_base(p, s, R_RSP);
      return;
    }
    if (a->op.kind == INSN_OPND_REG) {
      r = hc_gpr(a->op.reg, &w, &hi);
      if ((k >> r) & 1) emit_gs_load(p, s, SAVE(r));
      else emit_mov_rr(p, s, r);
      return;
    }
    hc_ea(p, s, &a->op, next, k, s1);
    hc_load(p, s, 8);
    return;
  default:
    emit_mov_imm64(p, s, a->val);
    return;
  }
}

struct hc_fix { uint8_t *field; unsigned label; };

/* Vregs whose value is known when the site is translated (arch_hc_emit). */
/* Operands a and b of instruction i known at translation (hc_ka[i], hc_kb[i])
** and their values. */
static uint8_t hc_ka[HC_MAX_INS], hc_kb[HC_MAX_INS];
static int64_t hc_va[HC_MAX_INS], hc_vb[HC_MAX_INS];
static const struct hc_ins *hc_ins0; /* the program's first instruction */
#define KA(in) hc_ka[(in) - hc_ins0]
#define KB(in) hc_kb[(in) - hc_ins0]
#define VA(in) hc_va[(in) - hc_ins0]
#define VB(in) hc_vb[(in) - hc_ins0]

/* The value of an argument known at translation, if it is one. */
static int hc_arg_const(const struct cc_site *s, const struct cc_arg *a, int64_t *out)
{
  switch (a->kind) {
  case CC_ARG_CONST: case CC_ARG_PC: case CC_ARG_COUNT: case CC_ARG_SIZE: *out = (int64_t)a->val; return 1;
  case CC_ARG_TARGET: if (s->in.flags & INSN_F_DIRECT) { *out = (int64_t)s->in.target; return 1; } return 0;
  default: return 0;
  }
}

/* The value of MOV..ZX32 instruction in when its operands are known (ka,
** va: a; kb, vb: b or the immediate), computed as the emitted code would
** (64-bit, wrapping); 0 if it is not known. */
static int hc_const(const struct hc_ins *in, int ka, int64_t va, int kb, int64_t vb, int64_t *out)
{
  uint64_t a = (uint64_t)va, b = (uint64_t)vb;
  unsigned c = (unsigned)in->k & 63;
  if (!ka) return 0;
  switch (in->op) {
  case HC_MOV: *out = va; return 1;
  case HC_SHL: *out = (int64_t)(a << c); return 1;
  case HC_SHR: *out = (int64_t)(a >> c); return 1;
  case HC_SAR: *out = va >> c; return 1;
  case HC_NEG: *out = (int64_t)(0 - a); return 1;
  case HC_SX32: *out = (int64_t)(int32_t)(uint32_t)a; return 1;
  case HC_ZX32: *out = (int64_t)(uint32_t)a; return 1;
  default: break;
  }
  if (!kb) return 0;
  switch (in->op) {
  case HC_ADD: *out = (int64_t)(a + b); return 1;
  case HC_SUB: *out = (int64_t)(a - b); return 1;
  case HC_MUL: *out = (int64_t)(a * b); return 1;
  case HC_AND: *out = (int64_t)(a & b); return 1;
  case HC_OR: *out = (int64_t)(a | b); return 1;
  case HC_XOR: *out = (int64_t)(a ^ b); return 1;
  default: return 0;
  }
}

/* Is add in (UVADD, CTRADD) of a known cell and a known 32-bit addend? */
static int hc_fold(const struct hc_ins *in)
{
  if (in->op == HC_UVADD) return KA(in) && VA(in) == (int32_t)VA(in);
  if (in->op != HC_CTRADD || !KB(in) || VB(in) != (int32_t)VB(in)) return 0;
  if (in->kidx) return 1;
  if (!KA(in)) return 0;
  int64_t cell = in->k + VA(in);
  return cell >= 0 && cell < ARCH_CTR_CELLS;
}

/* A folded add: gs:[off] += k, one `add` where the flags are free, else
** through scratch s with lea (no flags touched). */
static void hc_add_imm(uint8_t **p, int32_t off, int32_t k, int flags_free, int s)
{
  if (flags_free) { emit_gs_add_imm(p, off, k); return; }
  emit_gs_load(p, s, off);
  emit_lea_disp(p, s, k);
  emit_gs_store(p, s, off);
}

/* The app's flags (if saved) and saved registers back. */
static void hc_restore(uint8_t **p, int flags, uint32_t saved)
{
  if (flags) {
    emit_gs_load(p, R_RAX, SAVE(16));
    emit_u8(p, 0x04); emit_u8(p, 0x7f);       /* add al, 0x7f: OF */
    emit_u8(p, 0x9e);                         /* sahf */
  }
  for (int r = 0; r < 16; r++)
    if ((saved >> r) & 1) emit_gs_load(p, r, SAVE(r));
}

/* Registers whose app value is in their save slot, not in the register
** (bit per hardware number): left so by the last sites of the block being
** translated (arch_hc_unspill). */
static uint32_t hc_spilled;

/* The app's status flags are in SAVE(16) (lahf/seto form), not in the
** flags register. Then rax is in hc_spilled, or was dead where the flags
** were saved and is not touched until they are restored (its restore
** puts them back first), so the restore may use rax. */
static int hc_flags_saved;

uint32_t arch_hc_spilled(void) { return hc_spilled | (hc_flags_saved ? LIVE_FLAGS : 0); }
void arch_hc_set_spilled(uint32_t m)
{
  hc_spilled = m & 0xffffu;
  hc_flags_saved = (m & LIVE_FLAGS) != 0;
}

void arch_hc_unspill(uint8_t **p, uint32_t mask)
{
  if (hc_flags_saved && (mask & (LIVE_FLAGS | 1u << R_RAX))) {
    emit_gs_load(p, R_RAX, SAVE(16));
    emit_u8(p, 0x04); emit_u8(p, 0x7f);       /* add al, 0x7f: OF */
    emit_u8(p, 0x9e);                         /* sahf */
    hc_flags_saved = 0;
  }
  uint32_t m = hc_spilled & mask & 0xffffu;
  for (int r = 0; r < 16; r++)
    if ((m >> r) & 1) emit_gs_load(p, r, SAVE(r));
  hc_spilled &= ~m;
}

/* The next site's stripe of a striped upvalue sum (round robin). */
static unsigned hc_stripe;

/* Where each virtual register lives during one emission: a register, or
** -1 for its slot in the thread block. */
static int8_t hc_loc[HC_NVREGS];

/* A slot-homed vreg whose value is also in a register: the one hc_st last
** stored from that register (-1: none). arch_hc_emit keeps it only from one
** instruction to the next when that instruction's last write to the
** register was the store (hc_keep), so a value computed then read at once
** is not reloaded from its slot (a store-to-load round trip on every use). */
static int hc_held_reg = -1, hc_held_v = -1;
static unsigned hc_nheld; /* times hc_st set them */

/* Load vreg v into register r. */
static void hc_ld(uint8_t **p, int r, unsigned v)
{
  if (hc_loc[v] >= 0) {
    if (hc_loc[v] != r) emit_mov_rr(p, r, hc_loc[v]);
    if (hc_held_reg == r) hc_held_reg = hc_held_v = -1;
    return;
  }
  if (hc_held_v == (int)v && hc_held_reg == r) return;
  if (hc_held_v == (int)v) emit_mov_rr(p, r, hc_held_reg);
  else {
    emit_gs_load(p, r, VR(v));
    if (hc_held_reg == r) hc_held_reg = hc_held_v = -1;
  }
}

/* Store register r into vreg v. */
static void hc_st(uint8_t **p, unsigned v, int r)
{
  if (hc_loc[v] < 0) {
    if (hc_store_needed(v)) emit_gs_store(p, r, V(v));
    hc_held_reg = r, hc_held_v = (int)v;
    hc_nheld++;
  } else if (hc_loc[v] != r) emit_mov_rr(p, hc_loc[v], r);
}

/* A register holding vreg v: its own, or s loaded with it. */
static int hc_in(uint8_t **p, unsigned v, int s)
{
  if (hc_loc[v] >= 0) return hc_loc[v];
  if (hc_held_v == (int)v && hc_held_reg == s) return s;
  emit_gs_load(p, s, VR(v));
  return s;
}

/* Does op end with hc_st of its result, after every other write to a
** scratch register? Then the value stays held into the next instruction. */
static int hc_keep(int op)
{
  switch (op) {
  case HC_MOV: case HC_ADD: case HC_SUB: case HC_AND: case HC_OR: case HC_XOR: case HC_MUL:
  case HC_SHL: case HC_SHR: case HC_SAR: case HC_NEG: case HC_SX32: case HC_ZX32: case HC_LOAD: case HC_PTGET:
    return 1;
  default: return 0;
  }
}

/* The register to compute vreg d in (then hc_st): its own, or s. */
static int hc_out(unsigned d, int s) { return hc_loc[d] >= 0 ? hc_loc[d] : s; }

/* Does instruction in define vreg in->d? */
static int hc_defines(const struct hc_ins *in)
{
  return in->op <= HC_ZX32 || in->op == HC_LOAD || in->op == HC_PTGET;
}

/* The vregs in reads (bit set). */
static uint64_t hc_reads(const struct hc_ins *in)
{
  switch (in->op) {
  case HC_K: case HC_ARG: case HC_JMP: case HC_LABEL: return 0;
  case HC_MOV: case HC_SHL: case HC_SHR: case HC_SAR: case HC_NEG: case HC_SX32: case HC_ZX32:
  case HC_LOAD: case HC_UVADD: return 1ull << in->a;
  case HC_CTRADD: return (in->kidx ? 0 : 1ull << in->a) | 1ull << in->b;
  case HC_REC: return ((1ull << in->size) - 1) << in->a;
  case HC_PTGET: return in->kidx ? 0 : 1ull << in->a;
  case HC_PTSET: return (in->kidx ? 0 : 1ull << in->a) | 1ull << in->b;
  default: return 1ull << in->a | (in->bk ? 0 : 1ull << in->b);
  }
}

/* Copies coalesced (the emission's own copy of the program, hc_coalesce). */
static struct hc_ins hc_cins[HC_MAX_INS];

/* Where `MOV d, a` at i can be dropped though d or a is written elsewhere:
** every read of d after i comes before d's next write and before the next
** label (so every path to it went through i), with a unchanged up to it;
** past that label, d is read only after a write of it in the same
** straight run (a path through i may reach the label). The end of the
** span whose reads of d become reads of a, or 0 if the copy must stay.
** (The bytecode reuses one slot for every call's argument, so memcheck's
** lurk.low(ea, 2), lurk.shr(ea, 2)... each copied ea into a vreg written
** several times, stored and reloaded on the fast path.) */
static unsigned hc_copy_span(const struct hc_ins *ins, unsigned n, unsigned i)
{
  unsigned d = ins[i].d, a = ins[i].a;
  int a_set = 0;
  for (unsigned j = i + 1; j < n; j++) {
    const struct hc_ins *in = &ins[j];
    int rd = (int)((hc_reads(in) >> d) & 1);
    if (in->op == HC_LABEL) {
      /* past here, a read of d must follow a write of d with no label
      ** between (any path through i may reach a label) */
      int set = 0;
      for (unsigned k = j; k < n; k++) {
        if (ins[k].op == HC_LABEL) set = 0;
        if (!set && ((hc_reads(&ins[k]) >> d) & 1)) return 0;
        if (hc_defines(&ins[k]) && ins[k].d == d) set = 1;
      }
      return j;
    }
    if (rd && (a_set || in->op == HC_REC)) return 0;
    if (hc_defines(in) && in->d == d) return j + 1;
    if (hc_defines(in) && in->d == a) a_set = 1;
  }
  return n;
}

/* Remove `MOV d, a` where a is written only before it and d only there:
** from there on both hold one value, so d becomes a (the bytecode's moves
** into call slots and locals would otherwise each take a register or a
** slot; a copy of an argument for lurk.low(ea, 2), still read after, cost
** memcheck's check a store and a reload on its fast path). Not for vregs
** in a record's range, which must stay consecutive. Forward jumps only:
** program order is the order of every path, so "after" is the same on all
** of them. */
static unsigned hc_coalesce(struct hc_ins *ins, unsigned n)
{
  int lastdef[HC_NVREGS], ndef[HC_NVREGS];
  uint8_t pinned[HC_NVREGS] = { 0 };
  for (unsigned v = 0; v < HC_NVREGS; v++) lastdef[v] = -1, ndef[v] = 0;
  for (unsigned i = 0; i < n; i++) {
    if (hc_defines(&ins[i])) lastdef[ins[i].d] = (int)i, ndef[ins[i].d]++;
    if (ins[i].op == HC_REC)
      for (unsigned f = 0; f < ins[i].size; f++) pinned[ins[i].a + f] = 1;
  }
  unsigned m = 0;
  for (unsigned i = 0; i < n; i++) {
    struct hc_ins *in = &ins[i];
    unsigned d = in->d, a = in->a;
    unsigned end = 0;
    if (in->op == HC_MOV && (d == a || (ndef[d] == 1 && lastdef[a] < (int)i && !pinned[d] && !pinned[a])))
      end = n;
    else if (in->op == HC_MOV && !pinned[d] && !pinned[a])
      end = hc_copy_span(ins, n, i);
    if (end) {
      for (unsigned j = i + 1; j < end; j++) {
        uint64_t r = hc_reads(&ins[j]);
        if (((r >> d) & 1) && ins[j].a == d) ins[j].a = (uint8_t)a;
        if (((r >> d) & 1) && !ins[j].bk && ins[j].b == d && ins[j].op != HC_REC) ins[j].b = (uint8_t)a;
      }
      continue; /* dropped */
    }
    ins[m++] = *in;
  }
  return m;
}

static void hc_imm(uint8_t **p, int r, int64_t k)
{
  if (k == (int32_t)k) { emit_u8(p, hc_rex(1, 0, 0, r)); emit_u8(p, 0xc7); emit_u8(p, (uint8_t)(0xc0 | (r & 7))); emit_u32(p, (uint32_t)k); }
  else emit_mov_imm64(p, r, (uint64_t)k);
}

/* How often each instruction runs per pass, in HC_W1ths: 1 at the start,
** each conditional branch taken half the time, nothing after a jump or the
** handler's call until a label a jump reaches (jumps go forward only, so
** one pass in program order sees every way into a label). A use weighs
** that much: a vreg used three times on the path most passes take earns a
** saved register, one used only past two early returns does not (memcheck's
** check: 14 registers saved and restored around a 20-instruction fast path,
** for vregs of the rare partial-group tests). */
#define HC_W1 (1u << 20)
static void hc_weights(const struct hc_prog *pr, uint32_t *wt)
{
  uint32_t pend[HC_MAX_LABELS] = { 0 }, cur = HC_W1;
  for (unsigned i = 0; i < pr->n; i++) {
    const struct hc_ins *in = &pr->ins[i];
    if (in->op == HC_LABEL && in->d < HC_MAX_LABELS) cur += pend[in->d], pend[in->d] = 0;
    if (cur > HC_W1) cur = HC_W1;
    wt[i] = cur;
    if (in->op == HC_JMP && in->d < HC_MAX_LABELS) pend[in->d] += cur, cur = 0;
    else if (in->op == HC_BR && in->d < HC_MAX_LABELS) pend[in->d] += cur / 2, cur -= cur / 2;
    else if (in->op == HC_CALL) cur = 0;
  }
}

static void hc_emit(uint8_t **p, const struct hc_prog *pr, uint32_t site_id, uint32_t live,
                    uint64_t block_pc, const uint8_t *block_start);

/* The program at its site: a first pass notes the slots read back, then
** the code is emitted again over it without the stores nothing reads. The
** passes differ only in those stores (which change no register), so the
** second reads the same slots as the first. */
void arch_hc_emit(uint8_t **p, const struct hc_prog *pr, uint32_t site_id, uint32_t live,
                  uint64_t block_pc, const uint8_t *block_start)
{
  uint8_t *start = *p;
  uint32_t spilled = arch_hc_spilled();
  unsigned stripe = hc_stripe;
  lurk_memset(hc_slot_read, 0, sizeof hc_slot_read);
  hc_pass = 1;
  hc_emit(p, pr, site_id, live, block_pc, block_start);
  *p = start;
  arch_hc_set_spilled(spilled);
  hc_stripe = stripe;
  hc_pass = 2;
  hc_emit(p, pr, site_id, live, block_pc, block_start);
}

/* One pass of arch_hc_emit. */
static void hc_emit(uint8_t **p, const struct hc_prog *pr, uint32_t site_id, uint32_t live,
                    uint64_t block_pc, const uint8_t *block_start)
{
  const struct cc_site *site = cc_site_get(site_id);
  uint32_t reads = (uint32_t)hc_arg_reads(site);
  struct hc_prog cp = *pr;
  lurk_memcpy(hc_cins, pr->ins, pr->n * sizeof *pr->ins);
  cp.ins = hc_cins;
  cp.n = hc_coalesce(hc_cins, pr->n);
  pr = &cp;
  /* (a program that may call its handler shows it the app's whole state:
  ** live = LIVE_ALL below) */
  /* Values known at this site, instruction by instruction: constants,
  ** arguments known at translation (a constant, pc, count, size, a direct
  ** target) and what is computed from known values alone (the instruction
  ** becomes a constant; a known second operand, an immediate), forward in
  ** program order; at a label (where jumps join) only vregs written once
  ** stay known. Counter and upvalue adds of known cells and addends are
  ** folded into one instruction (hc_fold). */
  {
    uint8_t kn[HC_NVREGS] = { 0 }, ndef[HC_NVREGS] = { 0 };
    int64_t kv[HC_NVREGS];
    hc_ins0 = pr->ins;
    for (unsigned i = 0; i < pr->n; i++)
      if (hc_defines(&pr->ins[i]) && ndef[pr->ins[i].d] < 2) ndef[pr->ins[i].d]++;
    for (unsigned i = 0; i < pr->n; i++) {
      const struct hc_ins *in = &pr->ins[i];
      hc_ka[i] = kn[in->a];
      hc_va[i] = kv[in->a];
      hc_kb[i] = in->bk ? 1 : kn[in->b];
      hc_vb[i] = in->bk ? in->k : kv[in->b];
      int64_t v;
      if (in->op == HC_LABEL) { /* (a vreg written once keeps its one value) */
        for (unsigned r = 0; r < HC_NVREGS; r++)
          if (ndef[r] != 1) kn[r] = 0;
      } else if (in->op == HC_K) { kn[in->d] = 1; kv[in->d] = in->k; }
      else if (in->op == HC_ARG) kn[in->d] = (uint8_t)hc_arg_const(site, &site->args[in->a], &kv[in->d]);
      else if (in->op >= HC_MOV && in->op <= HC_ZX32 && hc_const(in, hc_ka[i], hc_va[i], hc_kb[i], hc_vb[i], &v)) {
        /* a value known here: the instruction becomes a constant */
        kn[in->d] = 1;
        kv[in->d] = v;
        hc_cins[i].op = HC_K;
        hc_cins[i].k = v;
      } else {
        if (hc_defines(in)) kn[in->d] = 0;
        if (((in->op >= HC_ADD && in->op <= HC_XOR) || in->op == HC_BR) && !in->bk && hc_kb[i] &&
            hc_vb[i] == (int32_t)hc_vb[i]) { /* b known: an immediate */
          hc_cins[i].bk = 1;
          hc_cins[i].k = hc_vb[i];
        }
      }
    }
  }
  /* Registers left saved by the sites before (hc_spilled) are free scratch
  ** here, and what this site saves stays saved after it (share), unless
  ** the program may call its handler, which must see the app's registers:
  ** then every one is restored first and the site restores its own. The
  ** arguments read app registers: those are restored first in any case. */
  int share = 1;
  uint32_t first = reads;
  for (unsigned i = 0; i < pr->n; i++) {
    if (pr->ins[i].op == HC_CALL) share = 0;
    if (pr->ins[i].op == HC_ARG && site->args[pr->ins[i].a].kind == CC_ARG_TAKEN) first |= LIVE_FLAGS;
  }
  arch_hc_unspill(p, share ? first : ~0u);
  /* flags saved by a site before: the flags register is free here */
  int fsaved = hc_flags_saved;
  /* the flags are saved only if live and written by something else than a
  ** folded add (which has a flag-free form) */
  int clobbers = 0;
  for (unsigned i = 0; i < pr->n; i++) {
    const struct hc_ins *in = &pr->ins[i];
    if (in->op == HC_CALL) live = LIVE_ALL;
    if ((in->op >= HC_ADD && in->op <= HC_NEG) || in->op == HC_BR || in->op == HC_REC || in->op == HC_HADD) clobbers = 1;
    if ((in->op == HC_CTRADD || in->op == HC_UVADD) && !hc_fold(in)) clobbers = 1;
  }
  int flags = !fsaved && (live & LIVE_FLAGS) && clobbers;
  int flags_free = flags || fsaved || !(live & LIVE_FLAGS); /* may an add clobber them */
  /* dead definitions: with forward jumps only, a vreg read by no later
  ** instruction (in program order) is dead; loads stay (they may fault) */
  uint8_t dead_ins[HC_MAX_INS];
  uint32_t uses[HC_NVREGS] = { 0 }, wt[HC_MAX_INS];
  uint64_t need = 0;
  hc_weights(pr, wt);
  for (unsigned i = pr->n; i-- > 0;) {
    const struct hc_ins *in = &pr->ins[i];
    dead_ins[i] = hc_defines(in) && in->op != HC_LOAD && !((need >> in->d) & 1);
    if (dead_ins[i]) continue;
    uint64_t r = hc_fold(in) ? 0 : hc_reads(in);
    if (in->op == HC_HADD && KB(in) && VB(in) == (int32_t)VB(in)) r &= ~(1ull << in->b); /* an immediate */
    need |= r;
    for (; r; r &= r - 1) uses[__builtin_ctzll(r)] += wt[i];
    if (hc_defines(in)) uses[in->d] += wt[i];
  }
  /* scratch: s0 (rax when the flags are saved through it), s1; dead ones first */
  uint32_t cand = 0xffffu & ~(1u << R_RSP) & ~reads;
  if (flags) cand &= ~1u;
  uint32_t dead = cand & (~live | hc_spilled);
  int s0, s1;
  if (flags) s0 = R_RAX;
  else s0 = __builtin_ctz(dead ? dead : cand);
  cand &= ~(1u << s0);
  dead &= ~(1u << s0);
  s1 = __builtin_ctz(dead ? dead : cand);
  cand &= ~(1u << s1);
  dead &= ~(1u << s1);
  /* a program whose only work is folded adds needs no scratch register
  ** where they have their flag-free one-instruction form, and only s0
  ** where they go through lea */
  int scratch = 0;
  for (unsigned i = 0; i < pr->n && scratch < 2; i++) {
    const struct hc_ins *in = &pr->ins[i];
    if (dead_ins[i] || in->op == HC_LABEL || in->op == HC_JMP || in->op == HC_ARG) continue;
    if ((in->op == HC_UVADD || in->op == HC_CTRADD) && hc_fold(in)) {
      if (!flags_free) scratch = 1;
      continue;
    }
    scratch = 2;
  }
  for (unsigned i = 0; i < pr->n && scratch < 2; i++)
    if (!dead_ins[i] && pr->ins[i].op == HC_ARG) scratch = 2;
  uint32_t k = (scratch ? 1u << s0 : 0) | (scratch > 1 ? 1u << s1 : 0); /* clobbered */
  /* vregs into registers, most used first: dead registers for any, live
  ** ones (saved and restored, two memory operations on every pass) for a
  ** vreg expected to be used 3 times or more a pass (hc_weights) */
  for (unsigned v = 0; v < HC_NVREGS; v++) hc_loc[v] = -1;
  uint64_t used = 0; /* vregs with uses (the scan below looks at those only) */
  for (unsigned v = 0; v < HC_NVREGS; v++)
    if (uses[v]) used |= 1ull << v;
  for (;;) {
    uint32_t best = 0;
    unsigned bv = HC_NVREGS;
    for (uint64_t m = used; m; m &= m - 1) {
      unsigned v = (unsigned)__builtin_ctzll(m);
      if (hc_loc[v] < 0 && uses[v] > best) best = uses[v], bv = v;
    }
    if (bv == HC_NVREGS) break;
    uint32_t pool = dead ? dead : (best >= 3 * HC_W1 ? cand : 0);
    if (!pool) break;
    int r = __builtin_ctz(pool);
    hc_loc[bv] = (int8_t)r;
    cand &= ~(1u << r);
    dead &= ~(1u << r);
    k |= 1u << r;
  }
  uint32_t saved = k & (live | reads) & ~hc_spilled;
  if (hc_pass == 2) stats.hc_saved += (uint64_t)__builtin_popcount(saved); /* (once per site) */
  hc_held_reg = hc_held_v = -1;
  for (int r = 0; r < 16; r++)
    if ((saved >> r) & 1) emit_gs_store(p, r, SAVE(r));
  /* arguments that need the app's flags (taken) come first */
  for (unsigned i = 0; i < pr->n; i++) {
    const struct hc_ins *in = &pr->ins[i];
    if (in->op != HC_ARG || dead_ins[i] || site->args[in->a].kind != CC_ARG_TAKEN) continue;
    int cc = hc_jcc(&site->in), r = hc_out(in->d, s1);
    emit_u8(p, hc_rex(0, 0, 0, r)); /* setcc r8 */
    emit_u8(p, 0x0f);
    emit_u8(p, (uint8_t)(0x90 | cc));
    emit_u8(p, (uint8_t)(0xc0 | (r & 7)));
    emit_u8(p, hc_rex(0, r, 0, r)); /* movzx r32, r8 */
    emit_u8(p, 0x0f);
    emit_u8(p, 0xb6);
    emit_u8(p, (uint8_t)(0xc0 | ((r & 7) << 3) | (r & 7)));
    hc_st(p, in->d, r);
  }
  if (flags) {
    emit_u8(p, 0x9f);                         /* lahf */
    emit_u8(p, 0x0f); emit_u8(p, 0x90); emit_u8(p, 0xc0); /* seto al */
    emit_gs_store(p, R_RAX, SAVE(16));
    hc_held_reg = hc_held_v = -1;
  }
  /* the other arguments: app registers an argument reads are never
  ** scratch, except rax under the flags (read back from its slot) */
  uint32_t clob = flags ? 1u << R_RAX : 0;
  for (unsigned i = 0; i < pr->n; i++) {
    const struct hc_ins *in = &pr->ins[i];
    if (in->op != HC_ARG || dead_ins[i] || site->args[in->a].kind == CC_ARG_TAKEN) continue;
    int r = hc_out(in->d, s0);
    hc_held_reg = hc_held_v = -1;
    hc_arg(p, r, s1, site, &site->args[in->a], clob);
    hc_st(p, in->d, r);
  }
  /* the body */
  uint8_t *lab[HC_MAX_LABELS] = { 0 };
  struct hc_fix fix[HC_MAX_INS];
  unsigned nfix = 0;
  static const uint8_t rm_op[] = { [HC_ADD] = 0x03, [HC_SUB] = 0x2b, [HC_AND] = 0x23, [HC_OR] = 0x0b, [HC_XOR] = 0x33 };
  static const uint8_t ri_digit[] = { [HC_ADD] = 0, [HC_SUB] = 5, [HC_AND] = 4, [HC_OR] = 1, [HC_XOR] = 6 };
  static const uint8_t jcc[] = { [HC_EQ] = 0x4, [HC_NE] = 0x5, [HC_LT] = 0xc, [HC_LE] = 0xe, [HC_GT] = 0xf,
                                 [HC_GE] = 0xd, [HC_LTU] = 0x2, [HC_LEU] = 0x6, [HC_GTU] = 0x7, [HC_GEU] = 0x3 };
  for (unsigned i = 0; i < pr->n; i++) {
    const struct hc_ins *in = &pr->ins[i];
    if (dead_ins[i]) continue;
    unsigned nheld = hc_nheld;
    int imm = in->bk && in->k == (int32_t)in->k;
    int d = hc_out(in->d, s0);
    /* d = a op b with d the register of b: compute in s0 instead */
    if (!in->bk && in->op >= HC_ADD && in->op <= HC_XOR && in->b != in->a && hc_loc[in->b] == d) d = s0;
    switch (in->op) {
    case HC_ARG: break;
    case HC_K:
      if (hc_loc[in->d] >= 0) hc_imm(p, d, in->k);
      else if (!hc_store_needed(in->d)) break;
      else if (in->k == (int32_t)in->k) emit_gs_store_imm(p, V(in->d), (int32_t)in->k);
      else { emit_mov_imm64(p, s0, (uint64_t)in->k); emit_gs_store(p, s0, V(in->d)); }
      break;
    case HC_MOV:
      hc_ld(p, d, in->a);
      hc_st(p, in->d, d);
      break;
    case HC_ADD: case HC_SUB: case HC_AND: case HC_OR: case HC_XOR: case HC_MUL:
      hc_ld(p, d, in->a);
      if (in->op == HC_MUL) {
        if (imm) { emit_u8(p, hc_rex(1, d, 0, d)); emit_u8(p, 0x69); emit_u8(p, (uint8_t)(0xc0 | ((d & 7) << 3) | (d & 7))); emit_u32(p, (uint32_t)in->k); }
        else if (in->bk) { emit_mov_imm64(p, s1, (uint64_t)in->k); hc_rr(p, 0xaf, d, s1); }
        else if (hc_loc[in->b] >= 0) hc_rr(p, 0xaf, d, hc_loc[in->b]);
        else { emit_u8(p, XO_SEG_GS); emit_u8(p, hc_rex(1, d, 0, 0)); emit_u8(p, 0x0f); emit_u8(p, 0xaf); emit_abs32(p, d, VR(in->b)); }
      } else if (imm) hc_ri(p, ri_digit[in->op], d, (int32_t)in->k);
      else if (in->bk) { emit_mov_imm64(p, s1, (uint64_t)in->k); hc_rr(p, (uint8_t)(rm_op[in->op] - 2), s1, d); }
      else if (hc_loc[in->b] >= 0) hc_rr(p, (uint8_t)(rm_op[in->op] - 2), hc_loc[in->b], d);
      else hc_rm_gs(p, rm_op[in->op], d, VR(in->b));
      hc_st(p, in->d, d);
      break;
    case HC_SHL: case HC_SHR: case HC_SAR:
      hc_ld(p, d, in->a);
      hc_r1(p, 0xc1, in->op == HC_SHL ? 4 : in->op == HC_SHR ? 5 : 7, d);
      emit_u8(p, (uint8_t)(in->k & 63));
      hc_st(p, in->d, d);
      break;
    case HC_NEG:
      hc_ld(p, d, in->a);
      hc_r1(p, 0xf7, 3, d);
      hc_st(p, in->d, d);
      break;
    case HC_SX32:
      if (hc_loc[in->a] >= 0) hc_rr(p, 0x63, d, hc_loc[in->a]);
      else { emit_u8(p, XO_SEG_GS); emit_u8(p, hc_rex(1, d, 0, 0)); emit_u8(p, 0x63); emit_abs32(p, d, VR(in->a)); }
      hc_st(p, in->d, d);
      break;
    case HC_ZX32:
      if (hc_loc[in->a] >= 0) {
        int a = hc_loc[in->a];
        if (a >= 8 || d >= 8) emit_u8(p, hc_rex(0, a, 0, d));
        emit_u8(p, 0x89);
        emit_u8(p, (uint8_t)(0xc0 | ((a & 7) << 3) | (d & 7)));
      } else { emit_u8(p, XO_SEG_GS); if (d >= 8) emit_u8(p, hc_rex(0, d, 0, 0)); emit_u8(p, 0x8b); emit_abs32(p, d, VR(in->a)); }
      hc_st(p, in->d, d);
      break;
    case HC_LOAD: {
      int a = hc_in(p, in->a, s1);
      if (hc_pass == 2) bb_meta_note(block_pc, (uint32_t)(*p - block_start), in->where);
      hc_load2(p, d, a, in->size);
      hc_st(p, in->d, d);
      break;
    }
    case HC_BR: {
      int a = hc_in(p, in->a, s0);
      if (imm) hc_ri(p, 7, a, (int32_t)in->k);
      else if (in->bk) { emit_mov_imm64(p, s1, (uint64_t)in->k); hc_rr(p, 0x39, s1, a); }
      else if (hc_loc[in->b] >= 0) hc_rr(p, 0x39, hc_loc[in->b], a);
      else hc_rm_gs(p, 0x3b, a, VR(in->b));
      fix[nfix].field = emit_jcc32(p, jcc[in->cond], (uint64_t)*p + 6);
      fix[nfix++].label = in->d;
      break;
    }
    case HC_JMP: { /* none to a label reached with no code in between */
      unsigned j = i + 1;
      while (j < pr->n && (dead_ins[j] || (pr->ins[j].op == HC_LABEL && pr->ins[j].d != in->d) ||
                           pr->ins[j].op == HC_ARG))
        j++;
      if (j == pr->n ? in->d == 0 : (pr->ins[j].op == HC_LABEL && pr->ins[j].d == in->d)) break;
      fix[nfix].field = emit_jmp32(p, (uint64_t)*p + 5);
      fix[nfix++].label = in->d;
      break;
    }
    case HC_LABEL:
      lab[in->d] = *p;
      break;
    case HC_UVADD: { /* sites take the upvalue's stripes in turn (lb_inl.c) */
      int64_t slot = in->k + (in->size > 1 ? hc_stripe++ % in->size : 0);
      if (hc_fold(in)) {
        hc_add_imm(p, TLS_INL + 8 * (int32_t)slot, (int32_t)VA(in), flags_free, s0);
        if (slot >= ARCH_INL_UNMARKED) emit_gs_store_imm8(p, TLS_INL_DIRTY + (int32_t)(slot / ARCH_INL_GROUP), 1);
        break;
      }
      int a = hc_in(p, in->a, s0);
      emit_u8(p, XO_SEG_GS); emit_u8(p, hc_rex(1, a, 0, 0)); emit_u8(p, 0x01);
      emit_abs32(p, a, TLS_INL + 8 * (int32_t)slot);
      if (slot >= ARCH_INL_UNMARKED) emit_gs_store_imm8(p, TLS_INL_DIRTY + (int32_t)(slot / ARCH_INL_GROUP), 1);
      break;
    }
    case HC_REC: { /* append a record; when it does not fit, the full path's clean call */
      int32_t ptr = TLS_HC_BUF + 24 * (int32_t)in->k;
      unsigned n = in->size;
      emit_gs_load(p, s0, ptr);
      hc_lea(p, s1, s0, -1, 1, (int32_t)(8 * n));
      hc_rm_gs(p, 0x3b, s1, ptr + 8);
      uint8_t *fits = emit_jcc32(p, 0x6 /* jbe */, (uint64_t)*p + 6);
      emit_lea_rsp(p, -128);
      emit_gs_store_imm(p, TLS_CC_SITE, (int32_t)in->where);
      emit_gs_call(p, TLS_CC_ENTRY);
      emit_lea_rsp(p, 128);
      emit_gs_load(p, s0, ptr);
      emit_patch_rel32(fits, (uint64_t)*p);
      for (unsigned f = 0; f < n; f++) {
        int v = hc_loc[in->a + f] >= 0 ? hc_loc[in->a + f] : (emit_gs_load(p, s1, VR(in->a + f)), s1);
        hc_store_disp(p, s0, (int32_t)(8 * f), v);
      }
      hc_lea(p, s1, s0, -1, 1, (int32_t)(8 * n));
      emit_gs_store(p, s1, ptr);
      break;
    }
    case HC_HADD: { /* the key's home slot and the next; else the miss path's clean call */
      int32_t hb = TLS_HC_HASH + 32 * (int32_t)in->k;
      int key = hc_in(p, in->a, s0);
      int addk = KB(in) && VB(in) == (int32_t)VB(in);
      emit_mov_imm64(p, s1, HC_HASH_MUL);
      hc_rr(p, 0xaf, s1, key);                  /* imul s1, key */
      hc_r1(p, 0xc1, 5, s1);                    /* shr s1, HC_HASH_SHIFT */
      emit_u8(p, HC_HASH_SHIFT);
      hc_rm_gs(p, 0x23, s1, hb + 8);            /* and s1, mask */
      hc_rm_gs(p, 0x03, s1, hb);                /* add s1, slots */
      hc_rm_disp8(p, 0x39, key, s1, 0);         /* cmp [s1], key */
      uint8_t *home = emit_jcc32(p, 0x4, (uint64_t)*p + 6);
      hc_rm_disp8(p, 0x39, key, s1, 16);        /* cmp [s1+16], key */
      uint8_t *miss = emit_jcc32(p, 0x5, (uint64_t)*p + 6);
      hc_ri(p, 0, s1, 16);
      emit_patch_rel32(home, (uint64_t)*p);
      if (addk) { /* add qword [s1+8], imm32 */
        emit_u8(p, hc_rex(1, 0, 0, s1)); emit_u8(p, 0x81);
        emit_u8(p, (uint8_t)(0x40 | (s1 & 7))); if ((s1 & 7) == R_RSP) emit_u8(p, 0x24);
        emit_u8(p, 8); emit_u32(p, (uint32_t)VB(in));
      } else hc_rm_disp8(p, 0x01, hc_in(p, in->b, s0), s1, 8);
      uint8_t *done = emit_jmp32(p, (uint64_t)*p + 5);
      emit_patch_rel32(miss, (uint64_t)*p);
      emit_gs_store(p, hc_in(p, in->a, s0), hb + 16);
      if (addk) emit_gs_store_imm(p, hb + 24, (int32_t)VB(in));
      else emit_gs_store(p, hc_in(p, in->b, s0), hb + 24);
      emit_lea_rsp(p, -128);
      emit_gs_store_imm(p, TLS_CC_SITE, (int32_t)in->where);
      emit_gs_call(p, TLS_CC_ENTRY);
      emit_lea_rsp(p, 128);
      emit_patch_rel32(done, (uint64_t)*p);
      break;
    }
    case HC_PTGET: case HC_PTSET: { /* mov between r and gs:[a*8 + cell k] */
      int32_t off = TLS_CTR + 8 * (int32_t)in->k;
      int st = in->op == HC_PTSET;
      int r = st ? hc_in(p, in->b, s1) : hc_out(in->d, s0);
      if (in->kidx) {
        if (st) emit_gs_store(p, r, off);
        else emit_gs_load(p, r, off);
      } else {
        int a = hc_in(p, in->a, st ? s0 : s1);
        emit_u8(p, XO_SEG_GS); emit_u8(p, hc_rex(1, r, a, 0)); emit_u8(p, st ? 0x89 : 0x8b);
        emit_u8(p, (uint8_t)(((r & 7) << 3) | 4));
        emit_u8(p, (uint8_t)((3 << 6) | ((a & 7) << 3) | 5));
        emit_u32(p, (uint32_t)off);
      }
      if (!st) hc_st(p, in->d, r);
      break;
    }
    case HC_CALL: /* the app's state back, then the handler as a clean call */
      hc_restore(p, flags, saved);
      emit_lea_rsp(p, -128);
      emit_gs_store_imm(p, TLS_CC_SITE, (int32_t)site_id);
      emit_gs_call(p, TLS_CC_ENTRY);
      emit_lea_rsp(p, 128);
      fix[nfix].field = emit_jmp32(p, (uint64_t)*p + 5);
      fix[nfix++].label = HC_MAX_LABELS; /* past the restore */
      break;
    case HC_CTRADD: {
      if (hc_fold(in)) {
        int64_t cell = in->k + (in->kidx ? 0 : VA(in));
        hc_add_imm(p, TLS_CTR + 8 * (int32_t)cell, (int32_t)VB(in), flags_free, s0);
        break;
      }
      int b = hc_in(p, in->b, s1);
      if (in->kidx) {
        emit_u8(p, XO_SEG_GS); emit_u8(p, hc_rex(1, b, 0, 0)); emit_u8(p, 0x01);
        emit_abs32(p, b, TLS_CTR + 8 * (int32_t)in->k);
      } else { /* add gs:[a*8 + TLS_CTR + 8k], b */
        int a = hc_in(p, in->a, s0);
        emit_u8(p, XO_SEG_GS); emit_u8(p, hc_rex(1, b, a, 0)); emit_u8(p, 0x01);
        emit_u8(p, (uint8_t)(((b & 7) << 3) | 4));
        emit_u8(p, (uint8_t)((3 << 6) | ((a & 7) << 3) | 5));
        emit_u32(p, (uint32_t)(TLS_CTR + 8 * (int32_t)in->k));
      }
      break;
    }
    }
    if (in->op != HC_ARG && !(hc_keep(in->op) && hc_nheld != nheld)) hc_held_reg = hc_held_v = -1;
  }
  lab[0] = *p;
  hc_restore(p, share ? 0 : flags, share ? 0 : saved);
  if (share) {
    hc_spilled |= saved;
    if (flags) hc_flags_saved = 1;
  }
  for (unsigned i = 0; i < nfix; i++)
    emit_patch_rel32(fix[i].field, fix[i].label == HC_MAX_LABELS ? (uint64_t)*p : (uint64_t)lab[fix[i].label]);
}
