/* lurk: x86-64 block translator.
** Decodes app code with Zydis, mangles what cannot run as is (branches,
** calls, returns, syscalls, rip-relative operands) and emits the block and
** its exit stubs into the code cache. Legal-block rules: a block ends at the
** first control transfer or syscall, or after TR_MAX_INSN instructions; a
** call is always the first instruction of its block.
*/
#include <Zydis/Zydis.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include "../arch.h"
#include "emit.h"
#include "live.h"
#include "../../engine/hc.h"
#include "syscall.h"
#include "target.h"
#include "xl.h"
#include "../../engine/bb.h"
#include "../../engine/log.h"
#include "../../engine/mem.h"
#include "../../engine/opt.h"
#include "../../engine/rseq.h"
#include "../../engine/thr.h"
#include "../../engine/vm.h"

#define TR_MAX_INSN 96
#define TR_FETCH ARCH_BLOCK_MAX_BYTES
#define TR_MAX_EXITS 8 /* two for the last instruction, the rest side exits */

extern const uint8_t lurk_ibl_begin[], lurk_ibl_end[];
extern const uint8_t lurk_iblc_begin[], lurk_iblc_end[];
extern const uint8_t lurk_iblr_begin[], lurk_iblr_end[];
extern const uint8_t lurk_iblrc_begin[], lurk_iblrc_end[];
#define TR_GIBL(n) extern const uint8_t lurk_gibl##n##_begin[], lurk_gibl##n##_data[], lurk_gibl##n##_end[]
#define TR_GIBLS(g) TR_GIBL(g); TR_GIBL(c##g); TR_GIBL(r##g); TR_GIBL(rc##g)
TR_GIBLS(0);
TR_GIBLS(1);
TR_GIBLS(2);
TR_GIBLS(3);

static ZydisDecoder tr_dec;
static int tr_ready;

/* Where and why the last translation failed (for arch_translate_failed). */
static struct {
  uint64_t pc;
  uint8_t bytes[16];
  unsigned nbytes;
  const char *why;
} tr_fail;

/* -- Fetching app bytes ------------------------------------------------------ */

/* Pages known readable and executable (page number + 1, direct-mapped;
** TR_W set when the page was also writable). A fetch within known pages
** decodes the app's bytes in place, or copies them when a page is writable
** (another thread may be writing it: decoding and emitting must see the
** same bytes); the rest goes through process_vm_readv on ourselves, which
** reads without risking a fault in the engine. Forgotten whenever the app
** changes its mappings. */
#define TR_RPAGES 4096
#define TR_W (1ull << 63)
static uint64_t tr_rpages[TR_RPAGES];

void arch_memory_changed(uint64_t lo, uint64_t hi)
{
  if (hi <= lo) return;
  uint64_t first = lo >> 12, last = (hi - 1) >> 12;
  if (last - first >= TR_RPAGES) { /* a large range: look at every entry instead */
    for (unsigned i = 0; i < TR_RPAGES; i++) {
      uint64_t pg = (tr_rpages[i] & ~TR_W) - 1;
      if (tr_rpages[i] && pg >= first && pg <= last) tr_rpages[i] = 0;
    }
    return;
  }
  for (uint64_t pg = first; pg <= last; pg++)
    if ((tr_rpages[pg & (TR_RPAGES - 1)] & ~TR_W) == pg + 1) tr_rpages[pg & (TR_RPAGES - 1)] = 0;
}

static uint64_t tr_page_entry(uint64_t page) { return tr_rpages[page & (TR_RPAGES - 1)]; }
static int tr_page_known(uint64_t page) { return (tr_page_entry(page) & ~TR_W) == page + 1; }

/* How many of the n bytes at pc lie on executable pages: an instruction
** fetch from a page without PROT_EXEC faults (NX), however readable. */
static size_t tr_exec_span(uint64_t pc, size_t n)
{
  for (uint64_t pg = pc >> 12; pg <= (pc + n - 1) >> 12; pg++) {
    int prot = vm_prot(pg << 12);
    if (prot < 0 || !(prot & PROT_EXEC)) return pg << 12 <= pc ? 0 : (pg << 12) - pc;
  }
  return n;
}

/* The bytes to decode at pc, up to *np of them (updated): the app's own
** memory where both ends are on known pages (no copy: a block is a few
** dozen of the bytes fetched), else a copy in buf that stops at the first
** page that is unreadable or not executable. */
static const uint8_t *tr_fetch(uint64_t pc, uint8_t *buf, size_t *np)
{
  size_t n = *np;
  uint64_t first = pc >> 12, last = (pc + n - 1) >> 12;
  if (tr_page_known(first) && tr_page_known(last)) {
    if (!((tr_page_entry(first) | tr_page_entry(last)) & TR_W)) return (const uint8_t *)pc;
    lurk_memcpy(buf, (void *)pc, n);
    return buf;
  }
  /* Known pages passed this check when they were first read (and any
  ** change to the mappings forgets them): only the others need it. */
  n = tr_exec_span(pc, n);
  *np = 0;
  if (n == 0) return buf;
  first = pc >> 12;
  struct iovec local = { buf, n }, remote = { (void *)pc, n };
  /* By thread id (the thread's own, kept: not a gettid call per fetch):
  ** once the main thread has exited (a zombie leader with no mm), the
  ** process id no longer names a task that can be read. */
  long r = sys_call6(SYS_process_vm_readv, thr_self()->tid, (sys_word)&local, 1,
                     (sys_word)&remote, 1, 0);
  if (r == -38 || r == -1) { /* ENOSYS/EPERM (seccomp): read directly */
    lurk_memcpy(buf, (void *)pc, n);
    *np = n;
    return buf;
  }
  size_t got = SYS_FAILED(r) ? 0 : (size_t)r;
  /* Protection is per page: one byte read proves its whole page. */
  for (uint64_t pg = first; got && pg <= (pc + got - 1) >> 12; pg++)
    tr_rpages[pg & (TR_RPAGES - 1)] = (pg + 1) | (vm_prot(pg << 12) & PROT_WRITE ? TR_W : 0);
  /* A page process_vm_readv refuses may still be executable (write+exec
  ** or exec-only: no VM_READ): read it with the soft-faulting copy. */
  while (got < n) {
    size_t k = (size_t)(((pc + got) | 0xfff) + 1 - (pc + got));
    if (k > n - got) k = n - got;
    if (arch_copy_in(buf + got, pc + got, k)) break;
    got += k;
  }
  *np = got;
  return buf;
}

/* -- Translation records (xl.h) ------------------------------------------------ */

#define TR_MAX_XL 512
static struct xl_rec tr_xl[TR_MAX_XL];
static unsigned tr_nxl;
static int tr_fault_only; /* the block is instrumented (XL_F_FAULT) */
static uint32_t tr_live[TR_MAX_INSN + 1]; /* live_block of the plan's instructions */
static uint8_t *tr_start;
static uint64_t tr_pc0;

/* From p on, the app state is as `kind` says about the app pc at apc. */
static void tr_rec(const uint8_t *p, int kind, uint64_t apc, int reg)
{
  uint16_t coff = (uint16_t)(p - tr_start), aoff = (uint16_t)(apc - tr_pc0);
  if (tr_fault_only && coff) kind |= XL_F_FAULT;
  if (tr_nxl && tr_xl[tr_nxl - 1].coff == coff) tr_nxl--; /* superseded */
  if (tr_nxl && kind == XL_LINEAR && tr_xl[tr_nxl - 1].kind == XL_LINEAR &&
      tr_xl[tr_nxl - 1].aoff + (coff - tr_xl[tr_nxl - 1].coff) == aoff)
    return; /* continues the run */
  LURK_ASSERT(tr_nxl < TR_MAX_XL, "too many translation records");
  tr_xl[tr_nxl++] = (struct xl_rec){ coff, aoff, (uint8_t)kind, (uint8_t)reg, 0 };
}

/* From p on, the app state is whole before the instruction at apc but for
** the registers in mask, which wait in their compiled handlers' save
** slots, and the flags if mask has LIVE_FLAGS (XL_HCSAVE; none: a
** verbatim copy, XL_LINEAR). */
static void tr_rec_saved(const uint8_t *p, uint64_t apc, uint32_t mask)
{
  if (!mask) { tr_rec(p, XL_LINEAR, apc, 0); return; }
  tr_rec(p, XL_HCSAVE, apc, (mask & LIVE_FLAGS) != 0);
  tr_xl[tr_nxl - 1].mask = (uint16_t)mask;
}

