/* lurk: call stacks of the app (sym_backtrace): CFI unwinding with libdw.
**
** Each step finds the frame's CFI (the module's .eh_frame, then its
** .debug_frame), asks libdw for the rules at the pc (dwarf_cfi_addrframe),
** and evaluates them here against the registers recovered so far, reading
** app memory with the non-faulting copy. Where a pc has no CFI (JIT code,
** hand-written assembly without it) one frame-pointer step is taken. A
** return address is looked up at pc - 1 (the call, which may be the last
** instruction of a function that does not return), except after a signal
** frame, whose caller's pc is exact. The simple rules of recent pcs are
** cached (below).
*/
#include <dwarf.h>
#include "sym_int.h"
#include "mod.h"
#include "log.h"
#include "../arch/arch.h"

extern void free(void *);

#define UW_NREGS ARCH_DWARF_NREGS
#define UW_STACK 16

struct uw_regs {
  uint64_t r[UW_NREGS];
  uint32_t valid;  /* bit n: r[n] is known */
};

/* Evaluate a DWARF expression (the subset CFI uses) with cfa known.
** *is_value: the result is the value (DW_OP_stack_value, or a register
** named by DW_OP_regN), not an address to read. 0 or -1. */
static int uw_eval(const Dwarf_Op *ops, size_t n, const struct uw_regs *rs, uint64_t cfa,
                   uint64_t *out, int *is_value)
{
  uint64_t st[UW_STACK];
  int sp = 0;
  *is_value = 0;
#define PUSH(v) do { if (sp == UW_STACK) return -1; st[sp++] = (v); } while (0)
#define NEED(k) do { if (sp < (k)) return -1; } while (0)
  for (size_t i = 0; i < n; i++) {
    unsigned a = ops[i].atom;
    if (a >= DW_OP_lit0 && a <= DW_OP_lit31) { PUSH(a - DW_OP_lit0); continue; }
    if ((a >= DW_OP_breg0 && a <= DW_OP_breg31) || a == DW_OP_bregx) {
      unsigned r = a == DW_OP_bregx ? (unsigned)ops[i].number : a - DW_OP_breg0;
      uint64_t off = a == DW_OP_bregx ? ops[i].number2 : ops[i].number;
      if (r >= UW_NREGS || !(rs->valid & (1u << r))) return -1;
      PUSH(rs->r[r] + off);
      continue;
    }
    if ((a >= DW_OP_reg0 && a <= DW_OP_reg31) || a == DW_OP_regx) {
      unsigned r = a == DW_OP_regx ? (unsigned)ops[i].number : a - DW_OP_reg0;
      if (r >= UW_NREGS || !(rs->valid & (1u << r)) || i + 1 != n) return -1;
      *out = rs->r[r];
      *is_value = 1;
      return 0;
    }
    switch (a) {
    case DW_OP_call_frame_cfa: PUSH(cfa); break;
    case DW_OP_const1u: case DW_OP_const1s: case DW_OP_const2u: case DW_OP_const2s:
    case DW_OP_const4u: case DW_OP_const4s: case DW_OP_const8u: case DW_OP_const8s:
    case DW_OP_constu: case DW_OP_consts: case DW_OP_addr: PUSH(ops[i].number); break;
    case DW_OP_plus_uconst: NEED(1); st[sp - 1] += ops[i].number; break;
    case DW_OP_plus: NEED(2); sp--; st[sp - 1] += st[sp]; break;
    case DW_OP_minus: NEED(2); sp--; st[sp - 1] -= st[sp]; break;
    case DW_OP_mul: NEED(2); sp--; st[sp - 1] *= st[sp]; break;
    case DW_OP_and: NEED(2); sp--; st[sp - 1] &= st[sp]; break;
    case DW_OP_or: NEED(2); sp--; st[sp - 1] |= st[sp]; break;
    case DW_OP_shl: NEED(2); sp--; st[sp - 1] <<= (st[sp] & 63); break;
    case DW_OP_shr: NEED(2); sp--; st[sp - 1] >>= (st[sp] & 63); break;
    case DW_OP_dup: { NEED(1); uint64_t t = st[sp - 1]; PUSH(t); break; }
    case DW_OP_drop: NEED(1); sp--; break;
    case DW_OP_swap: { NEED(2); uint64_t t = st[sp - 1]; st[sp - 1] = st[sp - 2]; st[sp - 2] = t; break; }
    case DW_OP_deref: {
      NEED(1);
      uint64_t v;
      if (arch_copy_in(&v, st[sp - 1], sizeof v)) return -1;
      st[sp - 1] = v;
      break;
    }
    case DW_OP_stack_value:
      if (i + 1 != n) return -1;
      *is_value = 1;
      break;
    /* Comparisons (signed, as DWARF says): the PLT's CFA rule uses ge. */
#define UW_CMP(op, rel) case op: { NEED(2); sp--; st[sp - 1] = (int64_t)st[sp - 1] rel (int64_t)st[sp]; break; }
    UW_CMP(DW_OP_eq, ==) UW_CMP(DW_OP_ne, !=) UW_CMP(DW_OP_lt, <)
    UW_CMP(DW_OP_le, <=) UW_CMP(DW_OP_gt, >) UW_CMP(DW_OP_ge, >=)
#undef UW_CMP
    case DW_OP_nop: break;
    default: return -1;
    }
  }
#undef PUSH
#undef NEED
  if (!sp) return -1;
  *out = st[sp - 1];
  return 0;
}

