/* lurk: x86-64 per-thread block layout, shared by C, the .S routines and
** generated code. Generated code reaches the block through the gs base and
** addresses fields as gs:TLS_*; keep this list and struct arch_tls in sync
** (ORDER TLS, checked by _Static_assert in arch_tls.c).
*/
#ifndef LURK_ARCH_TARGET_H
#define LURK_ARCH_TARGET_H

#define TLS_SELF 0        /* struct arch_tls * of this thread */
#define TLS_EXIT_ID 8     /* why the cache was left: exit id or EXIT_IBL */
#define TLS_JMP_TARGET 16 /* cache pc the context restore jumps to */
#define TLS_IBL_TARGET 24 /* app pc an indirect-branch lookup missed on */
#define TLS_IBL_TABLE 32  /* indirect-branch table base (shared) */
#define TLS_IBL_MASK 40   /* (entries - 1) << 4 */
#define TLS_DISP_ENTRY 48 /* address of lurk_ctx_enter */
#define TLS_ENGINE_SP 56  /* top of this thread's engine stack */
#define TLS_SPILL_RCX 64  /* app rcx while an indirect branch is looked up */
#define TLS_SPILL_RAX 72  /* app rax inside the lookup routine */
#define TLS_SPILL_RDX 80  /* app rdx inside the lookup routine */
#define TLS_SPILL_SCR 88  /* scratch register of a far rip-relative rewrite */
#define TLS_XCR0_LO 96    /* xsave feature mask */
#define TLS_XCR0_HI 104
#define TLS_IBL_COUNT 112 /* lookups, counted with --stats */
#define TLS_SIG_PENDING 120 /* nonzero: signals wait in this thread's queue */
#define TLS_MCTX 128      /* app machine context while in the engine */
#define TLS_CC_SITE 272   /* clean-call site id (set by the call site) */
#define TLS_CC_ENTRY 280  /* address of lurk_cc */
#define TLS_CC_RSP 288    /* rsp inside lurk_cc, at its return address */
#define TLS_CC_ACTIVE 296 /* nonzero while lurk_cc runs lb_cc_dispatch */
#define TLS_APP_GS 304    /* the app's gs base (its gs operands are rewritten) */
#define TLS_IBL_MISS 312  /* address of lurk_ibl_miss (the lookups' shared miss path) */
#define TLS_APP_FS 320    /* --early: the app's fs base while the engine runs on its own */
#define TLS_XSAVE 384     /* xsave area, 64-byte aligned */
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
#define TLS_GUARD_DATA (TLS_CTR + 8 * ARCH_CTR_CELLS) /* a guarded lookup's miss: its site data */
#define ARCH_GUARDS 4                     /* guard tables (engine/cache.h, cache_guard_new) */
#define TLS_GUARD_TAB (TLS_GUARD_DATA + 8) /* guard g's table base at +16g, mask at +16g+8 */
#define TLS_RSEQ_AREA (TLS_GUARD_TAB + 16 * ARCH_GUARDS) /* the app's registered rseq area, or 0 */
#define TLS_RSEQ_SAVE (TLS_RSEQ_AREA + 8) /* app's rseq_cs while lurk's is armed (an rseq commit) */
#define TLS_SIZE (TLS_RSEQ_SAVE + 8)

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

struct arch_tls {
  struct arch_tls *self;
  uint64_t exit_id;
  uint64_t jmp_target;
  uint64_t ibl_target;
  uint64_t ibl_table;
  uint64_t ibl_mask;
  uint64_t disp_entry;
  uint64_t engine_sp;
  uint64_t spill_rcx, spill_rax, spill_rdx, spill_scr;
  uint64_t xcr0_lo, xcr0_hi;
  uint64_t ibl_count;
  uint64_t sig_pending;
  struct arch_mctx mctx;
  uint64_t cc_site, cc_entry, cc_rsp, cc_active;
  uint64_t app_gs;                   /* gs base the app believes it has (gs use is mangled) */
  uint64_t ibl_miss;
  uint64_t app_fs;                   /* --early: fs base of the app (the engine's is arch_engine_fs) */
  uint8_t xsave[TLS_XSAVE_SIZE] __attribute__((aligned(64)));
  uint64_t inl[ARCH_INL_SLOTS];      /* written by this thread's blocks only */
  uint64_t inl_done[ARCH_INL_SLOTS]; /* under the Lua lock (lb_inl_sync) */
  uint8_t inl_dirty[ARCH_INL_SLOTS / ARCH_INL_GROUP]; /* set by blocks, cleared by lb_inl_sync */
  uint64_t hc_save[24];              /* app state around a compiled handler */
  uint64_t hc_v[64];                 /* its virtual registers */
  struct { uint64_t ptr, end, base; } hc_buf[ARCH_HC_NBUF]; /* lurk.buffer, this thread's */
  struct { uint64_t base, mask, key, add; } hc_hash[ARCH_HC_NHASH]; /* lurk.hash, this thread's */
  uint64_t ctr[ARCH_CTR_CELLS];      /* lurk.counters cells, this thread's share */
  uint64_t guard_data;               /* set by a guarded lookup's miss, cleared by disp */
  struct { uint64_t table, mask; } guard_tab[ARCH_GUARDS]; /* as ibl_table, ibl_mask */
  uint64_t rseq_area, rseq_save;     /* engine/rseq.c */
};
#endif

#endif
