/* lurk: x86-64 context switch, takeover entry and indirect-branch lookup.
** Generated code reaches these only through gs:TLS_* slots, so they work
** from any code-cache chunk whatever its distance from liblurk.so.
*/
#include "target.h"

#define M(r) %gs:(TLS_MCTX + 8 * MCTX_##r)

        .text

/* The app's general registers but rsp, to and from the thread block. */
.macro SAVE_GPRS_NO_RSP
        mov %rax, M(RAX)
        mov %rcx, M(RCX)
        mov %rdx, M(RDX)
        mov %rbx, M(RBX)
        mov %rbp, M(RBP)
        mov %rsi, M(RSI)
        mov %rdi, M(RDI)
        mov %r8, M(R8)
        mov %r9, M(R9)
        mov %r10, M(R10)
        mov %r11, M(R11)
        mov %r12, M(R12)
        mov %r13, M(R13)
        mov %r14, M(R14)
        mov %r15, M(R15)
.endm

.macro RESTORE_GPRS_NO_RSP
        mov M(RAX), %rax
        mov M(RCX), %rcx
        mov M(RDX), %rdx
        mov M(RBX), %rbx
        mov M(RBP), %rbp
        mov M(RSI), %rsi
        mov M(RDI), %rdi
        mov M(R8), %r8
        mov M(R9), %r9
        mov M(R10), %r10
        mov M(R11), %r11
        mov M(R12), %r12
        mov M(R13), %r13
        mov M(R14), %r14
        mov M(R15), %r15
.endm


/* --early: the engine's libc has its own thread pointer (arch_engine_fs).
** FS_ENGINE, at an entry from the cache into engine code, keeps the app's
** fs base in TLS_APP_FS and loads the engine's (nothing when already
** there, or without --early); FS_APP, on the way back, loads the app's.
** With fs mangled (arch_fs_swap 0) the engine's stays loaded throughout.
** Both use rax and rcx and change the flags. */
.macro FS_ENGINE
        mov arch_fs_swap(%rip), %rax
        test %rax, %rax
        jz .Lfse\@
        rdfsbase %rcx
        cmp %rcx, %rax
        je .Lfse\@
        mov %rcx, %gs:TLS_APP_FS
        wrfsbase %rax
.Lfse\@:
.endm

.macro FS_APP
        cmpq $0, arch_fs_swap(%rip)
        je .Lfsa\@
        mov %gs:TLS_APP_FS, %rax
        wrfsbase %rax
.Lfsa\@:
.endm

/* -- Takeover --------------------------------------------------------------
** Called by ld.so as an .init_array function (argc, argv, envp). Pushes the
** callee-saved registers and hands their address to inj_init, which either
** returns 0 (lurk disabled: return to ld.so natively) or never returns (the
** rest of the process runs from the code cache, resuming at our return
** address with these registers).
*/
        .globl lurk_takeover
        .hidden lurk_takeover
        .type lurk_takeover, @function
lurk_takeover:
        .cfi_startproc
        endbr64
        push %rbp
        push %rbx
        push %r12
        push %r13
        push %r14
        push %r15
        mov %rsp, %rcx          /* saved[0]=r15 ... saved[5]=rbp, saved[6]=ret */
        sub $8, %rsp            /* align for the call */
        call inj_init
        add $8, %rsp
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %rbx
        pop %rbp
        ret
        .cfi_endproc
        .size lurk_takeover, .-lurk_takeover

        .section .init_array, "aw"
        .align 8
        .quad lurk_takeover
        .text

/* -- Cache -> engine ------------------------------------------------------
** Entered by `jmp *gs:TLS_DISP_ENTRY` with TLS_EXIT_ID set. Saves the app's
** registers, flags and extended state into the thread block, runs the
** dispatcher on the engine stack, and resumes at TLS_RESUME.
*/
        .globl lurk_ctx_enter
        .hidden lurk_ctx_enter
        .type lurk_ctx_enter, @function
lurk_ctx_enter:
        SAVE_GPRS_NO_RSP
        mov %rsp, M(RSP)
        mov %gs:TLS_ENGINE_SP, %rsp
        pushfq
        popq M(RFLAGS)
        cld
        FS_ENGINE
        mov %gs:TLS_XCR0_LO, %eax
        mov %gs:TLS_XCR0_HI, %edx
        xsave64 %gs:TLS_XSAVE
        mov %gs:TLS_SELF, %rdi
        call disp_dispatch
        .globl lurk_ctx_resume
        .hidden lurk_ctx_resume