/* Put the registers compiled handlers left in their save slots back (hc.c):
** before anything but a verbatim copy of an instruction that leaves them
** alone. */
static void tr_unspill(uint8_t **p) { arch_hc_unspill(p, ~0u); }

/* -- Helpers ------------------------------------------------------------------ */

/* nops so that the rel32 of an oplen-byte-opcode branch emitted at *p is
** 4-byte aligned: links are patched with one atomic store while other
** threads may be running the branch. */
static void tr_align(uint8_t **p, unsigned oplen)
{
  while (((uintptr_t)*p + oplen) & 3) emit_u8(p, 0x90);
}

/* An exit branch: jmp rel32 (cc < 0) or jcc rel32, field aligned. */
static uint8_t *tr_exit_br(uint8_t **p, int cc)
{
  if (cc < 0) {
    tr_align(p, 1);
    return emit_jmp32(p, (uint64_t)*p + 5);
  }
  tr_align(p, 2);
  return emit_jcc32(p, cc, (uint64_t)*p + 6);
}

static int reg_id64(ZydisRegister r)
{
  ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
  if (big >= ZYDIS_REGISTER_RAX && big <= ZYDIS_REGISTER_R15)
    return (int)(big - ZYDIS_REGISTER_RAX);
  return -1;
}

static ZydisRegister reg_zy64(int id) { return (ZydisRegister)(ZYDIS_REGISTER_RAX + id); }

/* A general register the instruction neither reads nor writes (not rsp). */
static int tr_scratch(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
  unsigned used = 1u << R_RSP;
  for (unsigned i = 0; i < in->operand_count; i++) {
    int a = -1, b = -1;
    if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER) a = reg_id64(ops[i].reg.value);
    else if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY) {
      a = reg_id64(ops[i].mem.base);
      b = reg_id64(ops[i].mem.index);
    }
    if (a >= 0) used |= 1u << a;
    if (b >= 0) used |= 1u << b;
  }
  for (int r = 0; r < 16; r++)
    if (!(used & (1u << r))) return r;
  return -1;
}

/* The segment whose operands the translation rewrites: gs always (lurk's
** thread block is the gs base), fs where arch_fs_mangled (fs is then the
** engine's libc's in the cache too); ZYDIS_REGISTER_NONE for neither. */
static ZydisRegister mangled_seg(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
  int fs = arch_fs_mangled;
  for (unsigned i = 0; i < in->operand_count; i++) {
    ZydisRegister seg = ZYDIS_REGISTER_NONE;
    if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY) seg = ops[i].mem.segment;
    else if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER && (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
      seg = ops[i].reg.value;
    if (seg == ZYDIS_REGISTER_GS || (fs && seg == ZYDIS_REGISTER_FS)) return seg;
  }
  if (in->mnemonic == ZYDIS_MNEMONIC_RDGSBASE || in->mnemonic == ZYDIS_MNEMONIC_WRGSBASE ||
      in->mnemonic == ZYDIS_MNEMONIC_SWAPGS)
    return ZYDIS_REGISTER_GS;
  if (fs && (in->mnemonic == ZYDIS_MNEMONIC_RDFSBASE || in->mnemonic == ZYDIS_MNEMONIC_WRFSBASE))
    return ZYDIS_REGISTER_FS;
  return ZYDIS_REGISTER_NONE;
}

static lurk_status tr_unsupported(uint64_t pc, const uint8_t *bytes, unsigned n, const char *why)
{
  tr_fail.pc = pc;
  tr_fail.nbytes = n > 16 ? 16 : n;
  lurk_memcpy(tr_fail.bytes, bytes, tr_fail.nbytes);
  tr_fail.why = why;
  return LURK_ERR(UNSUPPORTED);
}

/* Encode req at p (absolute addressing: Zydis computes rip-relative fields). */
static int tr_encode(ZydisEncoderRequest *req, uint8_t **p)
{
  ZyanUSize len = ZYDIS_MAX_INSTRUCTION_LENGTH;
  if (ZYAN_FAILED(ZydisEncoderEncodeInstructionAbsolute(req, cache_w(*p), &len, (ZyanU64)*p)))
    return 0;
  *p += len;
  return 1;
}

/* -- Mangling ----------------------------------------------------------------- */

/* Copy an instruction with a rip-relative operand, re-aimed at the same
** absolute address; through a scratch register when the cache is out of
** rel32 reach of it. *end: the end of the instruction's own copy (a
** scratch register's restore follows it). */
static lurk_status tr_riprel(uint8_t **p, uint64_t pc, const uint8_t *bytes,
                             const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops, uint8_t **end)
{
  uint64_t target = pc + in->length + (uint64_t)in->raw.disp.value;
  if (emit_rel32_ok(*p + in->length, target)) {
    tr_rec(*p, XL_LINEAR, pc, 0);
    emit_bytes_at(*p, bytes, in->length);
    int32_t d = (int32_t)(target - (uint64_t)(*p + in->length));
    emit_bytes_at(*p + in->raw.disp.offset, &d, 4);
    *p += in->length;
    return LURK_OK;
  }
  if (in->mnemonic == ZYDIS_MNEMONIC_LEA && ops[0].size == 64) {
    tr_rec(*p, XL_AT, pc, 0);
    emit_mov_imm64(p, reg_id64(ops[0].reg.value), target);
    return LURK_OK;
  }
  int r = tr_scratch(in, ops);
  ZydisEncoderRequest req;
  if (r < 0 || ZYAN_FAILED(ZydisEncoderDecodedInstructionToEncoderRequest(
                   in, ops, in->operand_count_visible, &req)))
    return tr_unsupported(pc, bytes, in->length, "far rip-relative operand cannot be rewritten");
  for (unsigned i = 0; i < req.operand_count; i++)
    if (req.operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
        req.operands[i].mem.base == ZYDIS_REGISTER_RIP) {
      req.operands[i].mem.base = reg_zy64(r);
      req.operands[i].mem.displacement = 0;
    }
  uint8_t *start = *p;
  tr_rec(*p, XL_AT, pc, 0);
  emit_gs_store(p, r, TLS_SPILL_SCR);
  tr_rec(*p, XL_SCR, pc, r);
  emit_mov_imm64(p, r, target);
  if (!tr_encode(&req, p)) {
    *p = start;
    return tr_unsupported(pc, bytes, in->length, "far rip-relative operand cannot be re-encoded");
  }
  *end = *p;
  tr_rec(*p, XL_SCR, pc + in->length, r);
  emit_gs_load(p, r, TLS_SPILL_SCR);
  return LURK_OK;
}

/* lea r64, [b + i*scale + disp32] (i < 0: no index) */
static void tr_emit_lea(uint8_t **p, int r, int b, int i, unsigned scale, int32_t disp)
{
  int ix = i < 0 ? 4 : i;
  unsigned ss = scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
  emit_u8(p, (uint8_t)(0x48 | ((r >> 3) << 2) | ((ix >> 3) << 1) | (b >> 3)));
  emit_u8(p, 0x8d);
  emit_u8(p, (uint8_t)(0x84 | ((r & 7) << 3)));
  emit_u8(p, (uint8_t)((ss << 6) | ((ix & 7) << 3) | (b & 7)));
  emit_u32(p, (uint32_t)disp);
}

/* mov r32, gs:[off] (store: mov gs:[off], r32) */
static void tr_emit_gs32(uint8_t **p, int r, int32_t off, int store)
{
  emit_u8(p, XO_SEG_GS);
  if (r >= 8) emit_u8(p, 0x44);
  emit_u8(p, store ? 0x89 : 0x8b);
  emit_abs32(p, r, off);
}

