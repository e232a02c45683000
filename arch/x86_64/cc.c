/* lurk: x86-64 values of clean-call arguments, computed from the app's
** machine context at the call (engine/bb.h). */
#include <Zydis/Zydis.h>
#include <asm/prctl.h>
#include "../arch.h"
#include "syscall.h"
#include "../../engine/bb.h"
#include "../../engine/thr.h"

/* The value of app register reg (a Zydis id) in m; 0 if it is not a
** general register, rflags or rip. */
uint64_t arch_reg_value(const struct arch_mctx *m, uint16_t reg)
{
  ZydisRegister r = (ZydisRegister)reg;
  if (r == ZYDIS_REGISTER_RIP) return m->rip;
  if (r == ZYDIS_REGISTER_RFLAGS || r == ZYDIS_REGISTER_EFLAGS) return m->rflags;
  ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
  if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15) return 0;
  uint64_t v = m->gpr[big - ZYDIS_REGISTER_RAX];
  if (r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH ||
      r == ZYDIS_REGISTER_BH)
    return (v >> 8) & 0xff;
  switch (ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r)) {
  case 8: return v & 0xff;
  case 16: return v & 0xffff;
  case 32: return v & 0xffffffff;
  default: return v;
  }
}

/* Does arch_reg_value know reg (general registers, rflags, rip)? */
int arch_reg_readable(uint16_t reg)
{
  ZydisRegister r = (ZydisRegister)reg;
  if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_RFLAGS || r == ZYDIS_REGISTER_EFLAGS) return 1;
  ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
  return big >= ZYDIS_REGISTER_RAX && big <= ZYDIS_REGISTER_R15;
}

/* Set app register reg (64-bit general registers, rflags); 0 if not one. */
int arch_reg_set(struct arch_mctx *m, uint16_t reg, uint64_t v)
{
  ZydisRegister r = (ZydisRegister)reg;
  if (r == ZYDIS_REGISTER_RFLAGS) { m->rflags = v; return 1; }
  if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15) {
    m->gpr[r - ZYDIS_REGISTER_RAX] = v;
    return 1;
  }
  return 0;
}

/* SysV x86-64: rdi, rsi, rdx, rcx, r8, r9; xmm0-7. */
const uint8_t arch_abi_args[ARCH_ABI_NARGS] = { MCTX_RDI, MCTX_RSI, MCTX_RDX, MCTX_RCX, MCTX_R8, MCTX_R9 };

/* xmm i as lurk_cc saved it (context.S: at its fxsave-image offset). */
uint8_t *arch_cc_vreg(struct lurk_thread *t, unsigned i) { return t->tls.xsave + 160 + 16 * i; }

/* The register id of a name ("rax", "r12d", "rflags"); 0 if none. */
uint16_t arch_reg_by_name(const char *name)
{
  for (int r = 1; r <= ZYDIS_REGISTER_MAX_VALUE; r++) {
    const char *s = ZydisRegisterGetString((ZydisRegister)r);
    if (s && lurk_strcmp(s, name) == 0) return (uint16_t)r;
  }
  return 0;
}

static uint64_t seg_base(const struct lurk_thread *t, uint16_t seg)
{
  if (seg == ZYDIS_REGISTER_GS) return t->tls.app_gs;
  if (seg == ZYDIS_REGISTER_FS) {
    (void)t;
    return arch_app_fs();
  }
  return 0;
}

/* Effective address of a memory operand of the instruction ending at next. */
static uint64_t ea(const struct lurk_thread *t, const struct insn_opnd *op, uint64_t next)
{
  const struct arch_mctx *m = &t->tls.mctx;
  uint64_t a = (uint64_t)op->mem.disp;
  if (op->mem.base == ZYDIS_REGISTER_RIP) a += next;
  else if (op->mem.base) a += arch_reg_value(m, op->mem.base);
  if (op->mem.index) a += arch_reg_value(m, op->mem.index) * (op->mem.scale ? op->mem.scale : 1);
  return a + seg_base(t, op->mem.seg);
}