lurk_ctx_resume:
        mov %gs:TLS_XCR0_LO, %eax
        mov %gs:TLS_XCR0_HI, %edx
        xrstor64 %gs:TLS_XSAVE
        FS_APP
        pushq M(RFLAGS)
        popfq
        RESTORE_GPRS_NO_RSP
        mov M(RSP), %rsp
        .globl lurk_ctx_resume_jmp
        .hidden lurk_ctx_resume_jmp
lurk_ctx_resume_jmp:
        jmp *%gs:TLS_RESUME
        .size lurk_ctx_enter, .-lurk_ctx_enter

/* -- Indirect-branch lookup -----------------------------------------------
** Position-independent template, copied after every indirect branch site
** (so each site has its own final indirect jump for the predictor).
** In: rcx = app target, gs:TLS_SPILL_RCX = app rcx. Flags are kept with
** lahf/seto (no stack use: the app's red zone may be live). Table entries
** are {app pc, cache pc}; key 0 ends a probe chain, key 0x8000000000000001
** (non-canonical) is a tombstone.
*/
/* IBL name, count, isret: the lookup routine. count=1 also bumps the
** --stats lookup counter (after the flags are saved). isret=1 is the return
** flavour: rcx was loaded from [rsp], not popped; on a hit the cache pc is
** written over that stack slot and a real `ret` consumes it, so the CPU's
** return-stack buffer (filled by the `call` of the translated call site,
** whose landing pad the table maps the app return address to) predicts it.
** On a miss it pops the slot before entering the dispatcher. */
/* C call (nr, a0..a4) -> syscall registers: rax = nr, rdi, rsi, rdx,
** r10, r8 (a5, on the stack, is the caller's to load into r9). */
.macro SYSCALL_ARGS
        mov %rdi, %rax
        mov %rsi, %rdi
        mov %rdx, %rsi
        mov %rcx, %rdx
        mov %r8, %r10
        mov %r9, %r8
.endm

.macro IBL name, count, isret
        .globl \name\()_begin
        .hidden \name\()_begin
        .globl \name\()_end
        .hidden \name\()_end
\name\()_begin:
        mov %rax, %gs:TLS_SPILL_RAX
        lahf
        seto %al
.if \count
        incq %gs:TLS_IBL_COUNT
.endif
        mov %rdx, %gs:TLS_SPILL_RDX
        /* ORDER IBL_HASH: slot = (pc >> 1) & (entries - 1); with 16-byte
        ** entries its offset is (pc << 3) & ((entries - 1) << 4). */
        lea (,%rcx,8), %rdx
        and %gs:TLS_IBL_MASK, %rdx
        add %gs:TLS_IBL_TABLE, %rdx
1:      cmp (%rdx), %rcx
        jne 2f
        mov 8(%rdx), %rdx
.if \isret
        mov %rdx, (%rsp)
.else
        mov %rdx, %gs:TLS_JMP_TARGET
.endif
        add $0x7f, %al          /* OF back from al, then the rest from ah */
        sahf
        mov %gs:TLS_SPILL_RAX, %rax
        mov %gs:TLS_SPILL_RDX, %rdx
        mov %gs:TLS_SPILL_RCX, %rcx
.if \isret
        ret
.else
        jmp *%gs:TLS_JMP_TARGET
.endif
2:      cmpq $0, (%rdx)
        je 3f
        add $16, %rdx
        jmp 1b
3:
.if \isret
        lea 8(%rsp), %rsp       /* the pop the app's ret would have done */
.endif
        jmp *%gs:TLS_IBL_MISS
\name\()_end:
.endm

/* The lookups' miss path, shared: every copy above jumps here, so the
** copies (code-cache bytes at every indirect branch and return site) hold
** only what runs on a hit. In: rcx = app target, the flags in ah/al, app
** rax, rdx, rcx spilled (and for a return, the slot popped). A signal here
** is a signal in the engine: queued, delivered by the dispatcher this
** enters. A guarded lookup's miss with its site data in TLS_GUARD_DATA
** enters at lurk_gibl_miss; every other clears the slot first, so a value
** the app stored there is never taken for a guarded site's (disp_guard). */
        .globl lurk_ibl_miss
        .hidden lurk_ibl_miss
        .globl lurk_gibl_miss
        .hidden lurk_gibl_miss
