/* lurk: x86-64 signal frames and lurk's signal handler.
** The handler runs on lurk's per-thread signal stack with every signal
** blocked. It takes no lock and allocates nothing: it finds where the
** thread was (translated code, the app-syscall routine, the engine),
** queues the signal on the thread, and when the app state is whole at the
** interrupted cache pc, moves that state into the thread block and sends
** the thread to the dispatcher, which builds the app's frame (sig.c).
** Frames follow the kernel's rt_sigframe layout (arch/x86/kernel/signal.c).
*/
#include <stddef.h>
#include "../arch.h"
#include "syscall.h"
#include "xl.h"
#include "../../engine/cache.h"
#include "../../engine/log.h"
#include "../../engine/prof.h"
#include "../../engine/sig.h"
#include "../../engine/bb.h"
#include "../../engine/vm.h"

/* -- Kernel layouts ------------------------------------------------------------ */

struct k_sigcontext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;
  uint64_t reserved1[8];
};

struct k_stack { uint64_t sp; int32_t flags, pad; uint64_t size; };

struct k_ucontext {
  uint64_t uc_flags, uc_link;
  struct k_stack uc_stack;
  struct k_sigcontext uc_mcontext;
  uint64_t uc_sigmask;
};

struct k_rt_sigframe {
  uint64_t pretcode;
  struct k_ucontext uc;
  uint8_t info[128];
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext");
_Static_assert(offsetof(struct k_rt_sigframe, info) == 312, "rt_sigframe");

#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define EFL_TF 0x100ull
#define EFL_DF 0x400ull
#define EFL_RF 0x10000ull
/* Fault-class exceptions, by vector (all but #DB 1, NMI 2, #BP 3, #OF 4):
** the CPU saves RF set for them, so their frames carry it. */
#define TRAP_FAULTS 0xf7de1ull
/* Flags sigreturn takes from the frame (the kernel's FIX_EFLAGS). */
#define EFL_FIX (0x40000ull | 0x800 | EFL_DF | EFL_TF | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | EFL_RF)

extern const uint8_t lurk_sys_app_insn[], lurk_sys_app_done[];
extern const uint8_t lurk_safe_copy_insn[], lurk_safe_copy_fault[];
extern const uint8_t lurk_sig_reenter[], lurk_reenter[];
extern const uint8_t lurk_ctx_resume[], lurk_ctx_resume_jmp[];
extern const uint8_t lurk_cc_post[], lurk_cc_epi[], lurk_cc_popf[], lurk_cc_end[];
extern size_t lurk_safe_copy(void *dst, const void *src, size_t n);

/* -- Copies that fault softly --------------------------------------------------- */

int arch_copy_in(void *dst, uint64_t src, size_t n) { return lurk_safe_copy(dst, (const void *)src, n) != 0; }
int arch_copy_out(uint64_t dst, const void *src, size_t n) { return lurk_safe_copy((void *)dst, src, n) != 0; }

/* -- Context conversions --------------------------------------------------------- */

static void sc_to_mctx(const struct k_sigcontext *sc, struct arch_mctx *m)
{
  m->gpr[MCTX_RAX] = sc->rax; m->gpr[MCTX_RCX] = sc->rcx;
  m->gpr[MCTX_RDX] = sc->rdx; m->gpr[MCTX_RBX] = sc->rbx;
  m->gpr[MCTX_RSP] = sc->rsp; m->gpr[MCTX_RBP] = sc->rbp;
  m->gpr[MCTX_RSI] = sc->rsi; m->gpr[MCTX_RDI] = sc->rdi;
  m->gpr[MCTX_R8] = sc->r8; m->gpr[MCTX_R9] = sc->r9;
  m->gpr[MCTX_R10] = sc->r10; m->gpr[MCTX_R11] = sc->r11;
  m->gpr[MCTX_R12] = sc->r12; m->gpr[MCTX_R13] = sc->r13;
  m->gpr[MCTX_R14] = sc->r14; m->gpr[MCTX_R15] = sc->r15;
  m->rflags = sc->eflags;
  m->rip = sc->rip;
}

static void mctx_to_sc(const struct arch_mctx *m, struct k_sigcontext *sc)
{
  sc->rax = m->gpr[MCTX_RAX]; sc->rcx = m->gpr[MCTX_RCX];
  sc->rdx = m->gpr[MCTX_RDX]; sc->rbx = m->gpr[MCTX_RBX];
  sc->rsp = m->gpr[MCTX_RSP]; sc->rbp = m->gpr[MCTX_RBP];
  sc->rsi = m->gpr[MCTX_RSI]; sc->rdi = m->gpr[MCTX_RDI];
  sc->r8 = m->gpr[MCTX_R8]; sc->r9 = m->gpr[MCTX_R9];
  sc->r10 = m->gpr[MCTX_R10]; sc->r11 = m->gpr[MCTX_R11];
  sc->r12 = m->gpr[MCTX_R12]; sc->r13 = m->gpr[MCTX_R13];
  sc->r14 = m->gpr[MCTX_R14]; sc->r15 = m->gpr[MCTX_R15];
  sc->eflags = m->rflags;
  sc->rip = m->rip;
}

/* Make an xsave image safe for xrstor with lurk's feature mask: only our
** components, standard (not compacted) format, reserved header bytes 0. */
static void xsave_sanitize(uint8_t *x, uint64_t mask)
{
  uint64_t bv;
  __builtin_memcpy(&bv, x + 512, 8);
  bv &= mask;
  __builtin_memcpy(x + 512, &bv, 8);
  lurk_memset(x + 520, 0, 56);
}

/* Size of the xsave image with the state lurk saves. */
static size_t xsave_size(void) { return arch_xsave_bytes; }

/* Copy a kernel (or app) fpstate image into the thread's xsave area. */
static int fpstate_in(struct arch_tls *tls, uint64_t fp, int from_app)
{
  uint8_t *x = tls->xsave;
  uint64_t mask = tls->xcr0_lo | (tls->xcr0_hi << 32);
  if (!fp) { /* no FP state: the init state */
    lurk_memset(x, 0, 576);
    uint32_t mxcsr = 0x1f80;
    __builtin_memcpy(x + 24, &mxcsr, 4);
    return 1;
  }
  uint32_t magic1 = 0, xsize = 512;
  if (from_app) {
    if (arch_copy_in(&magic1, fp + 464, 4)) return 0;
  } else {
    __builtin_memcpy(&magic1, (void *)(fp + 464), 4);
  }
  if (magic1 == FP_XSTATE_MAGIC1) {
    if (from_app) { if (arch_copy_in(&xsize, fp + 464 + 16, 4)) return 0; }
    else __builtin_memcpy(&xsize, (void *)(fp + 464 + 16), 4);
    if (xsize > xsave_size()) xsize = (uint32_t)xsave_size();
    if (xsize < 576) xsize = 512;
  }
  if (from_app) { if (arch_copy_in(x, fp, xsize)) return 0; }
  else lurk_memcpy(x, (void *)fp, xsize);
  if (xsize == 512) { /* legacy image: x87 and SSE only */
    lurk_memset(x + 512, 0, 64);
    mask &= 3;
    uint64_t bv = 3;
    __builtin_memcpy(x + 512, &bv, 8);
  }
  xsave_sanitize(x, mask);
  return 1;
}

/* -- Where the thread was -------------------------------------------------------- */

/* Rebuild the app state at cache pc cpc of block b in m (which holds the
** interrupted registers). 0 if the state there is not whole. */
static int xl_apply(const struct cache_block *b, uint64_t cpc, struct arch_mctx *m,
                    const struct arch_tls *tls, int sync)
{
  const struct xl_rec *xl = b->xl;
  uint32_t off = (uint32_t)(cpc - (uint64_t)b->cpc);
  int lo = 0, hi = (int)b->nxl - 1, k = -1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (xl[mid].coff <= off) { k = mid; lo = mid + 1; }
    else hi = mid - 1;
  }
  if (k < 0) return 0;
  const struct xl_rec *r = &xl[k];
  if ((r->kind & XL_F_FAULT) && !sync) return 0;
  switch (r->kind & ~XL_F_FAULT) {
  case XL_LINEAR: m->rip = b->pc + r->aoff + (off - r->coff); return 1;
  case XL_AT: m->rip = b->pc + r->aoff; return 1;
  case XL_RCX: m->rip = b->pc + r->aoff; m->gpr[MCTX_RCX] = tls->spill_rcx; return 1;
  case XL_SCR: m->rip = b->pc + r->aoff; m->gpr[r->reg] = tls->spill_scr; return 1;
  case XL_HCSAVE:
    m->rip = b->pc + r->aoff;
    for (int i = 0; i < 16; i++)
      if ((r->mask >> i) & 1) m->gpr[i] = tls->hc_save[i];
    if (r->reg) { /* ah = SF ZF - AF - PF - CF (lahf), al = OF (seto) */
      uint64_t f = tls->hc_save[16];
      m->rflags = (m->rflags & ~0x8d5ull) | ((f >> 8) & 0xd5) | ((f & 0xff) ? 0x800 : 0);
    }
    return 1;
  case XL_RCXRDX:
    m->rip = b->pc + r->aoff;
    m->gpr[MCTX_RCX] = tls->spill_rcx;
    m->gpr[MCTX_RDX] = tls->spill_rdx;
    return 1;
  default: return 0;
  }
}

