/* lurk: the x87 last-instruction pointer (FIP) that an app's fnstenv,
** fnsave, fxsave or xsave stores. The CPU stores the pc of the last x87
** instruction it ran, in the cache the copy's; natively it is the
** program's. Each such instruction ends its block with an exit
** (CACHE_EXIT_X87, tr.c) to arch_x87_fip, which puts the app pc in the
** stored image, as DynamoRIO's float_pc_update does.
*/
#include <Zydis/Zydis.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include "../arch.h"
#include "syscall.h"
#include "xl.h"
#include "../../engine/cache.h"
#include "../../engine/thr.h"

static ZydisDecoder x87_dec;
static int x87_ready;

/* Where the image keeps FIP and how wide it is, for the saving instruction
** in (0: it stores none). The 32-bit formats (fnstenv/fnsave, and fxsave
** and xsave without REX.W) hold its low 32 bits. */
static int x87_slot(const ZydisDecodedInstruction *in, unsigned *off)
{
  int w64 = in->operand_width == 64 || (in->attributes & ZYDIS_ATTRIB_HAS_REX && in->raw.rex.W);
  switch (in->mnemonic) {
  case ZYDIS_MNEMONIC_FNSTENV:
  case ZYDIS_MNEMONIC_FNSAVE:
    if (in->operand_width == 16) return 0; /* (the 16-bit format: not handled) */
    *off = 12;
    return 4;
  case ZYDIS_MNEMONIC_FXSAVE: case ZYDIS_MNEMONIC_FXSAVE64:
  case ZYDIS_MNEMONIC_XSAVE: case ZYDIS_MNEMONIC_XSAVE64:
  case ZYDIS_MNEMONIC_XSAVEOPT: case ZYDIS_MNEMONIC_XSAVEOPT64:
  case ZYDIS_MNEMONIC_XSAVEC: case ZYDIS_MNEMONIC_XSAVEC64:
  case ZYDIS_MNEMONIC_XSAVES: case ZYDIS_MNEMONIC_XSAVES64:
    *off = 8;
    return in->mnemonic == ZYDIS_MNEMONIC_FXSAVE64 || in->mnemonic == ZYDIS_MNEMONIC_XSAVE64 ||
                   in->mnemonic == ZYDIS_MNEMONIC_XSAVEOPT64 || in->mnemonic == ZYDIS_MNEMONIC_XSAVEC64 ||
                   in->mnemonic == ZYDIS_MNEMONIC_XSAVES64 || w64
               ? 8 : 4;
  default:
    return 0;
  }
}

int arch_x87_saves(const void *in)
{
  unsigned off;
  return x87_slot(in, &off) != 0;
}

/* The effective address of the memory operand o, with the app's registers
** (m) and segment bases. */
static uint64_t x87_ea(const struct lurk_thread *t, const ZydisDecodedInstruction *in,
                       const ZydisDecodedOperand *o, uint64_t next)
{
  const struct arch_mctx *m = &t->tls.mctx;
  uint64_t ea = (uint64_t)o->mem.disp.value;
  ZydisRegister r[2] = { o->mem.base, o->mem.index };
  for (int i = 0; i < 2; i++) {
    if (r[i] == ZYDIS_REGISTER_NONE) continue;
    uint64_t v;
    if (r[i] == ZYDIS_REGISTER_RIP || r[i] == ZYDIS_REGISTER_EIP) v = next;
    else {
      ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r[i]);
      v = m->gpr[big - ZYDIS_REGISTER_RAX];
    }
    ea += i ? v * o->mem.scale : v;
  }
  if (in->address_width == 32) ea &= 0xffffffffu;
  if (o->mem.segment == ZYDIS_REGISTER_GS) ea += t->tls.app_gs;
  if (o->mem.segment == ZYDIS_REGISTER_FS) ea += arch_app_fs();
  return ea;
}

void arch_x87_fip(struct lurk_thread *t, uint64_t from_cpc)
{
  uint64_t pc = t->tls.mctx.rip;
  uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
  size_t avail = 0;
  if (!x87_ready) {
    ZydisDecoderInit(&x87_dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    x87_ready = 1;
  }
  avail = arch_fetch_app(buf, pc, sizeof buf);
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  LURK_ASSERT(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&x87_dec, buf, avail, &in, ops)),
              "x87 exit: the saving instruction no longer decodes");
  uint64_t next = pc + in.length;
  t->tls.mctx.rip = next;
  unsigned off = 0;
  int width = x87_slot(&in, &off);
  uint64_t cfip, stored = 0;
  __builtin_memcpy(&cfip, t->tls.xsave + 8, 8); /* the CPU's FIP, saved at the cache exit */
  if (!width || ops[0].type != ZYDIS_OPERAND_TYPE_MEMORY) return;
  uint64_t at = x87_ea(t, &in, &ops[0], next) + off, mask = width == 8 ? ~0ull : 0xffffffffull;
  if (arch_copy_in(&stored, at, (size_t)width)) return;
  /* Only the value the CPU stored (not a pc an fldenv or frstor put back,
  ** which is the program's already). Where the exit's own xsave holds no
  ** FIP (fnsave re-initialises the x87 state after storing it; AMD CPUs
  ** save FIP in fxsave/xsave only with an exception pending), the stored
  ** pc is the cache's when it falls in the cache, the high half taken from
  ** the block's own address. */
  uint64_t fip;
  if (cache_holds(cfip)) {
    if (stored != (cfip & mask)) return;
    fip = cfip;
  } else {
    if (!stored) return; /* (0: no x87 instruction since init) */
    fip = width == 8 ? stored : (from_cpc & ~mask) | stored;
    if (!cache_holds(fip)) return;
  }
  uint8_t img[16];
  __builtin_memcpy(img + 8, &fip, 8);
  uint64_t app = arch_fip_app(img, &t->tls);
  if (!app) return;
  arch_copy_out(at, &app, (size_t)width);
  /* FOP, recorded with FIP: bits 0-10 of the word at 6 (fxsave, xsave), or
  ** of the word at 18 (fnstenv, fnsave: above FCS) */
  int fop = arch_fop_app(app);
  uint16_t w;
  uint64_t fa = at - off + (off == 8 ? 6 : 18);
  if (fop >= 0 && !arch_copy_in(&w, fa, 2)) {
    w = (uint16_t)((w & 0xf800) | fop);
    arch_copy_out(fa, &w, 2);
  }
}