/* The frame rules for link-time address off in sm, or NULL (free it). */
static Dwarf_Frame *uw_frame(struct sym_mod *sm, uint64_t off)
{
  if (!sm->cfi_state) {
    sm->cfi_state = 1;
    if (sm->main.elf) sm->cfi_eh = dwarf_getcfi_elf(sm->main.elf);
  }
  Dwarf_Frame *f = NULL;
  if (sm->cfi_eh && dwarf_cfi_addrframe(sm->cfi_eh, off, &f) == 0) return f;
  if (sm->cfi_state == 1) { /* .debug_frame, only when .eh_frame fails */
    sm->cfi_state = 2;
    sym_elf_syms(sm); /* finds the debug file */
    Elf *e = sm->dbg.elf ? sm->dbg.elf : sm->main.elf;
    if (e) sm->cfi_dw = dwarf_begin_elf(e, DWARF_C_READ, NULL);
    if (sm->cfi_dw) sm->cfi_dbg = dwarf_getcfi(sm->cfi_dw);
  }
  f = NULL;
  if (sm->cfi_dbg && dwarf_cfi_addrframe(sm->cfi_dbg, off, &f) == 0) return f;
  return NULL;
}

/* One CFI step: the caller's registers from f. 0, or -1 (end of stack). */
static int uw_step_cfi(Dwarf_Frame *f, const struct uw_regs *in, struct uw_regs *out, int *signal)
{
  Dwarf_Op *ops;
  size_t nops;
  uint64_t cfa;
  int isval;
  bool sig = false;
  dwarf_frame_info(f, NULL, NULL, &sig);
  *signal = sig;
  if (dwarf_frame_cfa(f, &ops, &nops) || !nops || uw_eval(ops, nops, in, 0, &cfa, &isval)) return -1;
  out->valid = 0;
  for (int r = 0; r < UW_NREGS; r++) {
    Dwarf_Op mem[3];
    if (dwarf_frame_register(f, r, mem, &ops, &nops)) continue;
    if (nops == 0) {
      if (ops == NULL && (in->valid & (1u << r))) { /* same value */
        out->r[r] = in->r[r];
        out->valid |= 1u << r;
      }
      continue; /* else undefined */
    }
    uint64_t v;
    if (uw_eval(ops, nops, in, cfa, &v, &isval)) continue;
    if (!isval && arch_copy_in(&v, v, sizeof v)) continue;
    out->r[r] = v;
    out->valid |= 1u << r;
  }
  out->r[ARCH_DWARF_SP] = cfa;
  out->valid |= 1u << ARCH_DWARF_SP;
  return (out->valid & (1u << ARCH_DWARF_RA)) ? 0 : -1;
}