/* The x87 last-instruction pointer (FIP, at byte 8 of an xsave64 image) as
** the program would see it: the CPU stored the cache pc of the copy it ran;
** 0 if it is not in the cache (the program's own pc already, or a block's
** address that is not known). Blocks are never reused (cache.h). */
uint64_t arch_fip_app(const uint8_t *x, const struct arch_tls *tls)
{
  uint64_t fip;
  __builtin_memcpy(&fip, x + 8, 8);
  if (!cache_holds(fip)) return 0;
  const struct cache_block *b = cache_block_at(fip);
  struct arch_mctx m;
  lurk_memset(&m, 0, sizeof m);
  if (!b || !xl_apply(b, fip, &m, tls, 1)) return 0;
  return m.rip;
}

size_t arch_fetch_app(uint8_t *buf, uint64_t pc, size_t max)
{
  if (!arch_copy_in(buf, pc, max)) return max;
  size_t n = 0; /* (the bytes end in an unreadable page) */
  while (n < max && !arch_copy_in(buf + n, pc + n, 1)) n++;
  return n;
}

int arch_fop_app(uint64_t pc)
{
  uint8_t b[16];
  size_t n = arch_fetch_app(b, pc, sizeof b);
  for (size_t i = 0; i + 1 < n; i++) {
    uint8_t c = b[i];
    if (c >= 0xd8 && c <= 0xdf) return ((c & 7) << 8) | b[i + 1];
    int prefix = c == 0x66 || c == 0x67 || c == 0xf0 || c == 0xf2 || c == 0xf3 || c == 0x2e ||
                 c == 0x36 || c == 0x3e || c == 0x26 || c == 0x64 || c == 0x65 || (c & 0xf0) == 0x40;
    if (!prefix) break;
  }
  return -1;
}