lurk_ibl_miss:
        movq $0, %gs:TLS_GUARD_DATA
lurk_gibl_miss:
        mov %rcx, %gs:TLS_IBL_TARGET
        add $0x7f, %al
        sahf
        mov %gs:TLS_SPILL_RAX, %rax
        mov %gs:TLS_SPILL_RDX, %rdx
        mov %gs:TLS_SPILL_RCX, %rcx
        movq $-1, %gs:TLS_EXIT_ID   /* EXIT_IBL, sign-extended */
        jmp *%gs:TLS_DISP_ENTRY

/* An empty slot's value (arch_ibl_empty): the lookup "hit" key 0, i.e. the
** app branched to address 0. The registers and rsp are the app's after the
** branch, as on a miss: leave like one, with target 0. */
        .globl arch_ibl_empty
        .hidden arch_ibl_empty
arch_ibl_empty:
        movq $0, %gs:TLS_GUARD_DATA
        movq $0, %gs:TLS_IBL_TARGET
        movq $-1, %gs:TLS_EXIT_ID
        jmp *%gs:TLS_DISP_ENTRY

        IBL lurk_ibl, 0, 0
        IBL lurk_iblc, 1, 0
        IBL lurk_iblr, 0, 1
        IBL lurk_iblrc, 1, 1

/* -- Guarded lookups ---------------------------------------------------------
** GIBL name, count, isret, g: the lookup of a site a tool guards (bb:guard,
** docs/architecture.md "Guarded lookups"). A target in the site's range
** [lo, hi) is looked up in the lookup's table as IBL does (not for a
** return: its range is ignored, and the copy is shorter); any other in
** guard g's table, which holds only the targets the guard's handler
** validated. A miss there leaves through the shared miss path with
** TLS_GUARD_DATA = the address of the site's data, the 5 quads at the
** copy's end that the translator fills: site pc, lo, hi, rsp delta (the
** app rsp before the transfer minus the rsp at the miss), guard number. */
.macro GIBL_PROBE isret, miss
1:      cmp (%rdx), %rcx
        jne 2f
        mov 8(%rdx), %rdx
.if \isret
        mov %rdx, (%rsp)
.else
        mov %rdx, %gs:TLS_JMP_TARGET
.endif
        add $0x7f, %al
        sahf
        mov %gs:TLS_SPILL_RAX, %rax
        mov %gs:TLS_SPILL_RDX, %rdx
        mov %gs:TLS_SPILL_RCX, %rcx
.if \isret
        ret
.else
        jmp *%gs:TLS_JMP_TARGET
.endif
2:      cmpq $0, (%rdx)
        je \miss
        add $16, %rdx
        jmp 1b
.endm

.macro GIBL name, count, isret, g
        .globl \name\()_begin
        .hidden \name\()_begin
        .globl \name\()_data
        .hidden \name\()_data
        .globl \name\()_end
        .hidden \name\()_end
\name\()_begin:
        mov %rax, %gs:TLS_SPILL_RAX
        lahf
        seto %al
.if \count
        incq %gs:TLS_IBL_COUNT
.endif
        mov %rdx, %gs:TLS_SPILL_RDX
.if !\isret
        cmp 7f+8(%rip), %rcx
        jb 5f
        cmp 7f+16(%rip), %rcx
        jae 5f
        lea (,%rcx,8), %rdx
        and %gs:TLS_IBL_MASK, %rdx
        add %gs:TLS_IBL_TABLE, %rdx
        GIBL_PROBE \isret, 3f
.endif
5:      lea (,%rcx,8), %rdx
        and %gs:TLS_GUARD_TAB+16*\g+8, %rdx
        add %gs:TLS_GUARD_TAB+16*\g, %rdx
        GIBL_PROBE \isret, 6f
3:
.if \isret
        lea 8(%rsp), %rsp
.endif
        jmp *%gs:TLS_IBL_MISS
6:      lea 7f(%rip), %rdx
        mov %rdx, %gs:TLS_GUARD_DATA