/* The register a segment load writes and nothing else reads (mov, movzx,
** movsx, movsxd into a 32- or 64-bit register that is not in the
** address): it can hold the segment base itself, and needs no restore
** after the load (only its spill, for a fault). -1 if none. */
static int tr_seg_dest(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops, int base, int index)
{
  if (in->mnemonic != ZYDIS_MNEMONIC_MOV && in->mnemonic != ZYDIS_MNEMONIC_MOVZX &&
      in->mnemonic != ZYDIS_MNEMONIC_MOVSX && in->mnemonic != ZYDIS_MNEMONIC_MOVSXD)
    return -1;
  if (ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER || ops[0].actions != ZYDIS_OPERAND_ACTION_WRITE ||
      ops[0].size < 32 || ops[1].type != ZYDIS_OPERAND_TYPE_MEMORY)
    return -1;
  int r = reg_id64(ops[0].reg.value);
  return r < 0 || r == R_RSP || r == base || r == index ? -1 : r;
}

/* An instruction that uses the app's gs (or its fs, where mangled): lurk's
** thread block holds the gs base, the app's is TLS_APP_GS (TLS_APP_FS).
** rdgsbase/wrgsbase read or write that field (without FSGSBASE they are
** copied and raise #UD, as natively). A segment memory operand becomes
** [scratch + base + disp], the scratch register (spilled) holding the
** app's base plus index*scale (a lea, so the flags are left alone); a load
** into a register uses its destination as the scratch. lea's own
** segment prefix does nothing: copied. *end as for tr_riprel. */
static lurk_status tr_seg(uint8_t **p, uint64_t pc, const uint8_t *bytes,
                          const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops, ZydisRegister seg,
                          uint8_t **end)
{
  int fs = seg == ZYDIS_REGISTER_FS;
  int32_t app = fs ? TLS_APP_FS : TLS_APP_GS;
  ZydisMnemonic rd = fs ? ZYDIS_MNEMONIC_RDFSBASE : ZYDIS_MNEMONIC_RDGSBASE;
  ZydisMnemonic wr = fs ? ZYDIS_MNEMONIC_WRFSBASE : ZYDIS_MNEMONIC_WRGSBASE;
  if (in->mnemonic == rd || in->mnemonic == wr || in->mnemonic == ZYDIS_MNEMONIC_LEA) {
    tr_rec(*p, XL_AT, pc, 0);
    if (in->mnemonic == ZYDIS_MNEMONIC_LEA || !arch_fsgsbase()) {
      emit_bytes_at(*p, bytes, in->length);
      *p += in->length;
      return LURK_OK;
    }
    int r = reg_id64(ops[0].reg.value);
    if (in->mnemonic == rd) {
      if (ops[0].size == 64) emit_gs_load(p, r, app);
      else tr_emit_gs32(p, r, app, 0); /* zero-extends, as rdgsbase r32 */
    } else if (ops[0].size == 64) {
      emit_gs_store(p, r, app);
    } else { /* wrgsbase r32: the base is the zero-extended value */
      tr_emit_gs32(p, r, app, 1);
      emit_u8(p, XO_SEG_GS); /* mov dword gs:[app + 4], 0 */
      emit_u8(p, 0xc7);
      emit_abs32(p, 0, app + 4);
      emit_u32(p, 0);
    }
    return LURK_OK;
  }
  const ZydisDecodedOperand *m = NULL;
  for (unsigned i = 0; i < in->operand_count; i++)
    if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].mem.segment == seg) m = &ops[i];
  if (!m) return tr_unsupported(pc, bytes, in->length, fs ? "the app writes the fs selector (lurk owns fs)"
                                                           : "the app writes the gs selector (lurk owns gs)");
  if (m->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT || in->address_width != 64)
    return tr_unsupported(pc, bytes, in->length, fs ? "implicit or 32-bit-addressed fs operand" : "implicit or 32-bit-addressed gs operand");
  int base = m->mem.base == ZYDIS_REGISTER_NONE ? -1 : reg_id64(m->mem.base);
  int index = m->mem.index == ZYDIS_REGISTER_NONE ? -1 : reg_id64(m->mem.index);
  int64_t disp = m->mem.disp.value;
  int r = tr_seg_dest(in, ops, base, index);
  int reuse = r >= 0;
  if (!reuse) r = tr_scratch(in, ops);
  if ((m->mem.base != ZYDIS_REGISTER_NONE && base < 0) || (m->mem.index != ZYDIS_REGISTER_NONE && index < 0) ||
      disp != (int32_t)disp || r < 0)
    return tr_unsupported(pc, bytes, in->length, "segment operand cannot be rewritten (rip, vector index)");
  ZydisEncoderRequest req;
  if (ZYAN_FAILED(ZydisEncoderDecodedInstructionToEncoderRequest(in, ops, in->operand_count_visible, &req)))
    return tr_unsupported(pc, bytes, in->length, "segment operand cannot be re-encoded");
  /* The operand becomes [r + base + disp], r the app's segment base plus
  ** index*scale (rsp cannot be an index: then it is the base) */
  ZydisRegister ob = reg_zy64(r), oi = base >= 0 ? reg_zy64(base) : ZYDIS_REGISTER_NONE;
  if (base == R_RSP) ob = reg_zy64(base), oi = reg_zy64(r);
  for (unsigned i = 0; i < req.operand_count; i++)
    if (req.operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY) {
      req.operands[i].mem.base = ob;
      req.operands[i].mem.index = oi;
      req.operands[i].mem.scale = oi == ZYDIS_REGISTER_NONE ? 0 : 1;
      req.operands[i].mem.displacement = disp;
    }
  req.prefixes &= ~(ZydisInstructionAttributes)(ZYDIS_ATTRIB_HAS_SEGMENT_GS | ZYDIS_ATTRIB_HAS_SEGMENT_FS |
                                                ZYDIS_ATTRIB_HAS_SEGMENT);
  uint8_t *start = *p;
  tr_rec(*p, XL_AT, pc, 0);
  emit_gs_store(p, r, TLS_SPILL_SCR);
  tr_rec(*p, XL_SCR, pc, r);
  emit_gs_load(p, r, app);
  if (index >= 0) tr_emit_lea(p, r, r, index, m->mem.scale, 0);
  if (!tr_encode(&req, p)) {
    *p = start;
    return tr_unsupported(pc, bytes, in->length, "segment operand cannot be re-encoded");
  }
  *end = *p;
  if (reuse) { /* the load wrote r: nothing to restore */
    tr_rec(*p, XL_AT, pc + in->length, 0);
    return LURK_OK;
  }
  tr_rec(*p, XL_SCR, pc + in->length, r);
  emit_gs_load(p, r, TLS_SPILL_SCR);
  return LURK_OK;
}

/* Load an indirect branch's target operand into rcx (app rcx already spilled). */
static lurk_status tr_load_target(uint8_t **p, uint64_t pc, const uint8_t *bytes,
                                  const ZydisDecodedInstruction *in, const ZydisDecodedOperand *op)
{
  if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
    int r = reg_id64(op->reg.value);
    if (r < 0 || op->size != 64) return tr_unsupported(pc, bytes, in->length, "odd indirect branch");
    if (r != R_RCX) emit_mov_rr(p, R_RCX, r);
    return LURK_OK;
  }
  if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->mem.segment == ZYDIS_REGISTER_GS)
    return tr_unsupported(pc, bytes, in->length, "odd indirect branch operand");
  if (op->mem.base == ZYDIS_REGISTER_RIP) {
    uint64_t addr = pc + in->length + (uint64_t)op->mem.disp.value;
    if (op->mem.segment == ZYDIS_REGISTER_FS)
      return tr_unsupported(pc, bytes, in->length, "fs-relative rip-relative branch");
    if (emit_rel32_ok(*p + 7, addr)) emit_load_riprel(p, R_RCX, addr);
    else { emit_mov_imm64(p, R_RCX, addr); emit_load_ind(p, R_RCX); }
    return LURK_OK;
  }
  ZydisEncoderRequest req;
  lurk_memset(&req, 0, sizeof req);
  req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
  req.mnemonic = ZYDIS_MNEMONIC_MOV;
  req.operand_count = 2;
  req.operands[0].type = ZYDIS_OPERAND_TYPE_REGISTER;
  req.operands[0].reg.value = ZYDIS_REGISTER_RCX;
  req.operands[1].type = ZYDIS_OPERAND_TYPE_MEMORY;
  req.operands[1].mem.base = op->mem.base;
  req.operands[1].mem.index = op->mem.index;
  req.operands[1].mem.scale = op->mem.index == ZYDIS_REGISTER_NONE ? 0 : op->mem.scale;
  req.operands[1].mem.displacement = op->mem.disp.value;
  req.operands[1].mem.size = 8;
  if (op->mem.segment == ZYDIS_REGISTER_FS) req.prefixes = ZYDIS_ATTRIB_HAS_SEGMENT_FS;
  if (!tr_encode(&req, p))
    return tr_unsupported(pc, bytes, in->length, "cannot re-encode indirect branch operand");
  return LURK_OK;
}