/* -- Rule cache ------------------------------------------------------------
** Most frames' rules are CFA = reg + k and each saved register at CFA + k
** (or unchanged): for those, the rules of a pc are kept in a small
** direct-mapped cache, so a step costs a few loads instead of libdw's
** FDE search and one rule query per register (memcheck takes a stack at
** every malloc and free). Keyed by module record and link-time address
** (records are never freed, so an unloaded module's entries never match
** a new one). Anything else (expressions: the PLT's CFA) goes to libdw.
** Under sym_lock. */
#define UW_CACHE 4096u
struct uw_rule {
  const struct sym_mod *sm;     /* tag: module record and address */
  uint64_t off;
  uint8_t simple, sig, cfa_reg;
  int64_t cfa_off;
  uint32_t saved, same;         /* registers at CFA + at[r]; unchanged */
  int32_t at[UW_NREGS];
};
static struct uw_rule uw_cache[UW_CACHE];

/* The offset k of an "at CFA + k" rule (call_frame_cfa, then nothing,
** plus_uconst k, or a constant and plus): 0, or -1 when it is another form. */
static int uw_cfa_offset(const Dwarf_Op *ops, size_t n, int64_t *k)
{
  if (n < 1 || ops[0].atom != DW_OP_call_frame_cfa) return -1;
  if (n == 1) { *k = 0; return 0; }
  if (n == 2 && ops[1].atom == DW_OP_plus_uconst) { *k = (int64_t)ops[1].number; return 0; }
  if (n == 3 && ops[2].atom == DW_OP_plus &&
      (ops[1].atom == DW_OP_consts || ops[1].atom == DW_OP_constu || ops[1].atom == DW_OP_const1s ||
       ops[1].atom == DW_OP_const1u || ops[1].atom == DW_OP_const2s || ops[1].atom == DW_OP_const4s)) {
    *k = (int64_t)ops[1].number;
    return 0;
  }
  return -1;
}

/* Fill ru from f: simple = 1 when every rule has a cached form. */
static void uw_rule_of(Dwarf_Frame *f, struct uw_rule *ru)
{
  Dwarf_Op *ops;
  size_t nops;
  bool sig = false;
  ru->simple = 0;
  ru->saved = ru->same = 0;
  dwarf_frame_info(f, NULL, NULL, &sig);
  ru->sig = sig;
  if (dwarf_frame_cfa(f, &ops, &nops) || nops != 1) return;
  unsigned a = ops[0].atom;
  if (a >= DW_OP_breg0 && a <= DW_OP_breg31) ru->cfa_reg = (uint8_t)(a - DW_OP_breg0);
  else if (a == DW_OP_bregx && ops[0].number < UW_NREGS) ru->cfa_reg = (uint8_t)ops[0].number;
  else return;
  if (ru->cfa_reg >= UW_NREGS) return;
  ru->cfa_off = (int64_t)(a == DW_OP_bregx ? ops[0].number2 : ops[0].number);
  for (int r = 0; r < UW_NREGS; r++) {
    Dwarf_Op mem[3];
    if (dwarf_frame_register(f, r, mem, &ops, &nops)) continue;
    if (nops == 0) {
      if (ops == NULL) ru->same |= 1u << r;
      continue;
    }
    /* (the stack pointer's "is the CFA": the step sets it so anyway) */
    if (r == ARCH_DWARF_SP && nops == 2 && ops[0].atom == DW_OP_call_frame_cfa &&
        ops[1].atom == DW_OP_stack_value) continue;
    int64_t k;
    if (uw_cfa_offset(ops, nops, &k) || k != (int32_t)k) return;
    ru->at[r] = (int32_t)k;
    ru->saved |= 1u << r;
  }
  ru->simple = 1;
}

/* uw_step_cfi with cached simple rules. */
static int uw_step_rule(const struct uw_rule *ru, const struct uw_regs *in, struct uw_regs *out)
{
  if (!(in->valid & (1u << ru->cfa_reg))) return -1;
  uint64_t cfa = in->r[ru->cfa_reg] + (uint64_t)ru->cfa_off;
  out->valid = 0;
  for (int r = 0; r < UW_NREGS; r++) {
    uint32_t b = 1u << r;
    if (ru->saved & b) {
      uint64_t v;
      if (arch_copy_in(&v, cfa + (uint64_t)(int64_t)ru->at[r], sizeof v)) continue;
      out->r[r] = v;
      out->valid |= b;
    } else if ((ru->same & b) && (in->valid & b)) {
      out->r[r] = in->r[r];
      out->valid |= b;
    }
  }
  out->r[ARCH_DWARF_SP] = cfa;
  out->valid |= 1u << ARCH_DWARF_SP;
  return (out->valid & (1u << ARCH_DWARF_RA)) ? 0 : -1;
}

