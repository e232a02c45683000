/* lurk: compiled handlers — the IR a clean-call handler is compiled into
** (bindings/lb_hc.lua reads its bytecode; bindings/lb_hc.c builds the
** program; arch/<arch>/hc.c emits it inline at each site, as BB_OP_HC).
** Values are 64-bit integers in virtual registers (vregs) 0..HC_NVREGS-1;
** a program runs top to bottom, with forward branches to labels only.
*/
#ifndef LURK_HC_H
#define LURK_HC_H
#include "lurk.h"

#define HC_NSLOTS 32  /* vregs 0..31 are the handler's bytecode slots */
#define HC_NVREGS 64  /* 32..63: temporaries */
#define HC_MAX_INS 512
#define HC_MAX_LABELS 64

/* Opcodes (HC_OPDEF: name). d = destination vreg (or label), a and b
** operand vregs, k a constant (b is k when bk is set). ORDER HC_OP */
#define HC_OPDEF(_)                                                          \
  _(K)      /* d = k */                                                      \
  _(ARG)    /* d = the site's argument a (0-based) */                        \
  _(MOV)    /* d = a */                                                      \
  _(ADD) _(SUB) _(MUL) _(AND) _(OR) _(XOR) /* d = a op b|k (64-bit) */       \
  _(SHL) _(SHR) _(SAR)  /* d = a shifted by k (0..63) */                     \
  _(NEG)    /* d = -a */                                                     \
  _(SX32)   /* d = a's low 32 bits, sign-extended */                         \
  _(ZX32)   /* d = a's low 32 bits, zero-extended */                         \
  _(LOAD)   /* d = the size-byte app memory at address a, zero-extended */   \
  _(BR)     /* if a cond b|k: go to label d (0: the end) */                  \
  _(JMP)    /* go to label d (0: the end) */                                 \
  _(LABEL)  /* label d (1..HC_MAX_LABELS-1) */                               \
  _(UVADD)  /* add a to inlined-counter slot k + (a stripe < size) */      \
  _(CTRADD) /* add b to counter cell k + a (a = 0 unless kidx is clear) */ \
  _(REC)    /* append vregs a..a+size-1 to lurk.buffer k; site: its full path */ \
  _(CALL)   /* call the handler (the op's clean-call site), then end */    \
  _(HADD)   /* add b to key a's count in lurk.hash k; site: its miss path */ \
  _(PTGET)  /* d = cell k + a of the thread (a = 0 if kidx; lurk.perthread) */ \
  _(PTSET)  /* cell k + a of the thread = b (a = 0 if kidx) */

enum {
#define HC_OPENUM(n) HC_##n,
  HC_OPDEF(HC_OPENUM)
#undef HC_OPENUM
  HC__MAX
};

/* Conditions of HC_BR; the U forms compare unsigned. ORDER HC_CC */
enum { HC_EQ, HC_NE, HC_LT, HC_LE, HC_GT, HC_GE, HC_LTU, HC_LEU, HC_GTU, HC_GEU };

struct hc_ins {
  uint8_t op, d, a, b;
  uint8_t cond, bk, size, kidx;
  int64_t k;
  uint32_t where;           /* LOAD: bb_where_add id naming the handler line; REC: the clean-call site of a full buffer */
};

/* What a site's constant argument must satisfy for the program to apply
** (else the site is called): lo <= arg <= hi. */
struct hc_assume { uint8_t arg; int64_t lo, hi; };

struct hc_prog {
  unsigned n, nassume;
  struct hc_ins *ins;
  struct hc_assume *assume;
  uint32_t reads;           /* vregs the program reads before writing (none) */
};

/* Register a program (copied into engine memory; kept for the run). */
uint32_t hc_prog_add(const struct hc_ins *ins, unsigned n, const struct hc_assume *as, unsigned nas);
const struct hc_prog *hc_prog_get(uint32_t id);

/* Counter cells (lurk.counters): per-thread 64-bit cells in the thread
** block (arch_tls.ctr), HC_CELLS of them; hc_cells hands out a range. */
#define HC_CELLS ARCH_CTR_CELLS
#define HC_NBUF ARCH_HC_NBUF
extern uint32_t hc_ncells;

/* Hashed counter tables (lurk.hash; engine/hc_tab.c): per thread, the
** thread block holds each table's slots and probe mask (arch_tls.hc_hash).
** Key k's home slot is at byte offset ((k * HC_HASH_MUL) >> HC_HASH_SHIFT)
** & mask from the slots, mask = (homes - 1) << 4. */
#define HC_NHASH ARCH_HC_NHASH
#define HC_HASH_MUL 0x9e3779b97f4a7c15ull
#define HC_HASH_SHIFT 28
struct hc_slot { uint64_t key; int64_t count; };
uint64_t hc_tab_new(uint64_t want);         /* slots of an empty table of >= want homes */
void hc_tab_free(uint64_t base);
uint64_t hc_tab_mask(uint64_t base);
uint64_t hc_tab_count(uint64_t base);       /* keys */
/* Add to key's count, inserting it; returns the slots (moved when grown). */
uint64_t hc_tab_add(uint64_t base, uint64_t key, int64_t add);
const struct hc_slot *hc_tab_find(uint64_t base, uint64_t key);
/* The used slot at or after *i (then *i is past it); NULL at the end. */
const struct hc_slot *hc_tab_next(uint64_t base, uint64_t *i);

#endif