/* The lookup routine templates, [isret][counting] (context.S). */
static const struct { const uint8_t *begin, *end; } tr_ibls[2][2] = {
  { { lurk_ibl_begin, lurk_ibl_end }, { lurk_iblc_begin, lurk_iblc_end } },
  { { lurk_iblr_begin, lurk_iblr_end }, { lurk_iblrc_begin, lurk_iblrc_end } },
};

/* Append the lookup routine: rcx holds the app target (isret: the return
** flavour, the target is still on the stack). */
static void tr_ibl(uint8_t **p, int isret)
{
  const uint8_t *b = tr_ibls[isret][opt.stats != 0].begin, *e = tr_ibls[isret][opt.stats != 0].end;
  emit_bytes_at(*p, b, (size_t)(e - b));
  *p += e - b;
}

/* The guarded lookup templates, [guard][isret][counting] (context.S GIBL). */
#define TR_GT(n) { lurk_gibl##n##_begin, lurk_gibl##n##_data, lurk_gibl##n##_end }
#define TR_GTS(g) { { TR_GT(g), TR_GT(c##g) }, { TR_GT(r##g), TR_GT(rc##g) } }
static const struct { const uint8_t *begin, *data, *end; } tr_gibls[ARCH_GUARDS][2][2] = {
  TR_GTS(0), TR_GTS(1), TR_GTS(2), TR_GTS(3),
};
_Static_assert(ARCH_GUARDS == 4, "one GIBL set per guard");

int arch_guard_data_ok(uint64_t d)
{
  /* TLS_GUARD_DATA is a writable slot: a value the app stored must not pass
  ** for a site's data. Real data sits in a block, after a byte copy of a
  ** GIBL template of its own guard (nothing in a copy but the data is
  ** patched: tr_ibl_guard). */
  const struct cache_block *b = cache_block_at(d);
  if (!b || d + 40 > (uint64_t)b->cpc + b->csize) return 0;
  for (unsigned g = 0; g < ARCH_GUARDS; g++)
    for (int r = 0; r < 2; r++)
      for (int c = 0; c < 2; c++) {
        size_t n = (size_t)(tr_gibls[g][r][c].data - tr_gibls[g][r][c].begin);
        if (d - n >= (uint64_t)b->cpc && lurk_memcmp((const void *)(d - n), tr_gibls[g][r][c].begin, n) == 0 &&
            ((const uint64_t *)d)[4] == g)
          return 1;
      }
  return 0;
}

/* Append the lookup of a site guarded by plan->guard (rcx holds the app
** target, as for tr_ibl) and fill in its data: the app pc of the branch, the
** range looked up without the guard, and delta, what the app rsp was
** before the branch minus what it is at the lookup. */
static void tr_ibl_guard(uint8_t **p, int isret, const struct bb_plan *plan, uint64_t pc, int64_t delta)
{
  unsigned g = plan->guard - 1u;
  const uint8_t *b = tr_gibls[g][isret][opt.stats != 0].begin, *e = tr_gibls[g][isret][opt.stats != 0].end;
  uint64_t data[5] = { pc, plan->guard_lo, plan->guard_hi, (uint64_t)delta, g };
  emit_bytes_at(*p, b, (size_t)(e - b));
  emit_bytes_at(*p + (tr_gibls[g][isret][opt.stats != 0].data - b), data, sizeof data);
  *p += e - b;
}

/* A call's return-address push, done with a real call so the CPU's return
** stack predicts the translated ret: `call 1f; pad: jmp <exit to ret_pc>;
** 1: mov qword [rsp], ret_pc`. The cache address the call pushed is replaced
** at once, so the app stack only ever holds the app return address. */
static struct cache_exit *tr_call_push(uint8_t **p, struct cache_block *b, uint64_t ret_pc,
                                       uint8_t **field)
{
  uint8_t *call = *p;
  emit_call32(p, (uint64_t)*p + 5); /* aimed below, once the pad's size is known */
  b->ret_pc = ret_pc;
  b->ret_pad = *p;
  tr_rec(*p, XL_AT, ret_pc, 0);
  struct cache_exit *e = cache_exit_new(b, CACHE_EXIT_DIRECT, ret_pc);
  *field = tr_exit_br(p, -1);
  emit_patch_rel32(call + 1, (uint64_t)*p);
  tr_rec(*p, XL_NONE, ret_pc, 0);
  emit_store_rsp64(p, ret_pc, R_RAX, TLS_SPILL_RAX);
  return e;
}

/* An emulation exit: the instruction at pc does not run in the cache; the
** dispatcher does what the CPU would (arch_emulate, emul.c). The app state
** is whole up to the stub's last store, as before a syscall. */
static void tr_emul(uint8_t **p, struct cache_block *b, uint64_t pc)
{
  tr_rec(*p, XL_AT, pc, 0);
  struct cache_exit *e = cache_exit_new(b, CACHE_EXIT_EMUL, pc);
  e->stub = *p;
  emit_exit_stub(p, e->id, TLS_EXIT_ID, TLS_DISP_ENTRY);
}

/* -- rseq commits (engine/rseq.h, docs/decisions.md) ------------------------- */

struct tr_pending { uint8_t *field; struct cache_exit *e; };
struct tr_rseq { uint8_t *desc_imm, *abort_rel, *start; };

static void tr_bytes(uint8_t **p, const uint8_t *b, size_t n) { emit_bytes_at(*p, b, n); *p += n; }

/* Before the commit instruction (at pc) of a known rseq section. On a
** thread with a registered area: swap lurk's descriptor into rseq_cs and
** take the app's value out; 0 means the kernel cleared it since the app
** armed it (preempted, migrated or signalled: under lurk the interrupted
** pc is never in the app's range), so the section aborts. From w->start to
** the commit's end lurk's descriptor is armed, and the kernel aborts the
** window itself, to the abort stub (tr_rseq_post). Flags are untouched
** (jrcxz, xchg). Not registered: the commit runs plain. */
static void tr_rseq_pre(uint8_t **p, uint64_t pc, struct tr_rseq *w)
{
  static const uint8_t xchg[] = { 0x48, 0x87, 0x51, 0x08 }; /* xchg [rcx+8], rdx */
  static const uint8_t test[] = { 0x48, 0x89, 0xd1,         /* mov rcx, rdx */
                                  0xe3, 0x02, 0xeb, 0x05,   /* jrcxz +2; jmp +5 */
                                  0xe9, 0, 0, 0, 0 };       /* jmp abort stub */
  tr_rec(*p, XL_AT, pc, 0);
  emit_gs_store(p, R_RCX, TLS_SPILL_RCX);
  tr_rec(*p, XL_RCX, pc, 0);
  emit_gs_store(p, R_RDX, TLS_SPILL_RDX);
  tr_rec(*p, XL_RCXRDX, pc, 0);
  emit_gs_load(p, R_RCX, TLS_RSEQ_AREA);
  emit_u8(p, 0xe3); /* jrcxz: not registered */
  uint8_t *skip = (*p)++;
  emit_mov_imm64(p, R_RDX, 0);
  w->desc_imm = *p - 8;
  tr_bytes(p, xchg, sizeof xchg);
  w->start = *p;
  emit_gs_store(p, R_RDX, TLS_RSEQ_SAVE);
  tr_bytes(p, test, sizeof test);
  w->abort_rel = *p - 4;
  *cache_w(skip) = (uint8_t)(*p - skip - 1);
  emit_gs_load(p, R_RDX, TLS_SPILL_RDX);
  tr_rec(*p, XL_RCX, pc, 0);
  emit_gs_load(p, R_RCX, TLS_SPILL_RCX);
}