/* Will the conditional branch in jump, with flags f and rcx c? */
static int taken(const struct insn *in, uint64_t f, uint64_t c)
{
  int cf = f & 1, pf = (f >> 2) & 1, zf = (f >> 6) & 1, sf = (f >> 7) & 1, of = (f >> 11) & 1;
  unsigned i = 0;
  int addr32 = 0;
  while (i < in->len && (in->bytes[i] == 0x66 || in->bytes[i] == 0x67 || in->bytes[i] == 0x2e ||
                         in->bytes[i] == 0x3e || in->bytes[i] == 0xf2 || in->bytes[i] == 0xf3)) {
    if (in->bytes[i] == 0x67) addr32 = 1;
    i++;
  }
  uint64_t cx = addr32 ? (c & 0xffffffff) : c;
  uint8_t op = in->bytes[i];
  unsigned cc;
  if (op == 0xe3) return cx == 0;                               /* jrcxz/jecxz */
  if (op == 0xe2) return cx - 1 != 0;                           /* loop */
  if (op == 0xe1) return cx - 1 != 0 && zf;                     /* loope */
  if (op == 0xe0) return cx - 1 != 0 && !zf;                    /* loopne */
  if ((op & 0xf0) == 0x70) cc = op & 0xf;
  else if (op == 0x0f && (in->bytes[i + 1] & 0xf0) == 0x80) cc = in->bytes[i + 1] & 0xf;
  else return 0;
  int r;
  switch (cc >> 1) {
  case 0: r = of; break;
  case 1: r = cf; break;
  case 2: r = zf; break;
  case 3: r = cf || zf; break;
  case 4: r = sf; break;
  case 5: r = pf; break;
  case 6: r = sf != of; break;
  default: r = zf || sf != of; break;
  }
  return (cc & 1) ? !r : r;
}

uint64_t arch_cc_arg(const struct lurk_thread *t, const struct cc_site *s, const struct cc_arg *a)
{
  const struct arch_mctx *m = &t->tls.mctx;
  uint64_t next = s->in.pc + s->in.len, v = 0;
  switch (a->kind) {
  case CC_ARG_REG: return arch_reg_value(m, a->reg);
  case CC_ARG_EA: return ea(t, &a->op, next);
  case CC_ARG_TAKEN: return (uint64_t)taken(&s->in, m->rflags, m->gpr[MCTX_RCX]);
  case CC_ARG_TARGET:
    if (s->in.flags & INSN_F_DIRECT) return s->in.target;
    if (s->in.flags & INSN_F_RET) {
      arch_copy_in(&v, m->gpr[MCTX_RSP], 8);
      return v;
    }
    if (a->op.kind == INSN_OPND_REG) return arch_reg_value(m, a->op.reg);
    if (a->op.kind == INSN_OPND_MEM) arch_copy_in(&v, ea(t, &a->op, next), 8);
    return v;
  default: return a->val;
  }
}

/* -- Vector registers in a clean call ------------------------------------------
** lurk_cc saved xmm0-15 in the thread's xsave area (fxsave offsets); the
** upper halves of ymm0-15 are still in the registers themselves (nothing
** on lurk's side touches them: docs/architecture.md), so they are read and
** written there, and the write stands when the call returns. */

uint8_t *arch_cc_xmm(struct lurk_thread *t, int i)
{
  return t->tls.xsave + 160 + 16 * i;
}

#define YMM_HI(n)                                                                        \
  case n:                                                                                \
    if (set) __asm__ volatile("vinsertf128 $1, (%0), %%ymm" #n ", %%ymm" #n ::"r"(buf) : "memory"); \
    else __asm__ volatile("vextractf128 $1, %%ymm" #n ", (%0)" ::"r"(buf) : "memory");    \
    break;

int arch_cc_ymm_hi(const struct lurk_thread *t, int i, void *buf, int set)
{
  if ((t->tls.xcr0_lo & 6) != 6) return -1; /* the OS has not enabled AVX */
  switch (i) {
    YMM_HI(0) YMM_HI(1) YMM_HI(2) YMM_HI(3) YMM_HI(4) YMM_HI(5) YMM_HI(6) YMM_HI(7)
    YMM_HI(8) YMM_HI(9) YMM_HI(10) YMM_HI(11) YMM_HI(12) YMM_HI(13) YMM_HI(14) YMM_HI(15)
  default: return -1;
  }
  return 0;
}