.if \isret
        lea 8(%rsp), %rsp
.endif
        jmp *%gs:TLS_GIBL_MISS
\name\()_data:
7:      .quad 0, 0, 0, 0, 0
\name\()_end:
.endm

        GIBL lurk_gibl0, 0, 0, 0
        GIBL lurk_giblc0, 1, 0, 0
        GIBL lurk_giblr0, 0, 1, 0
        GIBL lurk_giblrc0, 1, 1, 0
        GIBL lurk_gibl1, 0, 0, 1
        GIBL lurk_giblc1, 1, 0, 1
        GIBL lurk_giblr1, 0, 1, 1
        GIBL lurk_giblrc1, 1, 1, 1
        GIBL lurk_gibl2, 0, 0, 2
        GIBL lurk_giblc2, 1, 0, 2
        GIBL lurk_giblr2, 0, 1, 2
        GIBL lurk_giblrc2, 1, 1, 2
        GIBL lurk_gibl3, 0, 0, 3
        GIBL lurk_giblc3, 1, 0, 3
        GIBL lurk_giblr3, 0, 1, 3
        GIBL lurk_giblrc3, 1, 1, 3


/* -- Re-entering the dispatcher ---------------------------------------------
** lurk_reenter: lurk's handler queued a signal after the dispatcher last
** looked at the queue and pointed TLS_RESUME here; the app state is in
** the registers, to resume at TLS_MCTX rip once the queue is delivered.
** lurk_sig_reenter: lurk's handler moved the app state into the thread
** block itself (a fault, or a signal at a whole-state cache pc).
*/
        .globl lurk_reenter
        .hidden lurk_reenter
lurk_reenter:
        movq $-2, %gs:TLS_EXIT_ID       /* EXIT_REENTER, sign-extended */
        jmp lurk_ctx_enter

        .globl lurk_sig_reenter
        .hidden lurk_sig_reenter
lurk_sig_reenter:
        mov %gs:TLS_ENGINE_SP, %rsp
        cld
        FS_ENGINE
        mov %gs:TLS_SELF, %rdi
        call disp_signal
        jmp lurk_ctx_resume

/* -- The app's system calls -------------------------------------------------
** long lurk_sys_app6(nr, a0, a1, a2, a3, a4, a5): the one place the engine
** makes a syscall for the app. From its first instruction to the syscall
** itself it is a window lurk's handler knows: a signal queued before the
** kernel is entered makes it return SIG_NOT_STARTED (-513) instead of
** sleeping; rcx is zeroed so the handler can tell a call the kernel rewound
** for restart (rcx = return address) from one not yet made.
*/
        .globl lurk_sys_app6
        .hidden lurk_sys_app6
        .globl lurk_sys_app_insn
        .hidden lurk_sys_app_insn
        .globl lurk_sys_app_done
        .hidden lurk_sys_app_done
lurk_sys_app6:
        cmpq $0, %gs:TLS_SIG_PENDING
        jne 1f
        SYSCALL_ARGS
        mov 8(%rsp), %r9
        xor %ecx, %ecx
lurk_sys_app_insn:
        syscall
lurk_sys_app_done:
        ret
1:      mov $-513, %rax
        ret

/* -- Threads ----------------------------------------------------------------
** long lurk_clone(nr, a0, a1, a2, a3, a4, child): clone or clone3 with the
** child's engine stack already in the arguments. The parent returns the
** result; the child starts thr_child_start(child) on that stack. Signals are
** blocked by the caller, and the child installs its own gs base before
** anything reads it.
*/
        .globl lurk_clone
        .hidden lurk_clone
        .globl lurk_clone_done
        .hidden lurk_clone_done
lurk_clone:
        push %r12
        mov 16(%rsp), %r12
        SYSCALL_ARGS
        syscall
lurk_clone_done:
        test %rax, %rax
        jz 1f
        pop %r12
        ret
1:      xor %ebp, %ebp
        and $-16, %rsp
        mov arch_fs_swap(%rip), %rax  /* --early: the app's fs is in the block */
        test %rax, %rax
        jz 2f
        wrfsbase %rax
2:      mov %r12, %rdi
        call thr_child_start
        ud2

/* void lurk_thread_exit(int *done, int status): mark the block free with the
** last store the thread makes to it, then end the thread (no stack use). */
        .globl lurk_thread_exit
        .hidden lurk_thread_exit