/* Send the thread to the dispatcher with the app state m (and the FP
** state of the interrupted context) when lurk's handler returns. */
static void to_dispatcher(struct lurk_thread *t, struct k_ucontext *uc, const struct arch_mctx *m)
{
  struct k_sigcontext *sc = &uc->uc_mcontext;
  t->tls.mctx = *m;
  t->tls.mctx.rflags &= ~EFL_TF;
  fpstate_in(&t->tls, sc->fpstate, 0);
  sc->rip = (uint64_t)lurk_sig_reenter;
  sc->rsp = t->tls.engine_sp;
  sc->eflags &= ~(EFL_TF | EFL_DF);
}

/* Queue the signal. After an asynchronous one, every signal the thread
** did not block stays blocked in the kernel until it is delivered, so the
** others wait there (coalescing as natively, where it would be blocked
** while its handler runs) instead of arriving over and over before the
** thread reaches a delivery point, and the kernel hands them over one at a
** time, in its own order (lowest number first, queued real-time instances
** in order: lurk could not put one back in its place). The signals a fault
** raises stay open: blocked, a fault (the app's, or lurk's soft-faulting
** copies, or lurk's single step) would kill the process. */
#define SIG_SYNC (SIG_BIT(4) | SIG_BIT(5) | SIG_BIT(7) | SIG_BIT(8) | SIG_BIT(11))
static void queue(struct lurk_thread *t, int sig, void *infop, struct k_ucontext *uc, int sync,
                  uint64_t app_pc)
{
  (void)sig;
  struct k_sigcontext *sc = &uc->uc_mcontext;
  uint64_t addr;
  __builtin_memcpy(&addr, (uint8_t *)infop + 16, 8);
  if (sync && app_pc && addr == sc->rip) {
    /* SIGILL, SIGFPE, SIGTRAP report the instruction: the app's, not lurk's. */
    __builtin_memcpy((uint8_t *)infop + 16, &app_pc, 8);
  }
  sig_queue(t, infop, sc->err, sc->trapno, sc->cr2, sync);
  if (!sync) {
    uint64_t add = ~uc->uc_sigmask & ~(SIG_BIT(9) | SIG_BIT(19) | SIG_SYNC);
    uc->uc_sigmask |= add;
    t->sig_tmpblocked |= add;
  }
}

