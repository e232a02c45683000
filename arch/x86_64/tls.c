/* lurk: x86-64 thread blocks: the gs base, extended-state saving, resume. */
#include <asm/prctl.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <stddef.h>
#include "../arch.h"
#include "syscall.h"
#include "xl.h"
#include "../../engine/log.h"
#include "../../engine/cache.h"
#include "../../engine/bb.h"
#include "../../engine/mem.h"

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#endif

/* ORDER TLS: each field at its TLS_* offset, the read-only ones in both views. */
#define RO_AT(f, off) \
  _Static_assert(offsetof(struct arch_tls, f) == off && offsetof(struct arch_tls_ro, f) == off, #off)
RO_AT(self, TLS_SELF);
RO_AT(w, TLS_W);
RO_AT(resume, TLS_RESUME);
RO_AT(ibl_table, TLS_IBL_TABLE);
RO_AT(ibl_mask, TLS_IBL_MASK);
RO_AT(disp_entry, TLS_DISP_ENTRY);
RO_AT(engine_sp, TLS_ENGINE_SP);
RO_AT(ibl_miss, TLS_IBL_MISS);
RO_AT(cc_entry, TLS_CC_ENTRY);
RO_AT(xcr0_lo, TLS_XCR0_LO);
RO_AT(xcr0_hi, TLS_XCR0_HI);
RO_AT(sig_pending, TLS_SIG_PENDING);
RO_AT(rseq_area, TLS_RSEQ_AREA);
RO_AT(guard_tab, TLS_GUARD_TAB);
RO_AT(gibl_miss, TLS_GIBL_MISS);
_Static_assert(sizeof(struct arch_tls_ro) <= TLS_RO_SIZE, "read-only page overflows");
_Static_assert(offsetof(struct arch_tls, exit_id) == TLS_RO_SIZE, "writable part after the page");
_Static_assert(offsetof(struct arch_tls, exit_id) == TLS_EXIT_ID, "TLS_EXIT_ID");
_Static_assert(offsetof(struct arch_tls, jmp_target) == TLS_JMP_TARGET, "TLS_JMP_TARGET");
_Static_assert(offsetof(struct arch_tls, ibl_target) == TLS_IBL_TARGET, "TLS_IBL_TARGET");
_Static_assert(offsetof(struct arch_tls, spill_rcx) == TLS_SPILL_RCX, "TLS_SPILL_RCX");
_Static_assert(offsetof(struct arch_tls, spill_rax) == TLS_SPILL_RAX, "TLS_SPILL_RAX");
_Static_assert(offsetof(struct arch_tls, spill_rdx) == TLS_SPILL_RDX, "TLS_SPILL_RDX");
_Static_assert(offsetof(struct arch_tls, spill_scr) == TLS_SPILL_SCR, "TLS_SPILL_SCR");
_Static_assert(offsetof(struct arch_tls, ibl_count) == TLS_IBL_COUNT, "TLS_IBL_COUNT");
_Static_assert(offsetof(struct arch_tls, cc_site) == TLS_CC_SITE, "TLS_CC_SITE");
_Static_assert(offsetof(struct arch_tls, cc_rsp) == TLS_CC_RSP, "TLS_CC_RSP");
_Static_assert(offsetof(struct arch_tls, cc_active) == TLS_CC_ACTIVE, "TLS_CC_ACTIVE");
_Static_assert(offsetof(struct arch_tls, app_gs) == TLS_APP_GS, "TLS_APP_GS");
_Static_assert(offsetof(struct arch_tls, app_fs) == TLS_APP_FS, "TLS_APP_FS");
_Static_assert(offsetof(struct arch_tls, guard_data) == TLS_GUARD_DATA, "TLS_GUARD_DATA");
_Static_assert(offsetof(struct arch_tls, rseq_save) == TLS_RSEQ_SAVE, "TLS_RSEQ_SAVE");
_Static_assert(offsetof(struct arch_tls, mctx) == TLS_MCTX, "TLS_MCTX");
_Static_assert(offsetof(struct arch_tls, xsave) == TLS_XSAVE, "TLS_XSAVE");
_Static_assert(offsetof(struct arch_tls, inl) == TLS_INL, "TLS_INL");
_Static_assert(offsetof(struct arch_tls, inl_done) == TLS_INL_DONE, "TLS_INL_DONE");
_Static_assert(offsetof(struct arch_tls, inl_dirty) == TLS_INL_DIRTY, "TLS_INL_DIRTY");
_Static_assert(offsetof(struct arch_tls, hc_save) == TLS_HC_SAVE, "TLS_HC_SAVE");
_Static_assert(offsetof(struct arch_tls, hc_v) == TLS_HC_V, "TLS_HC_V");
_Static_assert(offsetof(struct arch_tls, hc_buf) == TLS_HC_BUF, "TLS_HC_BUF");
_Static_assert(offsetof(struct arch_tls, hc_hash) == TLS_HC_HASH, "TLS_HC_HASH");
_Static_assert(offsetof(struct arch_tls, ctr) == TLS_CTR, "TLS_CTR");
_Static_assert(sizeof(struct arch_tls) == TLS_SIZE, "TLS_SIZE");
_Static_assert(ARCH_INL_UNMARKED % ARCH_INL_GROUP == 0 && ARCH_INL_SLOTS % 64 == 0, "inl groups");
_Static_assert(sizeof(struct arch_mctx) == 8 * MCTX_NSLOTS, "MCTX size");

extern const uint8_t lurk_ctx_enter[], lurk_ctx_resume[], lurk_cc[], lurk_ibl_miss[], lurk_gibl_miss[];

int arch_fsgsbase(void)
{
  static int known, ok;
  if (!known) {
    ok = (getauxval(AT_HWCAP2) & 2) != 0;
    known = 1;
  }
  return ok;
}

/* A new shared memory object of one page, mapped read+write (the engine's
** view of a thread block's read-only page), or an error. */
static long ro_object(void)
{
  long w = sys_mmap(0, TLS_RO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (!SYS_FAILED(w)) mem_note((uint64_t)w, (uint64_t)w + TLS_RO_SIZE, MEM_KIND_ENGINE);
  return w;
}

/* Map object w at t (replacing the page there) read-only: mremap of old
** size 0 makes a second mapping of a shared object. */
static long ro_view(struct arch_tls *t, long w)
{
  long r = sys_call6(SYS_mremap, w, 0, TLS_RO_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, (long)t, 0);
  return SYS_FAILED(r) ? r : sys_mprotect((long)t, TLS_RO_SIZE, PROT_READ);
}

void arch_tls_map(struct arch_tls *t)
{
  /* The first page of a fresh block (zero, read+write) becomes a view of a
  ** shared object, read-only; the engine writes the object's other view.
  ** A kernel that cannot alias shared memory (the code cache's single-view
  ** fallback, cache_probe_views) leaves the page one read+write mapping. */
  long w = ro_object(), r = SYS_FAILED(w) ? w : ro_view(t, w);
  if (SYS_FAILED(r)) {
    static int told;
    if (!told++) LOG(LOG_INFO, "lurk: thread blocks are all read+write (no alias of shared memory: error %ld)\n", -r);
    if (!SYS_FAILED(w)) {
      sys_munmap(w, TLS_RO_SIZE);
      mem_forget((uint64_t)w, (uint64_t)w + TLS_RO_SIZE);
    }
    w = (long)t;
  }
  ((struct arch_tls_ro *)w)->w = (struct arch_tls_ro *)w;
}

/* fork: the read-only page is shared memory, which fork shares too, so the
** parent's next write (a resume target, a table base) would land in the
** child's block. As for the code cache (cache_fork_prepare), the forking
** thread's page is copied before the call, into a new object the child
** maps over its view after it; the parent drops the copy. Blocks of the
** other threads stay shared, but the child never uses them (thr_after_fork). */
static long ro_fork_copy;

void arch_tls_fork_prepare(struct arch_tls *t)
{
  ro_fork_copy = 0;
  if ((uint64_t)t->w == (uint64_t)t) return; /* one view */
  long n = ro_object();
  if (SYS_FAILED(n)) log_fatal("cannot copy the thread block for a child: error %ld", -n);
  lurk_memcpy((void *)n, t, TLS_RO_SIZE);
  ((struct arch_tls_ro *)n)->w = (struct arch_tls_ro *)n;
  ro_fork_copy = n;
}

void arch_tls_fork_finish(struct arch_tls *t, int child)
{
  long n = ro_fork_copy, old = (long)t->w;
  if (!n) return;
  ro_fork_copy = 0;
  if (!child) {
    sys_munmap(n, TLS_RO_SIZE);
    mem_forget((uint64_t)n, (uint64_t)n + TLS_RO_SIZE);
    return;
  }
  long r = ro_view(t, n);
  if (SYS_FAILED(r)) log_fatal("cannot copy the thread block for a child: error %ld", -r);
  sys_munmap(old, TLS_RO_SIZE);
  mem_forget((uint64_t)old, (uint64_t)old + TLS_RO_SIZE);
}

size_t arch_xsave_bytes;

/* lurk_cc_post (context.S) reloads MXCSR without checking it first: on AMD
** reading it (stmxcsr) costs more than loading it. */
int arch_ldmxcsr_always;

void arch_tls_init(struct arch_tls *t, uint8_t *stack_top)
{
  uint32_t a, b, c, d, lo, hi;
  arch_ldmxcsr_always = arch_cpu_amd();
  struct arch_tls_ro *w = t->w;
  w->self = t;
  w->disp_entry = (uint64_t)lurk_ctx_enter;
  w->ibl_miss = (uint64_t)lurk_ibl_miss;
  w->gibl_miss = (uint64_t)lurk_gibl_miss;
  w->cc_entry = (uint64_t)lurk_cc;
  w->engine_sp = (uint64_t)stack_top & ~(uint64_t)15;
  w->resume = 0;
  w->sig_pending = 0;
  /* A reused block starts with no count of its own (lb_inl_sync). Only the
  ** slots ever handed out are cleared: the rest is still untouched (zero)
  ** memory, so a new thread's block costs no page of the 8192 slots. */
  uint32_t nslots = __atomic_load_n(&bb_add_nslots, __ATOMIC_ACQUIRE);
  lurk_memset(t->inl, 0, 8 * nslots);
  lurk_memset(t->inl_done, 0, 8 * nslots);
  lurk_memset(t->inl_dirty, 0, (nslots + ARCH_INL_GROUP - 1) / ARCH_INL_GROUP);
  t->guard_data = 0;
  cache_ibl_table(t);
  w->rseq_area = 0; /* a new thread starts unregistered (a reused block too) */
  /* Save only the state engine code can touch: x87, SSE, AVX, AVX-512
  ** (XCR0 bits 0-2, 5-7). AMX tiles and the like stay with the app. */
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  lo &= 0xe7;
  hi = 0;
  uint32_t need = 576;
  for (int i = 2; i < 8; i++) {
    if (!(lo & (1u << i))) continue;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(i));
    if (a + b > need) need = a + b;
  }
  if (need > TLS_XSAVE_SIZE) log_fatal("xsave area of %u bytes is larger than lurk's %d", need, TLS_XSAVE_SIZE);
  w->xcr0_lo = lo;
  w->xcr0_hi = hi;
  arch_xsave_bytes = need;
  /* Capture the current extended state so the first resume restores it. */
  __asm__ volatile("xsave64 %0" : "+m"(t->xsave) : "a"(lo), "d"(hi) : "memory");
}

int arch_tls_ready;

uint64_t arch_engine_fs;
/* The fs base the cache's entries and exits load with wrfsbase (context.S
** FS_ENGINE/FS_APP): arch_engine_fs, or 0 where nothing is swapped. */
uint64_t arch_fs_swap;
int arch_fs_mangled;
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

void arch_boot_fs(int mangle)
{
  uint64_t fs = 0;
  sys_call2(SYS_arch_prctl, ARCH_GET_FS, &fs);
  if (&__rseq_offset && &__rseq_size && __rseq_size) {
    /* glibc registered 32 bytes up to 2.39, its feature size since */
    long r = sys_call4(SYS_rseq, fs + __rseq_offset, 32, 1 /* RSEQ_FLAG_UNREGISTER */, 0x53053053);
    if (r == -22) sys_call4(SYS_rseq, fs + __rseq_offset, __rseq_size, 1, 0x53053053);
  }
  arch_engine_fs = fs;
  arch_fs_mangled = mangle;
  arch_fs_swap = mangle ? 0 : fs;
}

/* Without FSGSBASE the fs base moves only through arch_prctl. */
static void fs_set(uint64_t fs)
{
  if (arch_fs_mangled) sys_call2(SYS_arch_prctl, ARCH_SET_FS, fs);
  else __asm__ volatile("wrfsbase %0" : : "r"(fs) : "memory");
}

void arch_run_on(LURK_NORETURN void (*fn)(void *), void *arg, uint64_t sp)
{
  __asm__ volatile("mov %0, %%rsp\n\txor %%ebp, %%ebp\n\tcall *%1\n\tud2"
                   : : "r"(sp & ~15ull), "r"(fn), "D"(arg) : "memory");
  __builtin_unreachable();
}

uint64_t arch_fs_app(void)
{
  if (!arch_engine_fs) return 0;
  /* engine code runs on arch_engine_fs in both modes */
  fs_set(arch_app_fs());
  return arch_engine_fs;
}

void arch_fs_restore(uint64_t was)
{
  if (was) fs_set(was);
}

uint64_t arch_app_fs(void)
{
  uint64_t fs = 0;
  /* --preload with FSGSBASE: the thread's own (the app may wrfsbase);
  ** else the slot, which arch_prctl's emulation and clone keep */
  if (!arch_engine_fs && arch_fsgsbase()) __asm__ volatile("rdfsbase %0" : "=r"(fs));
  else if (arch_tls_ready) __asm__ volatile("mov %%gs:%c1, %0" : "=r"(fs) : "i"(TLS_APP_FS));
  else sys_call2(SYS_arch_prctl, ARCH_GET_FS, &fs); /* (no thread block yet) */
  return fs;
}

void arch_initial_state(struct arch_tls *t)
{
  t->app_fs = 0;
  /* legacy area: FCW 0x37f, MXCSR 0x1f80; header: every component in its
  ** initial state (XSTATE_BV 0, standard format) */
  lurk_memset(t->xsave, 0, 576);
  t->xsave[0] = 0x7f, t->xsave[1] = 0x03;
  t->xsave[24] = 0x80, t->xsave[25] = 0x1f;
}

void arch_tls_install(struct arch_tls *t)
{
  arch_tls_ready = 1;
  /* Without --early the thread's fs is the app's: TLS_APP_FS starts as it
  ** (kept by arch_prctl's emulation after), so that compiled handlers on a
  ** CPU without FSGSBASE read the base of an fs operand from there. */
  if (!arch_engine_fs) sys_call2(SYS_arch_prctl, ARCH_GET_FS, &t->app_fs);
  /* wrgsbase where the kernel allows it (HWCAP2 bit 1), else arch_prctl. */
  if (arch_fsgsbase())
    __asm__ volatile("wrgsbase %0" : : "r"(t) : "memory");
  else {
    long r = sys_call2(SYS_arch_prctl, ARCH_SET_GS, t);
    if (SYS_FAILED(r)) log_fatal("cannot set the gs base: error %ld", -r);
  }
}

void arch_resume(struct arch_tls *t)
{
  __asm__ volatile("mov %0, %%rsp\n\tjmp lurk_ctx_resume" : : "r"(t->engine_sp) : "memory");
  __builtin_unreachable();
}

extern LURK_NORETURN void lurk_detach_jump(uint64_t *frame, void *xsave, uint64_t gs_base, int wrgs);

void arch_detach(struct arch_tls *t, uint64_t gs_base)
{
  /* The frame lurk_detach_jump pops: r15..r8, rbp, rdi, rsi, rdx, rcx, rbx,
  ** rax, rflags, rip, put below the app's red zone (where a signal frame
  ** would go); `ret 128` then leaves rsp as the app had it. */
  static const int order[15] = { MCTX_R15, MCTX_R14, MCTX_R13, MCTX_R12, MCTX_R11, MCTX_R10,
                                 MCTX_R9, MCTX_R8, MCTX_RBP, MCTX_RDI, MCTX_RSI, MCTX_RDX,
                                 MCTX_RCX, MCTX_RBX, MCTX_RAX };
  struct arch_mctx *m = &t->mctx;
  uint64_t f[17];
  for (int i = 0; i < 15; i++) f[i] = m->gpr[order[i]];
  f[15] = m->rflags;
  f[16] = m->rip;
  uint64_t frame = m->gpr[MCTX_RSP] - 128 - sizeof f;
  if (arch_copy_out(frame, f, sizeof f)) log_fatal("detach: the app's stack at 0x%lx is not writable", (unsigned long)frame);
  lurk_detach_jump((uint64_t *)frame, t->xsave, gs_base, arch_fsgsbase());
}

uint64_t arch_syscall_app(struct arch_mctx *m)
{
  return (uint64_t)lurk_sys_app6((long)m->gpr[MCTX_RAX], (long)m->gpr[MCTX_RDI],
                                 (long)m->gpr[MCTX_RSI], (long)m->gpr[MCTX_RDX],
                                 (long)m->gpr[MCTX_R10], (long)m->gpr[MCTX_R8],
                                 (long)m->gpr[MCTX_R9]);
}

void arch_attach_ctx(struct arch_tls *t, const uint64_t *regs, const void *xsave)
{
  /* regs: the kernel's struct user_regs_struct (engine/attach.h, AR_*) */
  static const uint8_t from[16] = { 10, 11, 12, 5, 19, 4, 13, 14, 9, 8, 7, 6, 3, 2, 1, 0 };
  for (int i = 0; i < 16; i++) t->mctx.gpr[i] = regs[from[i]];
  t->mctx.rflags = regs[18];
  t->mctx.rip = regs[16];
  lurk_memcpy(t->xsave, xsave, arch_xsave_bytes);
}