/* After the commit (pc, ending at next): put the app's rseq_cs value back
** (natively it stays armed until the kernel's next look), then lurk's
** descriptor for [w->start, here) and its abort stub: rseq_cs cleared as
** the kernel's abort leaves it, rcx and rdx back, and an exit to the app's
** abort_ip. The stub's state maps to the commit's pc, inside the section:
** a signal delivered there goes to abort_ip (rseq_signal), and a resume
** there finds rseq_cs cleared and aborts. The stub's exit goes in *pe.
** The window ends at commit_end, the end of the commit's own copy: a
** scratch register restored after it (a far rip-relative or a mangled fs
** operand) is past the commit, and an interruption there must not abort. */
static void tr_rseq_post(uint8_t **p, struct cache_block *b, uint64_t pc, uint64_t next, uint8_t *commit_end,
                         const struct rseq_sec *s, const struct tr_rseq *w, struct tr_pending *pe)
{
  static const uint8_t put[] = { 0x48, 0x89, 0x51, 0x08 };             /* mov [rcx+8], rdx */
  static const uint8_t clear[] = { 0x48, 0xc7, 0x41, 0x08, 0, 0, 0, 0 }; /* mov qword [rcx+8], 0 */
  tr_rec(*p, XL_AT, next, 0);
  emit_gs_store(p, R_RCX, TLS_SPILL_RCX);
  tr_rec(*p, XL_RCX, next, 0);
  emit_gs_store(p, R_RDX, TLS_SPILL_RDX);
  tr_rec(*p, XL_RCXRDX, next, 0);
  emit_gs_load(p, R_RCX, TLS_RSEQ_AREA);
  emit_u8(p, 0xe3);
  uint8_t *skip = (*p)++;
  emit_gs_load(p, R_RDX, TLS_RSEQ_SAVE);
  tr_bytes(p, put, sizeof put);
  *cache_w(skip) = (uint8_t)(*p - skip - 1);
  emit_gs_load(p, R_RDX, TLS_SPILL_RDX);
  tr_rec(*p, XL_RCX, next, 0);
  emit_gs_load(p, R_RCX, TLS_SPILL_RCX);
  tr_rec(*p, XL_AT, next, 0);
  emit_u8(p, 0xe9); /* jmp over the descriptor and the stub */
  uint8_t *over = *p;
  *p += 4;
  while (((uintptr_t)*p + 0) & 31) emit_u8(p, 0xcc);
  uint8_t *desc = *p;
  uint64_t abort = (uint64_t)(desc + 36);
  emit_u32(p, 0); /* version */
  emit_u32(p, 0); /* flags */
  emit_u64(p, (uint64_t)w->start);
  emit_u64(p, (uint64_t)(commit_end - w->start));
  emit_u64(p, abort);
  emit_u32(p, s->sig); /* the kernel checks the signature before abort_ip */
  emit_bytes_at(w->desc_imm, &desc, 8);
  emit_patch_rel32(w->abort_rel, abort);
  tr_rec(*p, XL_RCXRDX, pc, 0);
  emit_gs_load(p, R_RCX, TLS_RSEQ_AREA);
  tr_bytes(p, clear, sizeof clear);
  emit_gs_load(p, R_RDX, TLS_SPILL_RDX);
  tr_rec(*p, XL_RCX, pc, 0);
  emit_gs_load(p, R_RCX, TLS_SPILL_RCX);
  tr_rec(*p, XL_AT, pc, 0);
  pe->e = cache_exit_new(b, CACHE_EXIT_DIRECT, s->abort);
  pe->field = tr_exit_br(p, -1);
  emit_patch_rel32(over, (uint64_t)*p);
  tr_rec(*p, XL_AT, next, 0); /* committed: what follows is after it */
}

/* Does the CPU have RTM (CPUID.7.0:EBX bit 11)? */
static int tr_has_rtm(void)
{
  static int rtm = -1;
  if (rtm < 0) {
    uint32_t a = 7, b, c = 0, d;
    __asm__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    rtm = (b >> 11) & 1;
  }
  return rtm;
}

/* -- Instrumentation ------------------------------------------------------------- */

/* A clean call: past the red zone, site id, call lurk_cc (context.S). */
static void tr_cc(uint8_t **p, uint32_t site)
{
  emit_lea_rsp(p, -128);
  tr_rec(*p, XL_NONE, tr_pc0, 0); /* rsp is off from here to the end */
  emit_gs_store_imm(p, TLS_CC_SITE, (int32_t)site);
  emit_gs_call(p, TLS_CC_ENTRY);
  emit_lea_rsp(p, 128);
}

/* An inlined clean call: add k to counter slot s of the running thread,
** gs:[TLS_INL + 8s]: one `add` where the app's flags are dead (tr_live),
** else through a dead register with lea (which leaves the flags alone),
** else through rax spilled to TLS_SPILL_SCR (free here: it is used only
** inside one app instruction's rewrite). Then, unless the
** slot is one of the first ARCH_INL_UNMARKED (always folded) or the next
** op at the same place adds to the same group of slots (mark = 0), set
** the group's dirty byte: after the add, so a fold that clears the
** byte and then reads the counter misses no add (lb_inl_sync). */
static void tr_add(uint8_t **p, uint32_t s, int64_t k, int mark, uint32_t live)
{
  int32_t slot = TLS_INL + 8 * (int32_t)s;
  LURK_ASSERT(k == (int32_t)k && s < ARCH_INL_SLOTS, "inlined addend or slot out of range");
  if (!(live & LIVE_FLAGS)) { /* flags dead: one add */
    emit_gs_add_imm(p, slot, (int32_t)k);
  } else {
    /* flags live: through a dead register if there is one, else rax */
    int r = R_RAX;
    uint32_t dead = ~live & 0xffffu;
    if (dead) r = __builtin_ctz(dead);
    else emit_gs_store(p, R_RAX, TLS_SPILL_SCR);
    emit_gs_load(p, r, slot);
    emit_lea_disp(p, r, (int32_t)k);
    emit_gs_store(p, r, slot);
    if (!dead) emit_gs_load(p, R_RAX, TLS_SPILL_SCR);
  }
  if (mark && s >= ARCH_INL_UNMARKED) emit_gs_store_imm8(p, TLS_INL_DIRTY + (int32_t)(s / ARCH_INL_GROUP), 1);
}

/* tr_live for the plan: what the app and the plan's own ops read. An op
** that may read any register (a clean call reads them through ctx, a meta
** instruction is opaque) makes everything live at its boundary; a block
** translated alone (b->solo: its plan may be cut) assumes everything live. */
static void tr_liveness(const struct bb_plan *plan, int solo)
{
  uint32_t extra[TR_MAX_INSN + 1];
  unsigned n = plan->n < TR_MAX_INSN ? plan->n : TR_MAX_INSN;
  for (unsigned i = 0; i <= n; i++) extra[i] = solo ? LIVE_ALL : 0;
  for (unsigned k = 0; k < plan->nops; k++) {
    const struct bb_op *o = &plan->ops[k];
    unsigned at = o->at + o->after;
    if (at > n) continue;
    if (o->kind == BB_OP_HC) extra[at] |= arch_hc_live(hc_prog_get((uint32_t)o->k), cc_site_get(o->site));
    else if (o->kind != BB_OP_ADD) extra[at] |= LIVE_ALL;
  }
  /* a superblock's side exits: the taken path may read anything */
  for (unsigned i = 0; i + 1 < n; i++)
    if (plan->insns[i].flags & INSN_F_CBR) extra[i + 1] |= LIVE_ALL;
  live_block(plan->insns, n, extra, tr_live);
}

/* Does the op after ops[k] at the same place add to the same group of
** counter slots as ops[k] (so ops[k] need not set the dirty byte)? */
static int tr_add_same_group(const struct bb_plan *plan, unsigned k)
{
  const struct bb_op *o = &plan->ops[k];
  for (unsigned j = k + 1; j < plan->nops; j++) {
    const struct bb_op *n = &plan->ops[j];
    if (n->at != o->at || n->after != o->after) continue;
    return n->kind == BB_OP_ADD && n->site / ARCH_INL_GROUP == o->site / ARCH_INL_GROUP;
  }
  return 0;
}

