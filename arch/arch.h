/* lurk: the seam between the arch-neutral engine and the one target.
** The only #if ladder for architectures lives here.
*/
#ifndef LURK_ARCH_H
#define LURK_ARCH_H

#if defined(__x86_64__)
#include "x86_64/target.h"
#include "x86_64/dwarf.h"
#else
#error "missing arch: lurk supports x86-64 Linux only"
#endif

#include "../engine/cache.h"

/* Can user code run rdfsbase/wrgsbase (FSGSBASE, which the kernel enables:
** AT_HWCAP2 bit 1)? */
int arch_fsgsbase(void);
struct bb_plan;
struct insn;
/* Translate b->pc into the cache (fills b), with the instrumentation of
** plan (or none); LURK_OK or a failure status. */
lurk_status arch_translate(struct cache_block *b, const struct bb_plan *plan);
/* A block's app bytes never span more than this (its fetch). */
#define ARCH_BLOCK_MAX_BYTES 1536
/* Decode the app instructions a block at pc will hold (at most max) into
** out; how many. Same block rules as arch_translate; superblock: on past
** conditional branches where arch_translate would go on (tr_superblock). */
unsigned arch_block_insns(uint64_t pc, struct insn *out, unsigned max, int superblock);
/* Report a failed translation (bytes, address, reason) and end the run. */
LURK_NORETURN void arch_translate_failed(struct cache_block *b, lurk_status s);
/* The app changed its mappings over [lo, hi): forget what the translator
** knew about those pages being readable. */
void arch_memory_changed(uint64_t lo, uint64_t hi);
void arch_patch_link(struct cache_exit *e, uint8_t *to);
struct lurk_thread;
/* The instruction at t's pc does not run in the cache (an emulation exit,
** emul.c): do to t's context what the CPU would, or queue the signal it
** raises. */
void arch_emulate(struct lurk_thread *t);
/* After an x87 state save at t's pc (an x87 exit from the block at cache
** address from_cpc, x87.c): the FIP it stored made the app's pc; t's pc
** moves past the instruction. */
void arch_x87_fip(struct lurk_thread *t, uint64_t from_cpc);
void arch_patch_unlink(struct cache_exit *e);
/* The cache pc of an empty lookup-table slot: the lookup matches it only
** for target 0 (the empty key), so it is the miss for target 0 (context.S). */
extern const uint8_t arch_ibl_empty[];

/* -- Signals (signal.c) ------------------------------------------------------ */
struct lurk_thread;
struct sig_entry;
struct sig_action;
/* Copy to or from app memory that may fault; nonzero if it did. */
int arch_copy_in(void *dst, uint64_t src, size_t n);
int arch_copy_out(uint64_t dst, const void *src, size_t n);
/* Push the app's signal frame for e (kernel layout) on the app stack, or at
** stack_top when nonzero (the app's alternate stack), and point t's context
** at the handler. 0 if the frame cannot be written. */
int arch_sig_frame(struct lurk_thread *t, const struct sig_entry *e, const struct sig_action *act,
                   uint64_t mask, uint64_t stack_top, const void *app_ss);
/* rt_sigreturn: restore t's context from the frame at its stack pointer;
** the mask to restore in *mask, the alternate stack into *app_ss. */
int arch_sig_restore(struct lurk_thread *t, uint64_t *mask, void *app_ss);
/* -- Clean calls (cc.c) ---------------------------------------------------------- */
struct cc_site;
struct cc_arg;
/* The value of a clean-call argument in t's app context at the call. */
uint64_t arch_cc_arg(const struct lurk_thread *t, const struct cc_site *s, const struct cc_arg *a);
/* App registers by arch id (as in struct insn) and by name. */
uint64_t arch_reg_value(const struct arch_mctx *m, uint16_t reg);
int arch_reg_set(struct arch_mctx *m, uint16_t reg, uint64_t v);
uint16_t arch_reg_by_name(const char *name);
/* The calling convention, for function wrapping (engine/wrap.h): the
** machine-context slots of the integer arguments and the result; stack
** arguments past them sit at sp + ARCH_ABI_STACK0 + 8k at entry; the
** floating-point arguments (and result, index 0) are vector registers
** saved by a clean call: arch_cc_vreg gives where (16 bytes). */
#define ARCH_ABI_NARGS 6
#define ARCH_ABI_NFARGS 8
#define ARCH_ABI_RET MCTX_RAX
#define ARCH_ABI_STACK0 8
extern const uint8_t arch_abi_args[ARCH_ABI_NARGS];
uint8_t *arch_cc_vreg(struct lurk_thread *t, unsigned i);
int arch_reg_readable(uint16_t reg);
/* In a clean call of t: app xmm<i> (16 bytes, read/write, restored when the
** call returns), and the upper 16 bytes of ymm<i> read into or set from buf
** (-1 without AVX). */
uint8_t *arch_cc_xmm(struct lurk_thread *t, int i);
int arch_cc_ymm_hi(const struct lurk_thread *t, int i, void *buf, int set);
/* Return address for a clean call that redirects the app (context.S). */
void lurk_cc_redirect(void);