static int is_sync(int sig, const int32_t *info)
{
  return (sig == 11 || sig == 7 || sig == 4 || sig == 8 || sig == 5) && info[2] > 0;
}

/* Is the instruction at pc a pushf (any operand size)? Stepped, it would
** push lurk's TF: the trap after it takes TF out of the pushed value. */
static int is_pushf(uint64_t pc)
{
  const uint8_t *p = (const uint8_t *)pc;
  while (*p == 0x66 || (*p & 0xf0) == 0x40) p++;
  return *p == 0x9c;
}

/* Length of the int3 (cc) or int 3 (cd 03) that raised a SIGTRAP whose
** pc (after the instruction) is cpc in block b; 0 if neither is there. */
static int int3_len(const struct cache_block *b, uint64_t cpc)
{
  const uint8_t *p = (const uint8_t *)cpc;
  uint64_t start = (uint64_t)(uintptr_t)b->cpc;
  if (cpc >= start + 1 && p[-1] == 0xcc) return 1;
  if (cpc >= start + 2 && p[-2] == 0xcd && p[-1] == 0x03) return 2;
  return 0;
}

/* Start single-stepping the thread to the next whole-state point. */
static void step_begin(struct lurk_thread *t, struct k_ucontext *uc)
{
  uc->uc_mcontext.eflags |= EFL_TF;
  t->step_pushf = is_pushf(uc->uc_mcontext.rip);
  if (!t->stepping) {
    t->stepping = 1;
    t->step_trap_blocked = (uc->uc_sigmask & SIG_BIT(5)) != 0;
    uc->uc_sigmask &= ~SIG_BIT(5);
  }
}

static void step_end(struct lurk_thread *t, struct k_ucontext *uc)
{
  uc->uc_mcontext.eflags &= ~EFL_TF;
  if (t->step_trap_blocked) uc->uc_sigmask |= SIG_BIT(5);
  t->stepping = 0;
  t->step_pushf = 0;
}

/* A clean call saw a signal queued (lurk_cc, after lb_cc_dispatch): the app
** flags it restores get TF, so the thread steps on to a block start where
** the signal is delivered. Not in a handler: SIGTRAP is unblocked with a
** system call (rare path), and blocked again at the step's end. */
void arch_cc_step(struct arch_tls *tls)
{
  struct lurk_thread *t = thr_of(tls);
  tls->mctx.rflags |= EFL_TF;
  t->step_pushf = 0; /* lurk's code comes first */
  if (t->stepping) return;
  uint64_t trap = SIG_BIT(5), old = 0;
  sys_call4(SYS_rt_sigprocmask, 1 /* SIG_UNBLOCK */, &trap, &old, 8);
  t->step_trap_blocked = (old & trap) != 0;
  t->stepping = 1;
}

