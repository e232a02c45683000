/* lurk: x86-64 entry of the launcher's remote calls into a process being
** attached (engine/attach.h). */

        .text

/* lurk_attach(struct attach_rec *rec): the launcher set rip here, rdi to
** the record, rsp below the app's red zone, and blocked every signal. The
** app's extended state is saved first, before C code can change it; then
** attach_main; then a breakpoint, where the launcher takes over again. */
        .globl lurk_attach
        .type lurk_attach, @function
lurk_attach:
        .cfi_startproc
        .cfi_undefined rip
        endbr64
        and $-16, %rsp
        xor %ecx, %ecx
        xgetbv
        and $0xe7, %eax         /* the components lurk saves (tls.c) */
        xor %edx, %edx
        xsave64 512(%rdi)       /* attach_rec.xsave (attach.c asserts it) */
        call attach_main
1:      int3
        jmp 1b
        .cfi_endproc
        .size lurk_attach, .-lurk_attach

/* The launcher's signal that a thread's block is ready: it detaches from
** the thread at this trap, which then goes on (into the code cache). */
        .globl lurk_attach_trap
        .hidden lurk_attach_trap
        .type lurk_attach_trap, @function
lurk_attach_trap:
        int3
        ret
        .size lurk_attach_trap, .-lurk_attach_trap

        .section .note.GNU-stack, "", @progbits
