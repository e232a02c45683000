/* lurk differential fuzzer: the fixed addresses and layouts shared by the
 * harness (harness.c, harness_x86.S) and the generator (gen.lua). */
#ifndef FZ_HARNESS_H
#define FZ_HARNESS_H

/* ORDER FZ_LAYOUT: gen.lua uses the same numbers. */
#define FZ_CODE      0x10000000     /* the generated blob: header, code, tables */
#define FZ_CODE_SIZE 0x00100000
#define FZ_CTL       0x0ff00000     /* control page: exit slot, saved end state */
#define FZ_CTL_SIZE  0x00010000
#define FZ_SANDBOX   0x20000000     /* data the sequence reads and writes (hashed) */
#define FZ_SB_SIZE   0x00010000     /* 64 KiB; the stack is its top 8 KiB */
#define FZ_STACK_TOP (FZ_SANDBOX + FZ_SB_SIZE - 0x100)
#define FZ_STACK_LO  (FZ_SANDBOX + 0xe000)        /* data operands stay below */
#define FZ_RO        (FZ_SANDBOX + FZ_SB_SIZE)   /* one read-only page */
#define FZ_UNMAPPED  (FZ_RO + 0x1000)             /* never mapped */
#define FZ_ALTSTACK  0x21000000     /* sigaltstack for the handler, not hashed */
#define FZ_ALT_SIZE  0x00020000

/* Control page: the sequence ends with `jmp [FZ_CTL + FZ_CTL_EXIT]`. */
#define FZ_CTL_EXIT   0x000
#define FZ_CTL_GPR    0x100         /* 16 GPRs in rax..r15 order, then rflags */
#define FZ_CTL_RFLAGS 0x180
#define FZ_CTL_XSAVE  0x1000        /* xsave64 area, 64-byte aligned, < 12 KiB */

/* the state components compared: x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
#define FZ_XMASK 0xe7

#define FZ_MAGIC 0x317a7566756c   /* "lufz1" */

#endif