/* A signal at pc in lurk_cc_post..lurk_cc_end, after the clean call's own
** check: make the app flags about to be restored carry TF, wherever they
** are at pc, so the thread steps on to a block start. Before lurk_cc_epi
** they are only in the thread block; from there on TF is also set live
** (the epilogue's instructions may be stepped through, and its fast path
** leaves TF as it is), and on the stack at the popfq. */
static void cc_signal(struct lurk_thread *t, struct k_ucontext *uc, uint64_t pc)
{
  struct k_sigcontext *sc = &uc->uc_mcontext;
  t->tls.mctx.rflags |= EFL_TF;
  if (pc == (uint64_t)lurk_cc_popf) *(uint64_t *)sc->rsp |= EFL_TF;
  step_begin(t, uc);
  if (pc < (uint64_t)lurk_cc_epi) sc->eflags &= ~EFL_TF; /* no trap in lurk's code */
}

/* A single-step trap of the app's own TF. The CPU traps after every
** instruction, lurk's included; the app gets one SIGTRAP (TRAP_TRACE,
** si_addr = rip) per app instruction: at a whole-state point in a block
** that an app instruction reached (a new app pc, a block entered by a
** branch, or one owed since the trap passed through lurk's code in the
** cache: exit stubs, lookups, call pushes). The resume's own instructions
** and its landing at the pc it resumes are not the app's, nor is the way
** to the next block after a popf that set TF (tr.c ends a block at each
** popf, so the first trap never falls inside a run). lurk's code
** outside the cache runs without TF; the dispatcher puts it back and
** raises the owed trap (disp.c). */
static void app_step(struct lurk_thread *t, void *infop, struct k_ucontext *uc, uint64_t pc)
{
  struct k_sigcontext *sc = &uc->uc_mcontext;
  if (pc > (uint64_t)lurk_ctx_resume && pc <= (uint64_t)lurk_ctx_resume_jmp) {
    t->tf_resume = 1;
    return;
  }
  if (!t->tf_active) { /* a popf just set TF; it ends its block, so no app instruction ran since */
    t->tf_active = 1;
    t->tf_skip = 1;
    t->tf_owed = 0;
  }
  const struct cache_block *b = cache_block_at(pc);
  struct arch_mctx m;
  sc_to_mctx(sc, &m);
  if (b && xl_apply(b, pc, &m, &t->tls, 1)) {
    if (t->tf_skip) { /* the popf's block ends (alignment, exit): steps count from the next block */
      if (pc != (uint64_t)b->cpc) return;
      t->tf_skip = 0;
      t->tf_resume = 0;
      t->tf_from = m.rip;
      return;
    }
    int progress = t->tf_owed || m.rip != t->tf_from || (pc == (uint64_t)b->cpc && !t->tf_resume);
    t->tf_resume = 0;
    if (!progress) return;
    t->tf_owed = 0;
    t->tf_from = m.rip;
    __builtin_memcpy((uint8_t *)infop + 16, &m.rip, 8);
    sig_queue(t, infop, sc->err, sc->trapno, sc->cr2, 1);
    uint64_t tf = sc->eflags & EFL_TF;
    to_dispatcher(t, uc, &m);
    t->tls.mctx.rflags |= tf; /* the app's TF (clear after the popf that cleared it) */
    return;
  }
  if (b || cache_holds(pc)) {
    if (!t->tf_skip) t->tf_owed = 1;
    return;
  }
  t->tf_engine = 1;
  sc->eflags &= ~EFL_TF;
}

