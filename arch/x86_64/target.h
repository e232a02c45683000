/* lurk: x86-64 per-thread block layout, shared by C, the .S routines and
** generated code. Generated code reaches the block through the gs base and
** addresses fields as gs:TLS_*; keep this list and struct arch_tls in sync
** (ORDER TLS, checked by _Static_assert in arch_tls.c).
*/
#ifndef LURK_ARCH_TARGET_H
#define LURK_ARCH_TARGET_H

/* The block is two parts, one gs base. The first page is read-only where
** the app runs: what cache code and engine entries only read, and whose
** corruption would redirect control or the engine's own reads (pointers
** jumped or called through, the engine stack, table bases). The engine
** writes it through a second, read+write view of the same page (TLS_W;
** tls.c arch_tls_map). Everything after it is writable: the slots cache
** code and the context switch store into (spills, the exit id, the app's
** registers and state) and the tools' per-thread data. docs/architecture.md,
** "Thread block and the gs base", lists both and why. */
/* Read-only page (TLS_RO_SIZE bytes): */
#define TLS_SELF 0        /* struct arch_tls * of this thread */
#define TLS_W 8           /* the engine's read+write view of this page */
#define TLS_RESUME 16     /* cache pc lurk_ctx_resume jumps to (set by the engine) */
#define TLS_IBL_TABLE 24  /* indirect-branch table base (shared) */
#define TLS_IBL_MASK 32   /* (entries - 1) << 4 */
#define TLS_DISP_ENTRY 40 /* address of lurk_ctx_enter */
#define TLS_ENGINE_SP 48  /* top of this thread's engine stack */
#define TLS_IBL_MISS 56   /* address of lurk_ibl_miss (the lookups' shared miss path) */
#define TLS_CC_ENTRY 64   /* address of lurk_cc */
#define TLS_XCR0_LO 72    /* xsave feature mask */
#define TLS_XCR0_HI 80
#define TLS_SIG_PENDING 88 /* nonzero: signals wait in this thread's queue */
#define TLS_RSEQ_AREA 96  /* the app's registered rseq area, or 0 */
#define ARCH_GUARDS 4     /* guard tables (engine/cache.h, cache_guard_new) */
#define TLS_GUARD_TAB 104 /* guard g's table base at +16g, mask at +16g+8 */
#define TLS_GIBL_MISS 168 /* address of lurk_gibl_miss (a guarded lookup's miss with its site data) */
#define TLS_RO_SIZE 4096
/* Writable (TLS_RO_SIZE on): */
#define TLS_EXIT_ID 4096  /* why the cache was left: exit id or EXIT_IBL */
#define TLS_JMP_TARGET 4104 /* a lookup's hit: the cache pc it jumps to next */
#define TLS_IBL_TARGET 4112 /* app pc an indirect-branch lookup missed on */
#define TLS_SPILL_RCX 4120 /* app rcx while an indirect branch is looked up */
#define TLS_SPILL_RAX 4128 /* app rax inside the lookup routine */
#define TLS_SPILL_RDX 4136 /* app rdx inside the lookup routine */
#define TLS_SPILL_SCR 4144 /* scratch register of a far rip-relative rewrite */
#define TLS_IBL_COUNT 4152 /* lookups, counted with --stats */
#define TLS_CC_SITE 4160  /* clean-call site id (set by the call site) */
#define TLS_CC_RSP 4168   /* rsp inside lurk_cc, at its return address */
#define TLS_CC_ACTIVE 4176 /* nonzero while lurk_cc runs lb_cc_dispatch */
#define TLS_APP_GS 4184   /* the app's gs base (its gs operands are rewritten) */
#define TLS_APP_FS 4192   /* the app's fs base (--early, or fs operands rewritten) */
#define TLS_GUARD_DATA 4200 /* a guarded lookup's miss: its site data */
#define TLS_RSEQ_SAVE 4208 /* app's rseq_cs while lurk's is armed (an rseq commit) */
#define TLS_MCTX 4224     /* app machine context while in the engine (144 bytes) */
#define TLS_XSAVE 4416    /* xsave area, 64-byte aligned */
#define TLS_XSAVE_SIZE 4096
#define TLS_INL (TLS_XSAVE + TLS_XSAVE_SIZE) /* inlined-call counters (bb.h BB_OP_ADD) */
#define ARCH_INL_SLOTS 8192 /* 64 KiB a thread, in pages the kernel maps as they are touched */
#define TLS_INL_DONE (TLS_INL + 8 * ARCH_INL_SLOTS) /* their values already folded into Lua */
#define ARCH_INL_GROUP 8 /* slots a dirty byte covers: one cache line of counters */
#define ARCH_INL_UNMARKED 16 /* the first slots: never marked dirty, always looked at */
#define TLS_INL_DIRTY (TLS_INL_DONE + 8 * ARCH_INL_SLOTS) /* 1: group changed since folded */
#define TLS_HC_SAVE (TLS_INL_DIRTY + ARCH_INL_SLOTS / ARCH_INL_GROUP) /* compiled handlers: */
                    /* app registers 0-15 and the flags (16) saved around one */