/* A rip-relative meta instruction (lurk.asm, or a copied app one): its
** operand names the absolute address mpc + len + disp, re-aimed from
** where it is emitted; out of rel32 reach, through a scratch register
** (spilled to TLS_SPILL_SCR, as tr_riprel does for app instructions). The
** bindings checked that it decodes and neither branches nor syscalls. */
static void tr_meta_riprel(uint8_t **p, const struct bb_op *o)
{
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  ZydisEncoderRequest req;
  ZyanStatus st = ZydisDecoderDecodeFull(&tr_dec, o->bytes, o->len, &in, ops);
  LURK_ASSERT(ZYAN_SUCCESS(st), "meta instruction decodes (lb_bb.c checked it)");
  uint64_t target = o->mpc + in.length + (uint64_t)in.raw.disp.value;
  if (emit_rel32_ok(*p + in.length, target)) {
    emit_bytes_at(*p, o->bytes, in.length);
    int32_t d = (int32_t)(target - (uint64_t)(*p + in.length));
    emit_bytes_at(*p + in.raw.disp.offset, &d, 4);
    *p += in.length;
    return;
  }
  int r = tr_scratch(&in, ops);
  st = ZydisEncoderDecodedInstructionToEncoderRequest(&in, ops, in.operand_count_visible, &req);
  LURK_ASSERT(r >= 0 && ZYAN_SUCCESS(st), "meta rip-relative instruction has a scratch register");
  for (unsigned i = 0; i < req.operand_count; i++)
    if (req.operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY && req.operands[i].mem.base == ZYDIS_REGISTER_RIP) {
      req.operands[i].mem.base = reg_zy64(r);
      req.operands[i].mem.displacement = 0;
    }
  uint8_t *start = *p;
  emit_gs_store(p, r, TLS_SPILL_SCR);
  emit_mov_imm64(p, r, target);
  if (!tr_encode(&req, p)) {
    *p = start;
    log_fatal("meta instruction at 0x%lx cannot be re-encoded through a register", (unsigned long)o->mpc);
  }
  emit_gs_load(p, r, TLS_SPILL_SCR);
}

/* Emit the plan's ops at app instruction i, before (after = 0) or after it.
** Stops at a BB_OP_JMP and returns its app target (else 0): the caller
** ends the block with an exit there. */
static uint64_t tr_plan_ops(uint8_t **p, const struct bb_plan *plan, unsigned i, int after,
                            uint64_t apc)
{
  for (unsigned k = 0; k < plan->nops; k++) {
    const struct bb_op *o = &plan->ops[k];
    if (o->at != i || o->after != after) continue;
    if (o->kind == BB_OP_JMP) return (uint64_t)o->k;
    /* A clean call or a meta instruction sees the app's registers: those
    ** compiled handlers left saved go back first (an inlined add uses no
    ** app register, a compiled handler knows which are saved). */
    if (o->kind != BB_OP_HC && o->kind != BB_OP_ADD) tr_unspill(p);
    /* Before the first op of the block the app state is whole (the block
    ** start, where asynchronous signals of an instrumented block wait). */
    tr_rec(*p, *p == tr_start ? XL_AT : XL_NONE, apc, 0);
    if (o->kind == BB_OP_CALL || o->kind == BB_OP_WRAP) tr_cc(p, o->site);
    else if (o->kind == BB_OP_HC)
      arch_hc_emit(p, hc_prog_get((uint32_t)o->k), o->site, tr_live[i + after], plan->pc, tr_start);
    else if (o->kind == BB_OP_ADD) tr_add(p, o->site, o->k, !tr_add_same_group(plan, k), tr_live[i + after]);
    else {
      bb_meta_note(plan->pc, (uint32_t)(*p - tr_start), o->where);
      if (o->riprel) tr_meta_riprel(p, o);
      else {
        emit_bytes_at(*p, o->bytes, o->len);
        *p += o->len;
      }
    }
  }
  return 0;
}

/* Does a block end after this instruction (a control transfer or syscall)? */
static int tr_ends_block(const ZydisDecodedInstruction *in)
{
  switch (in->meta.category) {
  case ZYDIS_CATEGORY_UNCOND_BR: case ZYDIS_CATEGORY_CALL: case ZYDIS_CATEGORY_COND_BR:
  case ZYDIS_CATEGORY_RET: case ZYDIS_CATEGORY_SYSCALL:
    return 1;
  default: /* popf may set TF: the app's single steps start at the next block (signal.c);
              an x87 state save exits for its FIP (x87.c): tools see the block end there */
    return in->mnemonic == ZYDIS_MNEMONIC_POPF || in->mnemonic == ZYDIS_MNEMONIC_POPFD ||
           in->mnemonic == ZYDIS_MNEMONIC_POPFQ || arch_x87_saves(in);
  }
}

/* A jcc (not jrcxz, loop or xbegin): the branches a superblock goes on past. */
static int tr_plain_jcc(const ZydisDecodedInstruction *in)
{
  return in->meta.category == ZYDIS_CATEGORY_COND_BR && in->mnemonic != ZYDIS_MNEMONIC_XBEGIN &&
         ((in->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && (in->opcode & 0xf0) == 0x70) ||
          (in->opcode_map == ZYDIS_OPCODE_MAP_0F && (in->opcode & 0xf0) == 0x80));
}