/* lurk's handler for every signal it owns (installed by sig.c, entered
** through lurk_sig_entry in context.S). */
void arch_sig_handle(int sig, void *infop, void *ucp)
{
  struct lurk_thread *t = thr_self();
  const int32_t *info = infop;
  struct k_ucontext *uc = ucp;
  struct k_sigcontext *sc = &uc->uc_mcontext;
  uint64_t pc = sc->rip, addr;
  __builtin_memcpy(&addr, (const uint8_t *)infop + 16, 8);
  int sync = is_sync(sig, info);
  const struct cache_block *b;

  /* A write to a code page lurk protects: give the page back its write
  ** permission; the blocks built from it are flushed before the thread runs
  ** more app code, and the writer runs alone (so a write into the rest of
  ** its own block is seen). */
  uint64_t code_page;
  if (sig == 11 && info[2] == 2 /* SEGV_ACCERR */ && vm_wp_fault(addr, &code_page)) {
    if (t->nsmc < 8) t->smc_pages[t->nsmc++] = code_page;
    else t->nsmc = 9; /* too many: flush them all */
    b = cache_block_at(pc);
    struct arch_mctx m;
    sc_to_mctx(sc, &m);
    if (b && xl_apply(b, pc, &m, &t->tls, sync)) {
      t->smc_solo = 1;
      to_dispatcher(t, uc, &m);
    }
    /* In the engine, or in lurk's code of a block where the state is not
    ** whole (a call's return-address store, a ret's slot rewrite: code on
    ** the stack, e.g. gcc's nested-function trampolines): the write is
    ** retried, and the page's blocks are flushed at the thread's next
    ** dispatcher entry. */
    return;
  }
  /* SIGSYS from a seccomp filter (SECCOMP_RET_TRAP): for an app call, the
  ** app's signal with si_call_addr = the app's resume pc (its context is
  ** already the call's: rax the number the kernel rolled back). lurk's
  ** own calls pass the app's filters (seccomp.c); one trapped by a filter
  ** from before lurk started fails with ENOSYS and raises nothing. A
  ** trapped thread creation (lurk_clone) fails with ENOSYS too: lurk
  ** cannot take a rolled-back clone for a result. */
  if (sig == 31 && info[2] == 1 /* SYS_SECCOMP */) {
    int site = arch_seccomp_site(pc);
    if (!site || site == 2) sc->rax = (uint64_t)-38;
    if (!site) return;
    __builtin_memcpy((uint8_t *)infop + 16, &t->tls.mctx.rip, 8);
  }
  if ((sig == 11 || sig == 7) && pc == (uint64_t)lurk_safe_copy_insn) {
    sc->rip = (uint64_t)lurk_safe_copy_fault;
    return;
  }
  /* The app's own trap flag (TRAP_TRACE while lurk is not stepping). */
  if (sig == 5 && info[2] == 2 /* TRAP_TRACE */ && !t->stepping) {
    app_step(t, infop, uc, pc);
    return;
  }
  /* lurk's own single step towards a whole-state point. */
  if (sig == 5 && t->stepping && !(info[2] == 0x80 /* SI_KERNEL: int3 */)) {
    if (t->step_pushf) *(uint16_t *)sc->rsp &= (uint16_t)~EFL_TF; /* the app never sees it */
    t->step_pushf = is_pushf(pc);
    b = cache_block_at(pc);
    struct arch_mctx m;
    sc_to_mctx(sc, &m);
    if (b && xl_apply(b, pc, &m, &t->tls, 0)) {
      step_end(t, uc);
      to_dispatcher(t, uc, &m);
    } else if (pc >= (uint64_t)lurk_cc_epi && pc < (uint64_t)lurk_cc_end) {
      /* leaving a clean call that re-armed the step: go on to a block start */
    } else if (!b && !cache_holds(pc)) {
      step_end(t, uc); /* reached the engine: the dispatcher delivers */
    }
    return;
  }
  /* A sampling tick (engine/prof.c) that lands where the app state is not
  ** whole (a lookup routine, an exit stub, the engine, a system call) is
  ** time lurk spends for the program, not the program's: dropped, instead
  ** of stepping on (each step costs a trap) to a point that is. A point
  ** whole but for faults only (inside an instrumented block) still steps
  ** on to the block's end, as other signals do. */
  if (!sync && prof_is_sample(t, infop)) {
    struct arch_mctx m;
    sc_to_mctx(sc, &m);
    b = cache_block_at(pc);
    if (!b || !xl_apply(b, pc, &m, &t->tls, 1)) {
      prof_drop(t);
      return;
    }
  }
  /* The app-syscall routine before or in the kernel: report how far it got
  ** (sig.h) instead of letting a blocking call sleep with a signal queued. */
  if (pc >= (uint64_t)(uintptr_t)lurk_sys_app6 && pc <= (uint64_t)lurk_sys_app_insn) {
    sc->rax = (pc == (uint64_t)lurk_sys_app_insn && sc->rcx == (uint64_t)lurk_sys_app_done)
                  ? SIG_RESTART_IF_SA : SIG_NOT_STARTED;
    sc->rip = (uint64_t)lurk_sys_app_done;
  }
  b = cache_block_at(pc);
  if (!b && pc >= (uint64_t)lurk_cc_post && pc < (uint64_t)lurk_cc_end) {
    queue(t, sig, infop, uc, sync, 0);
    cc_signal(t, uc, pc);
    return;
  }
  if (!b) {
    if (cache_holds(pc)) { /* a link trampoline: step into the next block */
      queue(t, sig, infop, uc, sync, 0);
      step_begin(t, uc);
      return;
    }
    if (sync) sig_internal(sig, pc, addr);
    /* In the engine: delivered at the dispatcher's exit. If the dispatcher
    ** has already looked at the queue, its resume re-enters it instead. */
    queue(t, sig, infop, uc, sync, 0);
    t->tls.w->resume = (uint64_t)lurk_reenter;
    return;
  }
  struct arch_mctx m;
  sc_to_mctx(sc, &m);
  /* int3 traps with the pc after it, which in an instrumented block is
  ** lurk's code for the next instruction (a clean call): translate the
  ** int3 itself, then step over it as the CPU did. */
  int tlen = sig == 5 && info[2] == 0x80 /* SI_KERNEL */ ? int3_len(b, pc) : 0;
  if (tlen && xl_apply(b, pc - (uint64_t)tlen, &m, &t->tls, sync)) {
    m.rip += (uint64_t)tlen;
  } else if (!xl_apply(b, pc, &m, &t->tls, sync)) {
    if (sync) {
      const char *w = bb_meta_where(b->pc, (uint32_t)(pc - (uint64_t)(uintptr_t)b->cpc));
      if (w) sig_meta_fault(sig, addr, w);
      sig_internal(sig, pc, addr);
    }
    queue(t, sig, infop, uc, sync, 0);
    step_begin(t, uc);
    return;
  }
  queue(t, sig, infop, uc, sync, m.rip);
  if (t->stepping) step_end(t, uc);
  to_dispatcher(t, uc, &m);
}

