/* lurk differential fuzzer: enter a generated sequence with every register
 * set, and save every register when it jumps to the exit slot. */
#include "harness.h"

        .intel_syntax noprefix
        .text

/* void fz_enter(const struct fz_init *st): st = 16 GPRs (rax..r15 order),
 * rflags, xsave area pointer, xrstor mask, entry pc. Returns once the
 * sequence reaches fz_exit, with the end state in the control page. */
        .globl fz_enter
        .type fz_enter, @function
fz_enter:
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        mov [rip + fz_host_rsp], rsp
        mov rbx, rdi
        mov rdi, [rbx + 8*17]
        mov eax, [rbx + 8*18]
        mov edx, [rbx + 8*18 + 4]
        xrstor64 [rdi]
        mov rax, [rbx + 8*19]
        mov [rip + fz_entry_pc], rax
        mov rsp, [rbx + 8*4]
        push qword ptr [rbx + 8*16]
        popfq
        mov rax, [rbx + 8*0]
        mov rcx, [rbx + 8*1]
        mov rdx, [rbx + 8*2]
        mov rbp, [rbx + 8*5]
        mov rsi, [rbx + 8*6]
        mov rdi, [rbx + 8*7]
        mov r8, [rbx + 8*8]
        mov r9, [rbx + 8*9]
        mov r10, [rbx + 8*10]
        mov r11, [rbx + 8*11]
        mov r12, [rbx + 8*12]
        mov r13, [rbx + 8*13]
        mov r14, [rbx + 8*14]
        mov r15, [rbx + 8*15]
        mov rbx, [rbx + 8*3]
        jmp qword ptr [rip + fz_entry_pc]
        .size fz_enter, .-fz_enter

/* Reached by `jmp [FZ_CTL]` at the end of a sequence: store the GPRs, the
 * flags and the xsave64 image in the control page, then return from fz_enter. */
        .globl fz_exit
        .type fz_exit, @function
fz_exit:
        mov [FZ_CTL + FZ_CTL_GPR + 8*0], rax
        mov [FZ_CTL + FZ_CTL_GPR + 8*1], rcx
        mov [FZ_CTL + FZ_CTL_GPR + 8*2], rdx
        mov [FZ_CTL + FZ_CTL_GPR + 8*3], rbx
        mov [FZ_CTL + FZ_CTL_GPR + 8*4], rsp
        mov [FZ_CTL + FZ_CTL_GPR + 8*5], rbp
        mov [FZ_CTL + FZ_CTL_GPR + 8*6], rsi
        mov [FZ_CTL + FZ_CTL_GPR + 8*7], rdi
        mov [FZ_CTL + FZ_CTL_GPR + 8*8], r8
        mov [FZ_CTL + FZ_CTL_GPR + 8*9], r9
        mov [FZ_CTL + FZ_CTL_GPR + 8*10], r10
        mov [FZ_CTL + FZ_CTL_GPR + 8*11], r11
        mov [FZ_CTL + FZ_CTL_GPR + 8*12], r12
        mov [FZ_CTL + FZ_CTL_GPR + 8*13], r13
        mov [FZ_CTL + FZ_CTL_GPR + 8*14], r14
        mov [FZ_CTL + FZ_CTL_GPR + 8*15], r15
        /* the flags go through a stack outside the sandbox, so the
         * sandbox's bytes are the sequence's alone */
        mov rsp, FZ_CTL + FZ_CTL_XSAVE
        pushfq
        pop qword ptr [FZ_CTL + FZ_CTL_RFLAGS]
        mov eax, FZ_XMASK
        xor edx, edx
        xsave64 [FZ_CTL + FZ_CTL_XSAVE]
        cld
        mov rsp, [rip + fz_host_rsp]
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret
        .size fz_exit, .-fz_exit

        .bss
        .align 8
fz_host_rsp:  .quad 0
fz_entry_pc:  .quad 0
        .section .note.GNU-stack,"",@progbits