lurk_thread_exit:
        movl $1, (%rdi)
        mov %esi, %edi
        mov $60, %eax           /* SYS_exit */
        syscall
        ud2

/* -- Detach ----------------------------------------------------------------------
** void lurk_detach_jump(frame, xsave, gs_base, wrgs): restore the extended
** state from xsave, set the gs base (and with --early the app's fs base), then pop the app's registers from frame
** (tls.c: arch_detach) and return to the app's pc: the thread runs natively.
*/
        .globl lurk_detach_jump
        .hidden lurk_detach_jump
lurk_detach_jump:
        mov %gs:TLS_APP_FS, %r15        /* --early: the app's fs base, put back below */
        mov %rdi, %r12
        mov %rdx, %r13
        mov %ecx, %r14d
        mov $-1, %eax
        mov $-1, %edx
        xrstor64 (%rsi)
        test %r14d, %r14d
        jz 1f
        wrgsbase %r13
        jmp 2f
1:      mov $158, %eax          /* SYS_arch_prctl */
        mov $0x1001, %edi       /* ARCH_SET_GS */
        mov %r13, %rsi
        syscall
2:      cmpq $0, arch_fs_swap(%rip)
        je 4f
        wrfsbase %r15
        jmp 3f
4:      cmpq $0, arch_engine_fs(%rip)  /* fs mangled: arch_prctl, as for gs */
        je 3f
        mov $158, %eax          /* SYS_arch_prctl */
        mov $0x1002, %edi       /* ARCH_SET_FS */
        mov %r15, %rsi
        syscall
3:      mov %r12, %rsp
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %r11
        pop %r10
        pop %r9
        pop %r8
        pop %rbp
        pop %rdi
        pop %rsi
        pop %rdx
        pop %rcx
        pop %rbx
        pop %rax
        popfq
        ret $128

/* -- Signals ------------------------------------------------------------------
** lurk_sig_entry(sig, info, uc): the handler lurk installs. With --early it
** runs arch_sig_handle with the engine's fs base and puts back the one the
** signal found (the kernel's frame does not hold the fs base).
*/
        .globl lurk_sig_entry
        .hidden lurk_sig_entry
lurk_sig_entry:
        cmpq $0, arch_fs_swap(%rip)
        je arch_sig_handle
        push %rbx
        rdfsbase %rbx
        mov arch_fs_swap(%rip), %rax
        wrfsbase %rax
        call arch_sig_handle
        wrfsbase %rbx
        pop %rbx
        ret

        .globl lurk_sig_restorer
        .hidden lurk_sig_restorer
lurk_sig_restorer:
        mov $15, %eax           /* SYS_rt_sigreturn */
        syscall
        ud2

/* size_t lurk_safe_copy(dst, src, n): copy n bytes; returns how many were
** NOT copied (0 on success). A fault at the copy is caught by lurk's handler,
** which resumes at lurk_safe_copy_fault with rcx = the bytes left. */
        .globl lurk_safe_copy
        .hidden lurk_safe_copy
        .globl lurk_safe_copy_insn
        .hidden lurk_safe_copy_insn
        .globl lurk_safe_copy_fault
        .hidden lurk_safe_copy_fault
lurk_safe_copy:
        mov %rdx, %rcx
lurk_safe_copy_insn:
        rep movsb
lurk_safe_copy_fault:
        mov %rcx, %rax
        ret