/* -- Frames ---------------------------------------------------------------------- */

int arch_sig_frame(struct lurk_thread *t, const struct sig_entry *e, const struct sig_action *act,
                   uint64_t mask, uint64_t stack_top, const void *app_ss)
{
  struct arch_mctx *m = &t->tls.mctx;
  const struct k_stack *ss = app_ss;
  uint64_t orig_sp = m->gpr[MCTX_RSP];
  size_t xsize = xsave_size();
  uint64_t sp = stack_top ? stack_top : orig_sp - 128;
  uint64_t fp = (sp - (xsize + 4)) & ~63ull;
  uint64_t frame = ((fp - sizeof(struct k_rt_sigframe)) & ~15ull) - 8;
  struct k_rt_sigframe f;
  lurk_memset(&f, 0, sizeof f);
  f.pretcode = act->restorer;
  f.uc.uc_flags = 7; /* UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
  f.uc.uc_stack.sp = ss->sp;
  f.uc.uc_stack.size = ss->size;
  f.uc.uc_stack.flags = (!ss->size ? 2 : (orig_sp > ss->sp && orig_sp - ss->sp <= ss->size) ? 1 : 0) |
                        (ss->flags & (int32_t)0x80000000);
  mctx_to_sc(m, &f.uc.uc_mcontext);
  f.uc.uc_mcontext.cs = 0x33;
  f.uc.uc_mcontext.ss = 0x2b;
  /* RF as the CPU saves it; the faults lurk raises itself (an instruction
  ** it does not translate, a fetch from an unmapped page) lack it. */
  if (e->sync && e->trapno < 32 && (TRAP_FAULTS >> e->trapno & 1)) f.uc.uc_mcontext.eflags |= EFL_RF;
  f.uc.uc_mcontext.err = e->err;
  f.uc.uc_mcontext.trapno = e->trapno;
  f.uc.uc_mcontext.cr2 = e->cr2;
  f.uc.uc_mcontext.oldmask = mask;
  f.uc.uc_mcontext.fpstate = fp;
  f.uc.uc_sigmask = mask;
  lurk_memcpy(f.info, e->info, sizeof f.info);
  /* The FP state, with the software bytes the kernel adds (fx_sw_bytes). */
  uint8_t *x = t->tls.xsave;
  uint32_t sw[12] = { FP_XSTATE_MAGIC1, (uint32_t)xsize + 4, (uint32_t)t->tls.xcr0_lo,
                      (uint32_t)t->tls.xcr0_hi, (uint32_t)xsize };
  uint32_t magic2 = FP_XSTATE_MAGIC2;
  uint64_t fip = arch_fip_app(x, &t->tls);
  int fop = fip ? arch_fop_app(fip) : -1;
  uint16_t fop16 = (uint16_t)fop;
  if (arch_copy_out(fp, x, xsize) || arch_copy_out(fp + 464, sw, sizeof sw) ||
      arch_copy_out(fp + xsize, &magic2, 4) || arch_copy_out(frame, &f, sizeof f) ||
      (fip && arch_copy_out(fp + 8, &fip, 8)) || (fop >= 0 && arch_copy_out(fp + 6, &fop16, 2)))
    return 0;
  int sig = *(const int32_t *)(const void *)e->info;
  m->gpr[MCTX_RDI] = (uint64_t)sig;
  m->gpr[MCTX_RSI] = frame + offsetof(struct k_rt_sigframe, info);
  m->gpr[MCTX_RDX] = frame + offsetof(struct k_rt_sigframe, uc);
  m->gpr[MCTX_RAX] = 0;
  m->gpr[MCTX_RSP] = frame;
  m->rip = act->handler;
  m->rflags &= ~(EFL_DF | EFL_RF | EFL_TF);
  /* The handler starts with the FPU in its initial state, as natively. */
  fpstate_in(&t->tls, 0, 0);
  return 1;
}