/* Bytes of the xsave image lurk keeps per thread. */
extern size_t arch_xsave_bytes;

/* Thread blocks: make a fresh block's first page read-only with a
** read+write view for the engine (t->w); set up t (engine stack top,
** xsave), install it as this thread's gs base; resume the app at
** t->resume. At fork, the forking thread's read-only page is copied for
** the child (prepare before the call, finish after it on both sides). */
void arch_tls_map(struct arch_tls *t);
/* 1 if d (TLS_GUARD_DATA at a lookup miss) is a guarded lookup's site data
** in the code cache, not a value the app stored into the slot. */
int arch_guard_data_ok(uint64_t d);
void arch_tls_fork_prepare(struct arch_tls *t);
void arch_tls_fork_finish(struct arch_tls *t, int child);
void arch_tls_init(struct arch_tls *t, uint8_t *stack_top);
void arch_tls_install(struct arch_tls *t);
LURK_NORETURN void arch_resume(struct arch_tls *t);
/* --early: the fs base of the engine's own libc (0 without --early). Every
** entry from the cache into the engine puts it in fs, and the way back puts
** the app's (TLS_APP_FS) back: the app's libc and lurk's are two copies. */
extern uint64_t arch_engine_fs;
/* --early without FSGSBASE (or with --mangle-fs): fs stays the engine's in
** the cache too, and the translator rewrites the app's fs operands against
** TLS_APP_FS, as it does gs (DynamoRIO's -mangle_app_seg). 0 otherwise. */
extern int arch_fs_mangled;
/* --early, at boot: this thread's fs base becomes the engine's, and the
** launcher's libc lets go of the thread's rseq registration (the app's
** libc registers its own). mangle: fs is never swapped (arch_fs_mangled). */
void arch_boot_fs(int mangle);
/* --early: t's app state is a new process's (fs 0, x87/SSE/AVX reset). */
void arch_initial_state(struct arch_tls *t);
/* Call fn(arg) on the stack whose top is sp; it does not return. */
LURK_NORETURN void arch_run_on(LURK_NORETURN void (*fn)(void *), void *arg, uint64_t sp);
/* --early: load the app's fs base in engine code (to call app code that
** reads its thread-local data); returns what to give arch_fs_restore. */
uint64_t arch_fs_app(void);
void arch_fs_restore(uint64_t was);
/* The running thread's app fs base (TLS_APP_FS with --early, else the
** thread's own). */
uint64_t arch_app_fs(void);
/* lurk's signal handler (signal.c), entered through lurk_sig_entry. */
void arch_sig_handle(int sig, void *info, void *uc);
/* Attach: t's app context from the kernel's user_regs_struct and an xsave
** image of the thread (engine/attach.h). */
void arch_attach_ctx(struct arch_tls *t, const uint64_t *regs, const void *xsave);
/* Attach: a breakpoint trap, where the launcher lets the thread go. */
void lurk_attach_trap(void);
/* Detach: leave for native execution at t's app context (registers,
** flags, extended state), with gs_base as the gs base. */
LURK_NORETURN void arch_detach(struct arch_tls *t, uint64_t gs_base);
/* The app's syscall with the app's registers as arguments; returns rax,
** or SIG_NOT_STARTED / SIG_RESTART_IF_SA when a signal came first (sig.h). */
uint64_t arch_syscall_app(struct arch_mctx *m);
/* The same with explicit arguments. */
long lurk_sys_app6(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
/* clone/clone3 whose child starts thr_child_start(child) on its new stack. */
long lurk_clone(long nr, long a0, long a1, long a2, long a3, long a4, void *child);

/* The app's seccomp filter (prog = argument argi of the call in m):
** installed behind a prefix that lets lurk's own calls through
** (arch/x86_64/seccomp.c). Returns the call's result. */
uint64_t arch_seccomp_filter(struct arch_mctx *m, int argi);
/* Is pc just after the syscall instruction of an app call (1: lurk_sys_app6,
** 2: lurk_clone), as a seccomp SIGSYS reports it? 0 if not. */
int arch_seccomp_site(uint64_t pc);

/* Accessors for the syscall convention. */
#define ARCH_SC_NR(m) ((m)->gpr[MCTX_RAX])
#define ARCH_SC_ARG(m, i) ((m)->gpr[(const int[]){MCTX_RDI, MCTX_RSI, MCTX_RDX, MCTX_R10, MCTX_R8, MCTX_R9}[i]])
#define ARCH_SC_RET(m) ((m)->gpr[MCTX_RAX])

#endif