#define TLS_HC_V (TLS_HC_SAVE + 8 * 24)   /* its 64 virtual registers (engine/hc.h) */
#define TLS_HC_BUF (TLS_HC_V + 8 * 64)    /* lurk.buffer b: next record, end, base at +24b */
#define ARCH_HC_NBUF 8
#define TLS_HC_HASH (TLS_HC_BUF + 24 * ARCH_HC_NBUF) /* lurk.hash h: slots, mask, key, add at +32h */
#define ARCH_HC_NHASH 8
#define TLS_CTR (TLS_HC_HASH + 32 * ARCH_HC_NHASH) /* counter cells of lurk.counters */
#define ARCH_CTR_CELLS (1 << 20)          /* 8 MiB a thread, mapped as touched */
#define TLS_SIZE (TLS_CTR + 8 * ARCH_CTR_CELLS)

/* Machine context slots (ORDER GPR: hardware encoding order). */
#define MCTX_RAX 0
#define MCTX_RCX 1
#define MCTX_RDX 2
#define MCTX_RBX 3
#define MCTX_RSP 4
#define MCTX_RBP 5
#define MCTX_RSI 6
#define MCTX_RDI 7
#define MCTX_R8 8
#define MCTX_R9 9
#define MCTX_R10 10
#define MCTX_R11 11
#define MCTX_R12 12
#define MCTX_R13 13
#define MCTX_R14 14
#define MCTX_R15 15
#define MCTX_RFLAGS 16
#define MCTX_RIP 17
#define MCTX_NSLOTS 18

#define EXIT_IBL 0xffffffff     /* TLS_EXIT_ID value of a lookup miss */
#define EXIT_REENTER 0xfffffffe /* lurk_reenter: resume at TLS_MCTX rip */

#ifndef __ASSEMBLER__
#include <stdint.h>

struct arch_mctx {
  uint64_t gpr[16];
  uint64_t rflags;
  uint64_t rip;
};

/* The read-only page's fields (ORDER TLS, the first list above). */
#define ARCH_TLS_RO_FIELDS                                                          \
  struct arch_tls *self;                                                            \
  struct arch_tls_ro *w;                                                            \
  uint64_t resume;                                                                  \
  uint64_t ibl_table;                                                               \
  uint64_t ibl_mask;                                                                \
  uint64_t disp_entry;                                                              \
  uint64_t engine_sp;                                                               \
  uint64_t ibl_miss;                                                                \
  uint64_t cc_entry;                                                                \
  uint64_t xcr0_lo, xcr0_hi;                                                        \
  uint64_t sig_pending;                                                             \
  uint64_t rseq_area;                /* engine/rseq.c */                            \
  struct { uint64_t table, mask; } guard_tab[ARCH_GUARDS]; /* as ibl_table, ibl_mask */ \
  uint64_t gibl_miss;

struct arch_tls;
/* The engine's read+write view of the read-only page: t->w->field = v. */
struct arch_tls_ro { ARCH_TLS_RO_FIELDS };

struct arch_tls {
  union {                            /* read-only where the app runs: */
    const struct { ARCH_TLS_RO_FIELDS }; /* reads here, writes through w */
    uint8_t ro_page[TLS_RO_SIZE];
  };
  uint64_t exit_id;
  uint64_t jmp_target;
  uint64_t ibl_target;
  uint64_t spill_rcx, spill_rax, spill_rdx, spill_scr;
  uint64_t ibl_count;
  uint64_t cc_site, cc_rsp, cc_active;
  uint64_t app_gs;                   /* gs base the app believes it has (gs use is mangled) */
  uint64_t app_fs;                   /* fs base of the app (the engine's is arch_engine_fs) */
  uint64_t guard_data;               /* set by a guarded lookup's miss, cleared by disp */
  uint64_t rseq_save;                /* engine/rseq.c */
  struct arch_mctx mctx __attribute__((aligned(32)));
  uint8_t xsave[TLS_XSAVE_SIZE] __attribute__((aligned(64)));
  uint64_t inl[ARCH_INL_SLOTS];      /* written by this thread's blocks only */
  uint64_t inl_done[ARCH_INL_SLOTS]; /* under the Lua lock (lb_inl_sync) */
  uint8_t inl_dirty[ARCH_INL_SLOTS / ARCH_INL_GROUP]; /* set by blocks, cleared by lb_inl_sync */
  uint64_t hc_save[24];              /* app state around a compiled handler */
  uint64_t hc_v[64];                 /* its virtual registers */
  struct { uint64_t ptr, end, base; } hc_buf[ARCH_HC_NBUF]; /* lurk.buffer, this thread's */
  struct { uint64_t base, mask, key, add; } hc_hash[ARCH_HC_NHASH]; /* lurk.hash, this thread's */
  uint64_t ctr[ARCH_CTR_CELLS];      /* lurk.counters cells, this thread's share */
};
#endif

#endif