int arch_sig_restore(struct lurk_thread *t, uint64_t *mask, void *app_ss)
{
  struct arch_mctx *m = &t->tls.mctx;
  struct k_stack *ss = app_ss;
  uint64_t frame = m->gpr[MCTX_RSP] - 8;
  struct k_rt_sigframe f;
  if (arch_copy_in(&f, frame, sizeof f)) return 0;
  uint64_t flags = m->rflags;
  sc_to_mctx(&f.uc.uc_mcontext, m);
  m->rflags = (flags & ~EFL_FIX) | (f.uc.uc_mcontext.eflags & EFL_FIX);
  if (!fpstate_in(&t->tls, f.uc.uc_mcontext.fpstate, 1)) return 0;
  *mask = f.uc.uc_sigmask;
  /* The alternate stack as saved in the frame, unless sigreturn runs on it. */
  uint64_t sp = frame + 8;
  int on = ss->size && sp > ss->sp && sp - ss->sp <= ss->size;
  if (!on) {
    int mode = f.uc.uc_stack.flags & ~(int32_t)0x80000000;
    if (mode == 2) { ss->sp = 0; ss->size = 0; ss->flags = f.uc.uc_stack.flags; }
    else if (mode == 0 && f.uc.uc_stack.size >= 2048) {
      ss->sp = f.uc.uc_stack.sp;
      ss->size = f.uc.uc_stack.size;
      ss->flags = f.uc.uc_stack.flags;
    }
  }
  return 1;
}