/* -- Clean calls --------------------------------------------------------------
** A call site in a block is `lea rsp, [rsp-128]` (past the red zone), `mov
** gs:TLS_CC_SITE, id`, `call gs:TLS_CC_ENTRY`, `lea rsp, [rsp+128]`. This
** saves the app's registers and flags into the thread block (rsp as the app
** has it), runs lb_cc_dispatch on the engine stack, and restores everything,
** so a handler's writes to the registers take effect.
**
** Vector and x87 state: engine C and LuaJIT use SSE only (no AVX, no x87
** but LuaJIT's math.ldexp), and legacy SSE instructions leave the upper
** halves of ymm/zmm alone, so xmm0-15 and MXCSR are what a call can change.
** They are stored at their fxsave-image offsets of TLS_XSAVE (xmm_i at
** 160+16i; MXCSR in the image's unused bytes), which costs a fraction of fxsave/fxrstor (those two
** were half of a call's time). The x87 control and status words are kept
** too; only if the call changed one is the x87 environment reloaded (fldenv,
** slow and rare). lurk_cc_epi..lurk_cc_end is the part lurk's single step
** may run through; lurk_cc_post..lurk_cc_end, where a signal makes the
** handler arm that step itself (sig handler, cc_signal).
*/
#define CCX(i) TLS_XSAVE + 160 + 16 * i
#define CC_FCW TLS_XSAVE + 0
#define CC_FSW TLS_XSAVE + 2
#define CC_TMP TLS_XSAVE + 416  /* 28-byte fnstenv image (slow path) */
#define CC_TMP2 TLS_XSAVE + 448 /* MXCSR and x87 words after the call */
#define CC_MXCSR TLS_XSAVE + 456 /* not 24: xstate.c's xsave writes there */

/* The app's xmm0-15, saved by a clean call in the thread block: restore
** (CC_XMM_LOAD) or save (CC_XMM_STORE) them all. */
.macro CC_XMM_LOAD
        movaps %gs:CCX(0), %xmm0
        movaps %gs:CCX(1), %xmm1
        movaps %gs:CCX(2), %xmm2
        movaps %gs:CCX(3), %xmm3
        movaps %gs:CCX(4), %xmm4
        movaps %gs:CCX(5), %xmm5
        movaps %gs:CCX(6), %xmm6
        movaps %gs:CCX(7), %xmm7
        movaps %gs:CCX(8), %xmm8
        movaps %gs:CCX(9), %xmm9
        movaps %gs:CCX(10), %xmm10
        movaps %gs:CCX(11), %xmm11
        movaps %gs:CCX(12), %xmm12
        movaps %gs:CCX(13), %xmm13
        movaps %gs:CCX(14), %xmm14
        movaps %gs:CCX(15), %xmm15
.endm

.macro CC_XMM_STORE
        movaps %xmm0, %gs:CCX(0)
        movaps %xmm1, %gs:CCX(1)
        movaps %xmm2, %gs:CCX(2)
        movaps %xmm3, %gs:CCX(3)
        movaps %xmm4, %gs:CCX(4)
        movaps %xmm5, %gs:CCX(5)
        movaps %xmm6, %gs:CCX(6)
        movaps %xmm7, %gs:CCX(7)
        movaps %xmm8, %gs:CCX(8)
        movaps %xmm9, %gs:CCX(9)
        movaps %xmm10, %gs:CCX(10)
        movaps %xmm11, %gs:CCX(11)
        movaps %xmm12, %gs:CCX(12)
        movaps %xmm13, %gs:CCX(13)
        movaps %xmm14, %gs:CCX(14)
        movaps %xmm15, %gs:CCX(15)
.endm

/* The app's x87 control and status words back from the thread block
** (fldenv of the current environment with them patched in). */
.macro CC_X87_WORDS
        fnstenv %gs:CC_TMP
        mov %gs:CC_FCW, %ax
        mov %ax, %gs:CC_TMP
        mov %gs:CC_FSW, %ax
        mov %ax, %gs:CC_TMP + 4
        fldenv %gs:CC_TMP
.endm
        .globl lurk_cc
        .hidden lurk_cc
        .globl lurk_cc_epi
        .hidden lurk_cc_epi
        .globl lurk_cc_end
        .hidden lurk_cc_end
        .globl lurk_cc_post
        .hidden lurk_cc_post
        .globl lurk_cc_popf
        .hidden lurk_cc_popf
lurk_cc:
        mov %rsp, %gs:TLS_CC_RSP
        SAVE_GPRS_NO_RSP
        lea 136(%rsp), %rax
        mov %rax, M(RSP)
        pushfq
        popq M(RFLAGS)
        mov %gs:TLS_ENGINE_SP, %rsp
        cld
        FS_ENGINE
        CC_XMM_STORE
        stmxcsr %gs:CC_MXCSR
        fnstcw %gs:CC_FCW
        fnstsw %ax
        mov %ax, %gs:CC_FSW
        mov %gs:TLS_SELF, %rdi
        movq $1, %gs:TLS_CC_ACTIVE
        testl $0x80000000, %gs:TLS_CC_SITE  /* WRAP_SITE_BIT: a wrap point */
        jnz 6f
        call lb_cc_dispatch
        jmp 7f
