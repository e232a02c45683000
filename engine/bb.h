/* lurk: instrumentation of a block — the plan the `bb` event leaves for the
** translator (edits and clean calls per app instruction), and clean-call
** sites (what a call passes to its handler). Arch-neutral: instructions
** are struct insn (arch/insn.h), argument values are computed by arch/.
*/
#ifndef LURK_BB_H
#define LURK_BB_H
#include "lurk.h"
#include "../arch/insn.h"

/* -- Clean-call sites --------------------------------------------------------- */

/* Argument kinds (CC_ARGDEF: name, Lua spelling). ORDER CC_ARG */
#define CC_ARGDEF(_)                                                  \
  _(CONST, "constant")  /* val */                                    \
  _(PC, "pc")           /* the instruction's app pc (val) */          \
  _(REG, "register")    /* reg: an app register's value */            \
  _(EA, "ea")           /* effective address of memory operand op */  \
  _(SIZE, "size")       /* size in bytes of memory operand op (val) */\
  _(TARGET, "target")   /* branch target (direct: val; else computed) */ \
  _(TAKEN, "taken")     /* 1 if the conditional branch will jump */    \
  _(COUNT, "count")     /* app instructions in the block (val) */

enum {
#define CC_ARGENUM(n, s) CC_ARG_##n,
  CC_ARGDEF(CC_ARGENUM)
#undef CC_ARGENUM
  CC_ARG__MAX
};

#define CC_MAX_ARGS 7

struct cc_arg {
  uint8_t kind;
  uint16_t reg;             /* REG: arch register id */
  uint64_t val;             /* CONST, PC, SIZE, COUNT, direct TARGET */
  struct insn_opnd op;      /* EA, indirect TARGET: the operand */
  uint64_t next_pc;         /* EA/TARGET of rip-relative operands */
  const struct insn *in;    /* TAKEN, TARGET: the branch (copied into the site) */
};

struct cc_site {
  uint32_t handler;         /* the Lua handler's id */
  uint64_t pc;              /* app pc of the instruction it is attached to */
  uint8_t nargs;
  struct cc_arg args[CC_MAX_ARGS];
  struct insn in;           /* the instruction (TAKEN/TARGET evaluation) */
};

/* A new site (never freed: translations that use it are never reused). */
uint32_t cc_site_new(struct cc_site **out);
struct cc_site *cc_site_get(uint32_t id);

/* -- The plan a bb handler leaves ---------------------------------------------- */

/* CALL: a clean call. META: an instruction the handler inserted. ADD: add
** k to the running thread's counter slot (an inlined clean call, see
** bindings/lb_inl.c); the arch emits it without touching flags. WRAP: a
** call into wrap_cc for point `site` (engine/wrap.h; WRAP_SITE_BIT set).
** JMP: go to app pc k instead of the instruction (a replaced function);
** the block ends there. HC: compiled handler program k (engine/hc.h) with
** the arguments of clean-call site `site`. */
enum { BB_OP_CALL, BB_OP_META, BB_OP_ADD, BB_OP_WRAP, BB_OP_JMP, BB_OP_HC };

/* Per-thread 64-bit counters that BB_OP_ADD adds to (arch_tls.inl). The
** emitted add also sets the dirty byte of the slot's group of
** BB_ADD_GROUP (arch_tls.inl_dirty), so the fold looks only at groups that
** changed; the first BB_ADD_UNMARKED slots are not marked (a tool with few
** counters, inscount, pays no store for them) and are looked at on every
** fold. bb_add_nslots: slots handed out so far (set by the bindings,
** read when a thread's block is set up). */
#define BB_ADD_SLOTS ARCH_INL_SLOTS
#define BB_ADD_GROUP ARCH_INL_GROUP
#define BB_ADD_UNMARKED ARCH_INL_UNMARKED
extern uint32_t bb_add_nslots;

struct bb_op {
  uint16_t at;              /* app instruction index */
  uint8_t after;            /* 0: before it, 1: after it */
  uint8_t kind;             /* BB_OP_* */
  uint32_t site;            /* CALL: site id; ADD: counter slot */
  int64_t k;                /* ADD: the addend */
  uint32_t where;           /* META: bb_where_add id naming who inserted it (0: none) */
  uint8_t len;              /* META: raw bytes emitted as they are, */
  uint8_t riprel;           /* META: ... unless rip-relative: re-aimed at */
  uint64_t mpc;             /* META: mpc + len + disp (its own pc's target) */
  uint8_t bytes[INSN_MAX_BYTES];
};

/* -- Meta instructions that fault ------------------------------------------------
** A meta instruction carries no translation: a fault in it is the tool's
** bug, reported with the script line that inserted it. The bindings name
** each insertion (bb_where_add: "'mov ...' inserted before 0x... by
** FILE:LINE", interned, id >= 1); the translator notes where each one sits
** in its block (bb_meta_note, cache lock held); lurk's signal handler
** looks a faulting cache offset up (bb_meta_where: no lock, no allocation). */
uint32_t bb_where_add(const char *s);
void bb_meta_note(uint64_t block_pc, uint32_t coff, uint32_t where);
const char *bb_meta_where(uint64_t block_pc, uint32_t coff);

struct bb_plan {
  uint64_t pc;              /* the block's first app pc */
  unsigned n;               /* app instructions */
  struct insn *insns;       /* [n] */
  uint8_t *removed;         /* [n]: app instruction removed (or replaced) */
  struct bb_op *ops;        /* in the order they are emitted at one place */
  unsigned nops, cap;
  uint8_t superblock;       /* insns go on past conditional branches (tr_superblock) */
  uint8_t guard;            /* 1 + the guard of the block's indirect exit (cache_guard_new), or 0 */
  uint64_t guard_lo, guard_hi; /* its targets in [lo, hi) need no validation */
};

/* Append an op (engine memory). */
struct bb_op *bb_op_add(struct bb_plan *p);

#endif
