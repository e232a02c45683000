/* lurk: a thread of lurk's own (the control channel's server, engine/ctl.c).
** Not an app thread: it never runs translated code and raises no events.
*/
        .text
/* long lurk_spawn(void *stack_top, void (*fn)(void *), void *arg): clone
** with CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM
** onto stack_top; the child runs fn(arg) and ends with SYS_exit if it
** returns. The parent gets the child's tid or -errno. The child inherits the
** caller's signal mask and gs base: fn installs its own before use. */
        .globl lurk_spawn
        .hidden lurk_spawn
lurk_spawn:
        push %r12
        push %r13
        mov %rsi, %r12          /* fn: callee-saved, so the child has it too */
        mov %rdx, %r13          /* arg */
        mov %rdi, %rsi          /* the child's stack */
        mov $0x50f00, %edi
        xor %edx, %edx
        xor %r10d, %r10d
        xor %r8d, %r8d
        mov $56, %eax           /* SYS_clone */
        syscall
        test %rax, %rax
        jz 1f
        pop %r13
        pop %r12
        ret
1:      xor %ebp, %ebp
        and $-16, %rsp
        mov %r13, %rdi
        call *%r12
        xor %edi, %edi
        mov $60, %eax           /* SYS_exit */
        syscall
        ud2
        .section .note.GNU-stack,"",@progbits