/* The cache entry for (sm, off), filled from libdw on a miss; NULL when
** the pc has no CFI. */
static const struct uw_rule *uw_lookup(struct sym_mod *sm, uint64_t off)
{
  uint64_t h = ((uint64_t)(uintptr_t)sm >> 4) ^ (off * 0x9e3779b97f4a7c15ULL);
  struct uw_rule *ru = &uw_cache[(h >> 52) & (UW_CACHE - 1)];
  if (ru->sm == sm && ru->off == off) return ru;
  Dwarf_Frame *f = uw_frame(sm, off);
  if (!f) return NULL;
  uw_rule_of(f, ru);
  free(f);
  ru->sm = sm;
  ru->off = off;
  return ru;
}

/* One frame-pointer step: [fp] is the caller's fp, [fp+8] the return address. */
static int uw_step_fp(const struct uw_regs *in, struct uw_regs *out)
{
  uint64_t fp = in->r[ARCH_DWARF_FP], sp = in->r[ARCH_DWARF_SP], w[2];
  if (!(in->valid & (1u << ARCH_DWARF_FP)) || (fp & 7) || fp < sp || fp - sp > (64u << 20)) return -1;
  if (arch_copy_in(w, fp, sizeof w)) return -1;
  *out = *in;
  /* the callee-saved registers are not recovered this way */
  out->valid = (1u << ARCH_DWARF_FP) | (1u << ARCH_DWARF_SP) | (1u << ARCH_DWARF_RA);
  out->r[ARCH_DWARF_FP] = w[0];
  out->r[ARCH_DWARF_SP] = fp + 16;
  out->r[ARCH_DWARF_RA] = w[1];
  return 0;
}

unsigned sym_backtrace(const struct arch_mctx *m, uint64_t pc, uint64_t *out, uint8_t *exact_out, unsigned max)
{
  struct uw_regs rs;
  arch_dwarf_regs(m, rs.r);
  rs.valid = (1u << 16) - 1;
  unsigned n = 0;
  int exact = 1; /* pc is exact (frame 1, or after a signal frame) */
  if (!max) return 0;
  if (exact_out) exact_out[n] = 1;
  out[n++] = pc;
  sym_lock(); /* libdw's CFI caches are not thread-safe */
  while (n < max) {
    const struct mod_info *mi = mod_find(pc);
    struct sym_mod *sm = mi ? sym_mod_of(mi) : NULL;
    uint64_t at = exact ? pc : pc - 1;
    const struct uw_rule *ru = sm ? uw_lookup(sm, at - sm->bias) : NULL;
    struct uw_regs nx;
    int sig = 0, r;
    /* The return-address column holds this frame's pc while its rules are
    ** evaluated: the PLT's CFA rule reads rip (DW_OP_breg16). */
    rs.r[ARCH_DWARF_RA] = pc;
    rs.valid |= 1u << ARCH_DWARF_RA;
    if (ru && ru->simple) {
      sig = ru->sig;
      r = uw_step_rule(ru, &rs, &nx);
    } else if (ru) {
      Dwarf_Frame *f = uw_frame(sm, at - sm->bias);
      r = f ? uw_step_cfi(f, &rs, &nx, &sig) : -1;
      free(f);
    } else {
      r = uw_step_fp(&rs, &nx);
    }
    if (r) break;
    uint64_t npc = nx.r[ARCH_DWARF_RA];
    LOG(LOG_DEBUG, "sym: unwind %lx (%s) -> %lx sp %lx fp %lx valid %x\n", (unsigned long)pc, ru ? "cfi" : "fp",
        (unsigned long)npc, (unsigned long)nx.r[ARCH_DWARF_SP], (unsigned long)nx.r[ARCH_DWARF_FP], nx.valid);
    if (npc == 0 || (!sig && nx.r[ARCH_DWARF_SP] <= rs.r[ARCH_DWARF_SP])) break;
    /* A signal trampoline (its FDE says so) is entered by a "return" to
    ** its first byte: its pc is exact too, as is the interrupted one. */
    if (exact_out && sig) exact_out[n - 1] = 1;
    if (exact_out) exact_out[n] = (uint8_t)sig;
    out[n++] = npc;
    pc = npc;
    exact = sig;
    rs = nx;
  }
  sym_unlock();
  return n;
}