unsigned arch_block_insns(uint64_t pc, struct insn *out, unsigned max, int superblock)
{
  uint8_t buf[TR_FETCH];
  if (!tr_ready) {
    ZydisDecoderInit(&tr_dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    tr_ready = 1;
  }
  size_t avail = sizeof buf, off = 0;
  const uint8_t *code = tr_fetch(pc, buf, &avail);
  unsigned n = 0, jccs = 0;
  if (max > TR_MAX_INSN) max = TR_MAX_INSN;
  while (n < max && off < avail) {
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (ZYAN_FAILED(ZydisDecoderDecodeFull(&tr_dec, code + off, avail - off, &in, ops))) break;
    if (in.meta.category == ZYDIS_CATEGORY_CALL && n > 0) break; /* as arch_translate */
    if (LURK_FAILED(insn_decode(&out[n], code + off, avail - off, pc))) break;
    n++;
    /* a superblock goes on where arch_translate would (tr_superblock): the
    ** side exits so far (one per jcc) leave two for the last instruction */
    if (tr_ends_block(&in) &&
        !(superblock && tr_plain_jcc(&in) && ++jccs + 2 < TR_MAX_EXITS && !cache_lookup(pc + in.length)))
      break;
    pc += in.length;
    off += in.length;
  }
  return n;
}

/* -- Translation ----------------------------------------------------------------- */

/* After a jcc, go on translating its fall-through path in the same block
** (the taken path is a side exit), so the fall-through costs no jump.
** Not when the fall-through is a block already (its code would be
** duplicated), and while a side exit is left for the block's last
** instruction. With a plan, only if the tools took superblocks (lurk.on's
** option: else they see basic blocks, one exit each, and count or
** instrument them whole); arch_block_insns then decided it the same way,
** and the plan goes on past the jcc (n: instructions so far, max: the
** plan's). */
static int tr_superblock(const struct cache_block *b, const struct bb_plan *plan, unsigned npend,
                         uint64_t next, unsigned n, unsigned max)
{
  if (plan) return plan->superblock && n < max;
  return opt.superblocks && !b->solo && npend + 2 < TR_MAX_EXITS && !cache_lookup(next);
}

lurk_status arch_translate(struct cache_block *b, const struct bb_plan *plan)
{
  uint8_t buf[TR_FETCH];
  if (!tr_ready) {
    ZydisDecoderInit(&tr_dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    tr_ready = 1;
  }
  size_t avail = sizeof buf;
  const uint8_t *code = tr_fetch(b->pc, buf, &avail);
  if (avail == 0) {
    tr_fail.pc = b->pc;
    tr_fail.nbytes = 0;
    return LURK_ERR(FAULT);
  }
  uint8_t *start = cache_reserve(b, b->pc, 0), *p = start;
  struct tr_pending pend[TR_MAX_EXITS];
  unsigned npend = 0, n = 0, max = b->solo ? 1 : TR_MAX_INSN;
  if (plan && plan->n < max) max = plan->n;
  tr_fault_only = plan && plan->nops;
  if (plan && plan->nops) tr_liveness(plan, b->solo);
  tr_start = start;
  tr_pc0 = b->pc;
  tr_nxl = 0;
  arch_hc_set_spilled(0);
  uint64_t pc = b->pc;
  size_t off = 0;
  int done = 0, side = 0; /* side: past a superblock's side exit */
  uint8_t *p_insn = p;    /* where the instruction being translated began */
  unsigned nxl_insn = 0;
  uint32_t spilled_insn = 0; /* arch_hc_spilled() there */
/* An instruction lurk cannot translate past a side exit ends the block
** before it instead (that path may never run; a block starting there
** reports it if it does). */
#define TR_TRY(expr)                      \
  do {                                    \
    lurk_status s_ = (expr);              \
    if (LURK_FAILED(s_)) {                \
      if (!side) return s_;               \
      goto cut;                           \
    }                                     \
  } while (0)

  while (!done) {
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (n == max || off >= avail ||
        ZYAN_FAILED(ZydisDecoderDecodeFull(&tr_dec, code + off, avail - off, &in, ops))) {
      if (n == 0) {
        /* Bytes that do not decode: the CPU's #UD (or #GP, #PF) is raised
        ** by emulation, with the fault's own address. */
        tr_emul(&p, b, pc);
        pc++;
        break;
      }
      /* Fall through to a new block at pc. */
      tr_unspill(&p);
      tr_rec(p, XL_AT, pc, 0);
      pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, pc);
      pend[npend++].field = tr_exit_br(&p, -1);
      break;
    }
    const uint8_t *bytes = code + off;
    uint64_t next = pc + in.length;
    n++;
    p_insn = p;
    nxl_insn = tr_nxl;
    spilled_insn = arch_hc_spilled();
    ZydisRegister seg = mangled_seg(&in, ops);
    if (seg && (in.meta.category == ZYDIS_CATEGORY_UNCOND_BR || in.meta.category == ZYDIS_CATEGORY_CALL ||
               in.mnemonic == ZYDIS_MNEMONIC_SWAPGS))
      TR_TRY(tr_unsupported(pc, bytes, in.length, seg == ZYDIS_REGISTER_FS ? "a branch through fs (mangled by --early)"
                                                                            : "a branch through gs, or swapgs"));

    if (in.meta.category == ZYDIS_CATEGORY_CALL && n > 1) {
      /* A call always starts its own block: blocks are unique per start pc,
      ** so each app call has one landing pad, the one the table maps its
      ** return address to (see tr_call_push). */
      n--;
      tr_unspill(&p);
      tr_rec(p, XL_AT, pc, 0);
      pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, pc);
      pend[npend++].field = tr_exit_br(&p, -1);
      break;
    }
    /* The commit of a known rseq section (an instruction that is not a
    ** branch): wrapped, with an exit of its own for the abort. */
    const struct rseq_sec *rs = tr_ends_block(&in) ? NULL : rseq_commit_at(pc, next);
    struct tr_rseq rw;
    if (rs && npend + 3 > TR_MAX_EXITS) { /* no room for that exit: in the next block */
      n--;
      tr_unspill(&p);
      tr_rec(p, XL_AT, pc, 0);
      pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, pc);
      pend[npend++].field = tr_exit_br(&p, -1);
      break;
    }
    /* A verbatim copy (the default case's last branch): registers compiled
    ** handlers left saved may stay so across it if it does not touch them */
    int plain = in.meta.category != ZYDIS_CATEGORY_UNCOND_BR && in.meta.category != ZYDIS_CATEGORY_CALL &&
                in.meta.category != ZYDIS_CATEGORY_COND_BR && in.meta.category != ZYDIS_CATEGORY_RET &&
                in.meta.category != ZYDIS_CATEGORY_SYSCALL && in.meta.category != ZYDIS_CATEGORY_INTERRUPT &&
                !rs && !seg && !((in.attributes & ZYDIS_ATTRIB_HAS_MODRM) && in.raw.modrm.mod == 0 && in.raw.modrm.rm == 5) &&
                !(in.attributes & ZYDIS_ATTRIB_IS_RELATIVE) && !tr_ends_block(&in) && !arch_x87_saves(&in);
    if (plan) {
      uint64_t jmp = tr_plan_ops(&p, plan, n - 1, 0, pc);
      if (jmp) { /* a replaced function: the block covers the instruction it skips */
        tr_unspill(&p);
        tr_rec(p, XL_AT, pc, 0);
        pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, jmp);
        pend[npend++].field = tr_exit_br(&p, -1);
        pc = next;
        break;
      }
      if (plan->removed[n - 1] && (!tr_ends_block(&in) || arch_x87_saves(&in))) { /* removed app instruction */
        pc = next;
        off += in.length;
        tr_plan_ops(&p, plan, n - 1, 1, pc);
        continue;
      }
      arch_hc_unspill(&p, plain ? live_touched(&in, ops) : ~0u);
    }
    switch (in.meta.category) {
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_CALL: {
      int is_call = in.meta.category == ZYDIS_CATEGORY_CALL;
      if (in.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) { /* through memory */
        tr_emul(&p, b, pc);
        done = 1;
        break;
      }
      if (ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        ZyanU64 target;
        ZydisCalcAbsoluteAddress(&in, &ops[0], pc, &target);
        tr_rec(p, XL_AT, pc, 0);
        if (is_call) {
          pend[npend].e = tr_call_push(&p, b, next, &pend[npend].field);
          npend++;
        }
        pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, target);
        pend[npend++].field = tr_exit_br(&p, -1);
      } else {
        tr_rec(p, XL_AT, pc, 0);
        emit_gs_store(&p, R_RCX, TLS_SPILL_RCX);
        tr_rec(p, XL_RCX, pc, 0);
        TR_TRY(tr_load_target(&p, pc, bytes, &in, &ops[0]));
        if (is_call) {
          pend[npend].e = tr_call_push(&p, b, next, &pend[npend].field);
          npend++;
        }
        tr_rec(p, XL_NONE, pc, 0);
        if (plan && plan->guard) tr_ibl_guard(&p, 0, plan, pc, is_call ? 8 : 0);
        else tr_ibl(&p, 0);
      }
      done = 1;
      break;
    }
    case ZYDIS_CATEGORY_COND_BR: {
      ZyanU64 target;
      ZydisCalcAbsoluteAddress(&in, &ops[0], pc, &target);
      if (in.mnemonic == ZYDIS_MNEMONIC_XBEGIN) {
        /* With RTM: a transaction that aborts at once (status 0: no
        ** reason given, no retry hint), as Valgrind does. A real one in the
        ** cache aborts anyway the first time it reaches code not yet
        ** translated (the engine's system calls), and the abort rolls back
        ** that translation: it would never commit. Without RTM the CPU's
        ** #UD comes from the copied instruction, at the record's app pc. */
        tr_rec(p, XL_AT, pc, 0);
        if (tr_has_rtm()) {
          emit_mov_imm32(&p, R_RAX, 0); /* status 0 (flags as before the xbegin) */
          tr_rec(p, XL_NONE, pc, 0); /* the exit: stepped to its target */
          pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, target);
          pend[npend++].field = tr_exit_br(&p, -1);
          done = 1;
          break;
        }
        emit_bytes_at(p, bytes, in.length);
        p += in.length;
      } else if (in.mnemonic == ZYDIS_MNEMONIC_JRCXZ || in.mnemonic == ZYDIS_MNEMONIC_JECXZ ||
          in.mnemonic == ZYDIS_MNEMONIC_LOOP || in.mnemonic == ZYDIS_MNEMONIC_LOOPE ||
          in.mnemonic == ZYDIS_MNEMONIC_LOOPNE) {
        /* rel8 only: jrcxz +2; jmp short over; [nops] jmp taken; [nops] jmp fallthrough */
        tr_rec(p, XL_AT, pc, 0);
        emit_bytes_at(p, bytes, in.length);
        *cache_w(p + in.length - 1) = 2;
        p += in.length;
        tr_rec(p, XL_AT, next, 0);
        unsigned k = 0;
        while (((uintptr_t)p + 2 + k + 1) & 3) k++;
        emit_u8(&p, 0xeb);
        emit_u8(&p, (uint8_t)(k + 5));
        tr_rec(p, XL_NONE, pc, 0);
        pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, target);
        pend[npend++].field = tr_exit_br(&p, -1);
      } else {
        int jcc = (in.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && (in.opcode & 0xf0) == 0x70) ||
                  (in.opcode_map == ZYDIS_OPCODE_MAP_0F && (in.opcode & 0xf0) == 0x80);
        if (!jcc) TR_TRY(tr_unsupported(pc, bytes, in.length, "unknown conditional branch"));
        tr_rec(p, XL_AT, pc, 0);
        pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, target);
        pend[npend++].field = tr_exit_br(&p, in.opcode & 0xf);
        if (tr_superblock(b, plan, npend, next, n, max)) { side = 1; break; } /* on along the fall-through path */
      }
      tr_rec(p, XL_AT, next, 0);
      pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, next);
      pend[npend++].field = tr_exit_br(&p, -1);
      done = 1;
      break;
    }
    case ZYDIS_CATEGORY_RET:
      if (in.mnemonic != ZYDIS_MNEMONIC_RET || in.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) {
        tr_emul(&p, b, pc); /* lret, iret */
        done = 1;
        break;
      }
      tr_rec(p, XL_AT, pc, 0);
      emit_gs_store(&p, R_RCX, TLS_SPILL_RCX);
      tr_rec(p, XL_RCX, pc, 0);
      if (in.operand_count_visible > 0 && ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
          ops[0].imm.value.u) {
        /* ret imm16 (rare): pop, release the bytes, plain lookup. */
        emit_pop(&p, R_RCX);
        tr_rec(p, XL_NONE, pc, 0);
        emit_lea_rsp(&p, (int32_t)ops[0].imm.value.u);
        if (plan && plan->guard) tr_ibl_guard(&p, 0, plan, pc, -8 - (int64_t)ops[0].imm.value.u);
        else tr_ibl(&p, 0);
      } else {
        emit_load_rcx_top(&p);
        tr_rec(p, XL_NONE, pc, 0);
        if (plan && plan->guard) tr_ibl_guard(&p, 1, plan, pc, -8);
        else tr_ibl(&p, 1);
      }
      done = 1;
      break;
    case ZYDIS_CATEGORY_SYSCALL:
      if (in.mnemonic != ZYDIS_MNEMONIC_SYSCALL)
        TR_TRY(tr_unsupported(pc, bytes, in.length, "sysenter"));
      {
        /* Up to its last store the stub changes nothing the app sees: a
        ** signal there is delivered before the syscall. */
        tr_rec(p, XL_AT, pc, 0);
        struct cache_exit *e = cache_exit_new(b, CACHE_EXIT_SYSCALL, next);
        e->stub = p;
        emit_exit_stub(&p, e->id, TLS_EXIT_ID, TLS_DISP_ENTRY);
      }
      done = 1;
      break;
    default:
      if (in.mnemonic == ZYDIS_MNEMONIC_INT && ops[0].imm.value.u == 0x80)
        TR_TRY(tr_unsupported(pc, bytes, in.length, "int 0x80 (32-bit system call)"));
      if (in.mnemonic == ZYDIS_MNEMONIC_INT && ops[0].imm.value.u != 3) {
        tr_emul(&p, b, pc); /* #GP: the gate is not user-callable */
        done = 1;
        break;
      }
      if (rs) tr_rseq_pre(&p, pc, &rw);
      uint8_t *ins_end = NULL;
      if (seg) {
        TR_TRY(tr_seg(&p, pc, bytes, &in, ops, seg, &ins_end));
      } else if ((in.attributes & ZYDIS_ATTRIB_HAS_MODRM) && in.raw.modrm.mod == 0 &&
          in.raw.modrm.rm == 5) {
        TR_TRY(tr_riprel(&p, pc, bytes, &in, ops, &ins_end));
      } else if (in.attributes & ZYDIS_ATTRIB_IS_RELATIVE) {
        TR_TRY(tr_unsupported(pc, bytes, in.length, "relative operand (e.g. xbegin)"));
      } else {
        tr_rec_saved(p, pc, arch_hc_spilled());
        emit_bytes_at(p, bytes, in.length);
        p += in.length;
      }
      if (rs) {
        tr_rseq_post(&p, b, pc, next, ins_end ? ins_end : p, rs, &rw, &pend[npend]);
        npend++;
      }
      if (plan) tr_plan_ops(&p, plan, n - 1, 1, next);
      if (arch_x87_saves(&in)) {
        /* The FIP it stored is the cache copy's: the dispatcher puts the
        ** app's pc there (x87.c), then goes on at next. */
        tr_unspill(&p);
        tr_rec(p, XL_AT, next, 0);
        struct cache_exit *e = cache_exit_new(b, CACHE_EXIT_X87, pc);
        e->stub = p;
        emit_exit_stub(&p, e->id, TLS_EXIT_ID, TLS_DISP_ENTRY);
        done = 1;
        break;
      }
      if (tr_ends_block(&in)) { /* popf */
        tr_unspill(&p);
        tr_rec(p, XL_AT, next, 0);
        pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, next);
        pend[npend++].field = tr_exit_br(&p, -1);
        done = 1;
      }
      break;
    }
    pc = next;
    off += in.length;
  }
  if (0) {
  cut: /* (TR_TRY) the block ends before the instruction at pc */
    p = p_insn;
    tr_nxl = nxl_insn;
    arch_hc_set_spilled(spilled_insn);
    tr_unspill(&p);
    n--;
    tr_rec(p, XL_AT, pc, 0);
    pend[npend].e = cache_exit_new(b, CACHE_EXIT_DIRECT, pc);
    pend[npend++].field = tr_exit_br(&p, -1);
  }