6:      call wrap_cc
        test %eax, %eax
        jnz lurk_wrap_resume
7:      movq $0, %gs:TLS_CC_ACTIVE
lurk_cc_post:
        /* A signal queued during the call: step on to the next block start
        ** (one that comes after this check is seen by the handler, which
        ** knows lurk_cc_post..lurk_cc_end). */
        cmpq $0, %gs:TLS_SIG_PENDING
        je 4f
        mov %gs:TLS_SELF, %rdi
        call arch_cc_step
4:      /* MXCSR: reload only if the call changed it (ldmxcsr is not cheap on
        ** Intel). On AMD stmxcsr is the slow one (about 4 ns here, ldmxcsr
        ** 0.3): reload it always (arch_ldmxcsr_always, tls.c). */
        cmpl $0, arch_ldmxcsr_always(%rip)
        jne 8f
        stmxcsr %gs:CC_TMP2
        mov %gs:CC_TMP2, %eax
        cmp %gs:CC_MXCSR, %eax
        je 1f
8:      ldmxcsr %gs:CC_MXCSR
1:      fnstsw %ax
        cmp %gs:CC_FSW, %ax
        jne 2f
        fnstcw %gs:CC_TMP2
        mov %gs:CC_TMP2, %ax
        cmp %gs:CC_FCW, %ax
        je 3f
2:      CC_X87_WORDS
3:      CC_XMM_LOAD
        FS_APP
lurk_cc_epi:
        /* Flags: popfq is slow (a sixth of a call). When only the arithmetic
        ** flags can differ from the usual (IF and bit 1 set; no DF, TF, AC),
        ** sahf sets SF ZF AF PF CF and an add sets OF (its result 0x80
        ** overflows exactly when OF was set). */
        mov M(RFLAGS), %rdx
        mov %rdx, %rax
        and $~0x8d5, %rax
        cmp $0x202, %rax
        jne 5f
        mov %dl, %ah
        bt $11, %edx
        setc %al
        add $0x7f, %al
        sahf
        RESTORE_GPRS_NO_RSP
        mov %gs:TLS_CC_RSP, %rsp
        ret
5:      pushq M(RFLAGS)
lurk_cc_popf:
        popfq
        RESTORE_GPRS_NO_RSP
        mov %gs:TLS_CC_RSP, %rsp
        ret
lurk_cc_end:

/* wrap_cc asked to resume elsewhere (a skipped call): the app's pc and
** stack pointer in the thread block have changed. Put the vector and x87
** state back as the app had it, save it whole (xsave) and go through the
** dispatcher, as lurk_ctx_enter does; the general registers and flags are
** already in the thread block. A signal queued meanwhile is delivered by
** the dispatcher. */
lurk_wrap_resume:
        movq $0, %gs:TLS_CC_ACTIVE
        ldmxcsr %gs:CC_MXCSR
        CC_X87_WORDS
        CC_XMM_LOAD
        mov %gs:TLS_ENGINE_SP, %rsp
        mov %gs:TLS_XCR0_LO, %eax
        mov %gs:TLS_XCR0_HI, %edx
        xsave64 %gs:TLS_XSAVE
        movq $-2, %gs:TLS_EXIT_ID       /* EXIT_REENTER: resume at TLS_MCTX rip */
        mov %gs:TLS_SELF, %rdi
        call disp_dispatch
        jmp lurk_ctx_resume
/* A handler wrote ctx.pc: lb_cc_dispatch made lurk_cc return here (the app
** state is in the registers, rsp 128 below the app's) with TLS_IBL_TARGET
** = the new pc. Leave the block as an indirect-branch miss does: the
** dispatcher goes on at that pc (the rest of the block does not run). */
        .globl lurk_cc_redirect
        .hidden lurk_cc_redirect
lurk_cc_redirect:
        lea 128(%rsp), %rsp
        movq $0, %gs:TLS_GUARD_DATA
        movq $-1, %gs:TLS_EXIT_ID       /* EXIT_IBL, sign-extended */
        jmp *%gs:TLS_DISP_ENTRY

        .section .note.GNU-stack, "", @progbits