#undef TR_TRY

  /* Exit stubs in the chunk's stub area; point each pending branch at its
  ** stub (a signal in a stub steps on to the dispatcher, as in a link
  ** trampoline). */
  tr_rec(p, XL_NONE, pc, 0);
  uint8_t *s = cache_stubs(b, npend * EMIT_STUB_SIZE);
  for (unsigned i = 0; i < npend; i++) {
    struct cache_exit *e = pend[i].e;
    e->patch = pend[i].field;
    e->stub = s;
    emit_exit_stub(&s, e->id, TLS_EXIT_ID, TLS_DISP_ENTRY);
    emit_patch_rel32(e->patch, (uint64_t)e->stub);
  }
  b->end = pc;
  b->ninsn = n;
  cache_commit(b, p);
  struct xl_rec *xl = mem_alloc(tr_nxl * sizeof *xl);
  lurk_memcpy(xl, tr_xl, tr_nxl * sizeof *xl);
  b->xl = xl;
  b->nxl = (uint16_t)tr_nxl;
  return LURK_OK;
}

/* -- Linking --------------------------------------------------------------------- */

/* Links and unlinks are one aligned 4-byte store into the branch's rel32,
** safe while other threads run the branch. Out of rel32 reach, the branch
** is aimed at a fresh trampoline written beforehand; the stub itself is
** never rewritten. */
void arch_patch_link(struct cache_exit *e, uint8_t *to)
{
  if (!emit_rel32_ok(e->patch + 4, (uint64_t)to)) {
    uint8_t *tramp = cache_alloc_near((uint64_t)e->patch, 16), *p = tramp;
    emit_jmp_far(&p, (uint64_t)to);
    to = tramp;
  }
  cache_write_to(e->patch);
  emit_patch_rel32(e->patch, (uint64_t)to);
}

void arch_patch_unlink(struct cache_exit *e)
{
  cache_write_to(e->patch);
  emit_patch_rel32(e->patch, (uint64_t)e->stub);
}

/* -- Failure reports ----------------------------------------------------------------- */

void arch_translate_failed(struct cache_block *b, lurk_status s)
{
  (void)b;
  LURK_ASSERT(s != LURK_ERR(FAULT), "an unreadable block is the caller's SIGSEGV (cache.c)");
  char hex[16 * 3 + 1];
  for (unsigned i = 0; i < tr_fail.nbytes; i++)
    log_snprintf(hex + 3 * i, 4, "%02x ", tr_fail.bytes[i]);
  hex[tr_fail.nbytes ? 3 * tr_fail.nbytes - 1 : 0] = 0;
  log_fatal("cannot handle the instruction at 0x%lx (bytes: %s): %s",
            (unsigned long)tr_fail.pc, hex, tr_fail.why ? tr_fail.why : lurk_status_msg(s));
}
