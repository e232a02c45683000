/* bb_ops.c: small asm functions for spec/bb_spec.lua (the bb event and
** clean calls). Built -no-pie, so `nm` gives the run-time address of every
** t_* label; `bb_ops MODE` runs one group and prints what the program sees.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long t_block(void);
long t_edit(void);
long t_loop(long n);
long t_regs(void);
long t_mem(int32_t *arr, long idx, uint64_t *out);
void t_branch(void);
long t_cond(long a, long b);
long t_jrcxz(long rcx);
long t_jecxz(long rcx);
long t_loops(void);
long t_flags(long x);
long t_ret(long x);
long t_load(int32_t *p);
void t_nop(void);
void t_keep(void);
void t_keep_avx(void);

int32_t d_gvar = 5;
uint64_t d_slot;
static int32_t arr[16];
static uint64_t movs_buf[16];
uint64_t d_g[18];                    /* 15 registers, flags, 2 red-zone slots */
uint64_t d_xin[32], d_xout[32];      /* xmm0..15 in and out */
uint64_t d_yin[8], d_yout[8];        /* upper halves of ymm0, ymm7, ymm8, ymm15 */

/* Conditional jump cc (taken: eax |= bit), flags from cmp rdi, rsi. */
#define JCC(cc, bit)                                                           \
  "  cmp rdi, rsi\n"                                                           \
  "t_j" #cc ": j" #cc " 1f\n"                                                  \
  "  jmp 2f\n"                                                                 \
  "1: or eax, " #bit "\n"                                                      \
  "2:\n"

#define XMM(k) "  movdqu xmm" #k ", xmmword ptr [rip+d_xin+" #k "*16]\n"
#define XOUT(k) "  movdqu xmmword ptr [rip+d_xout+" #k "*16], xmm" #k "\n"

asm(".intel_syntax noprefix\n"
    ".text\n"
    /* the block's structure: 4 instructions */
    ".globl t_block\n"
    "t_block: mov eax, 1\n"
    "t_block_2: add eax, 2\n"
    "t_block_3: imul eax, eax, 5\n"
    "t_block_4: ret\n"
    /* edits: 7 + 5 = 12 natively */
    ".globl t_edit\n"
    "t_edit: mov eax, 7\n"
    "t_edit_2: add eax, 5\n"
    "t_edit_3: ret\n"
    /* a loop of n trips: 3n */
    ".globl t_loop\n"
    "t_loop: xor eax, eax\n"
    "t_loop_body: add rax, 3\n"
    "t_loop_dec: dec rdi\n"
    "t_loop_jnz: jnz t_loop_body\n"
    "t_loop_ret: ret\n"
    /* registers with known values at t_regs_probe; returns the flags there */
    ".globl t_regs\n"
    "t_regs: push r12\n"
    "  push rbx\n"
    "  movabs rax, 0x0011223344556677\n"
    "  movabs r12, 0x000fedcba9876543\n"
    "  mov rbx, -5\n"
    "  xor ecx, ecx\n"
    "  stc\n"
    "t_regs_probe: nop\n"
    "  pushfq\n"
    "  pop rax\n"
    "  pop rbx\n"
    "  pop r12\n"
    "  ret\n"
    /* memory operands; out[0] = fs:[0], out[1] = rsp at t_mem_rsp */
    ".globl t_mem\n"
    "t_mem: push rbx\n"
    "  mov rbx, rdi\n"
    "  mov rcx, rsi\n"
    "  mov r10, rdx\n"
    "t_mem_idx: mov eax, dword ptr [rbx+rcx*4+8]\n"
    "t_mem_rip: mov edx, dword ptr [rip+d_gvar]\n"
    "t_mem_fs: mov r8, qword ptr fs:[0]\n"
    "  mov qword ptr [r10], r8\n"
    "  mov qword ptr [r10+8], rsp\n"
    "t_mem_rsp: mov r9, qword ptr [rsp]\n"
    "t_mem_w: mov word ptr [rbx+2], ax\n"
    "t_mem_b: mov byte ptr [rbx+1], al\n"
    "t_mem_x: movdqu xmm0, xmmword ptr [rbx]\n"
    "  push rsi\n"
    "  push rdi\n"
    "  lea rsi, [rip+movs_buf]\n"
    "  lea rdi, [rsi+64]\n"
    "t_mem_movs: movsq\n"
    "  pop rdi\n"
    "  pop rsi\n"
    "  add eax, edx\n"
    "  pop rbx\n"
    "  ret\n"
    /* branches: every kind of target */
    ".globl t_branch\n"
    "t_branch: push rbx\n"
    "  lea rax, [rip+t_br_1]\n"
    "t_br_jreg: jmp rax\n"
    "t_br_1: lea rcx, [rip+t_br_2]\n"
    "  mov qword ptr [rip+d_slot], rcx\n"
    "t_br_jmem: jmp qword ptr [rip+d_slot]\n"
    "t_br_2:\n"
    "t_br_call: call t_f\n"
    "t_br_3: lea rax, [rip+t_f]\n"
    "t_br_creg: call rax\n"
    "t_br_4: lea rbx, [rip+d_ftab]\n"
    "t_br_cmem: call qword ptr [rbx+8]\n"
    "t_br_5: lea rcx, [rip+t_g]\n"
    "  push rcx\n"
    "t_br_cstk: call qword ptr [rsp]\n"
    "t_br_6: pop rcx\n"
    "t_br_jmp: jmp t_br_7\n"
    "  ud2\n"
    "t_br_7: pop rbx\n"
    "  ret\n"
    "t_f:\n"
    "t_f_ret: ret\n"
    "t_g:\n"
    "t_g_ret: ret\n"
    /* the 16 conditions of jcc; bit k set when the k-th is taken */
    ".globl t_cond\n"
    "t_cond: xor eax, eax\n"
    JCC(o, 0x1) JCC(no, 0x2) JCC(b, 0x4) JCC(ae, 0x8) JCC(e, 0x10) JCC(ne, 0x20)
    JCC(be, 0x40) JCC(a, 0x80) JCC(s, 0x100) JCC(ns, 0x200) JCC(p, 0x400)
    JCC(np, 0x800) JCC(l, 0x1000) JCC(ge, 0x2000) JCC(le, 0x4000) JCC(g, 0x8000)
    "  ret\n"
    /* jrcxz/jecxz: 1 if taken */
    ".globl t_jrcxz\n"
    "t_jrcxz: mov rcx, rdi\n"
    "  xor eax, eax\n"
    "t_jrcxz_j: jrcxz 1f\n"
    "  ret\n"
    "1: mov eax, 1\n"
    "  ret\n"
    ".globl t_jecxz\n"
    "t_jecxz: mov rcx, rdi\n"
    "  xor eax, eax\n"
    "t_jecxz_j: jecxz 1f\n"
    "  ret\n"
    "1: mov eax, 1\n"
    "  ret\n"
    /* loop (4 taken, 1 not), loopne (2, 1), loope (7, 1), addr32 loop (1, 1) */
    ".globl t_loops\n"
    "t_loops: xor eax, eax\n"
    "  mov ecx, 5\n"
    "1: inc eax\n"
    "t_loop_j: loop 1b\n"
    "  mov ecx, 10\n"
    "  xor edx, edx\n"
    "2: add edx, 1\n"
    "  cmp edx, 3\n"
    "t_loopne_j: loopne 2b\n"
    "  add eax, edx\n"
    "  mov ecx, 10\n"
    "  xor edx, edx\n"
    "3: add edx, 1\n"
    "  test edx, 8\n"
    "t_loope_j: loope 3b\n"
    "  add eax, edx\n"
    "  movabs rcx, 0x100000002\n"
    "4: inc eax\n"
    "t_aloop_j: addr32 loop 4b\n"
    "  ret\n"
    /* 0 natively (cmp rdi, rdi: jz taken) */
    ".globl t_flags\n"
    "t_flags: xor eax, eax\n"
    "  cmp rdi, rdi\n"
    "t_flags_jz: jz 1f\n"
    "  mov eax, 1\n"
    "1: ret\n"
    /* returns x + 5 */
    ".globl t_ret\n"
    "t_ret: lea rax, [rdi+5]\n"
    "t_ret_r: ret\n"
    /* loads *p */
    ".globl t_load\n"
    "t_load:\n"
    "t_load_ld: mov eax, dword ptr [rdi]\n"
    "  ret\n"
    /* every register, the flags (CF, DF, ZF, PF, OF) and the red zone
    ** around an instrumented nop: d_g, d_xout get what the app sees after it */
    ".globl t_keep\n"
    "t_keep: push rbx\n"
    "  push rbp\n"
    "  push r12\n"
    "  push r13\n"
    "  push r14\n"
    "  push r15\n"
    XMM(0) XMM(1) XMM(2) XMM(3) XMM(4) XMM(5) XMM(6) XMM(7)
    XMM(8) XMM(9) XMM(10) XMM(11) XMM(12) XMM(13) XMM(14) XMM(15)
    "  mov eax, 0x80000000\n"
    "  add eax, eax\n"
    "  mov rax, 0x1001\n"
    "  mov rbx, 0x1002\n"
    "  mov rcx, 0x1003\n"
    "  mov rdx, 0x1004\n"
    "  mov rsi, 0x1005\n"
    "  mov rdi, 0x1006\n"
    "  mov rbp, 0x1007\n"
    "  mov r8, 0x1008\n"
    "  mov r9, 0x1009\n"
    "  mov r10, 0x100a\n"
    "  mov r11, 0x100b\n"
    "  mov r12, 0x100c\n"
    "  mov r13, 0x100d\n"
    "  mov r14, 0x100e\n"
    "  mov r15, 0x100f\n"
    "  mov qword ptr [rsp-16], rax\n"
    "  mov qword ptr [rsp-128], r15\n"
    "  std\n"
    "t_keep_n: nop\n"
    "  pushfq\n"
    "  cld\n"
    "  mov qword ptr [rip+d_g], rax\n"
    "  mov qword ptr [rip+d_g+8], rbx\n"
    "  mov qword ptr [rip+d_g+16], rcx\n"
    "  mov qword ptr [rip+d_g+24], rdx\n"
    "  mov qword ptr [rip+d_g+32], rsi\n"
    "  mov qword ptr [rip+d_g+40], rdi\n"
    "  mov qword ptr [rip+d_g+48], rbp\n"
    "  mov qword ptr [rip+d_g+56], r8\n"
    "  mov qword ptr [rip+d_g+64], r9\n"
    "  mov qword ptr [rip+d_g+72], r10\n"
    "  mov qword ptr [rip+d_g+80], r11\n"
    "  mov qword ptr [rip+d_g+88], r12\n"
    "  mov qword ptr [rip+d_g+96], r13\n"
    "  mov qword ptr [rip+d_g+104], r14\n"
    "  mov qword ptr [rip+d_g+112], r15\n"
    "  pop rax\n"
    "  mov qword ptr [rip+d_g+120], rax\n"
    "  mov rax, qword ptr [rsp-16]\n"
    "  mov qword ptr [rip+d_g+128], rax\n"
    "  mov rax, qword ptr [rsp-128]\n"
    "  mov qword ptr [rip+d_g+136], rax\n"
    XOUT(0) XOUT(1) XOUT(2) XOUT(3) XOUT(4) XOUT(5) XOUT(6) XOUT(7)
    XOUT(8) XOUT(9) XOUT(10) XOUT(11) XOUT(12) XOUT(13) XOUT(14) XOUT(15)
    "  pop r15\n"
    "  pop r14\n"
    "  pop r13\n"
    "  pop r12\n"
    "  pop rbp\n"
    "  pop rbx\n"
    "  ret\n"
    /* the upper halves of ymm0, 7, 8, 15 around an instrumented nop */
    ".globl t_keep_avx\n"
    "t_keep_avx:\n"
    "  vmovdqu xmm0, xmmword ptr [rip+d_xin]\n"
    "  vinsertf128 ymm0, ymm0, xmmword ptr [rip+d_yin], 1\n"
    "  vinsertf128 ymm7, ymm7, xmmword ptr [rip+d_yin+16], 1\n"
    "  vinsertf128 ymm8, ymm8, xmmword ptr [rip+d_yin+32], 1\n"
    "  vinsertf128 ymm15, ymm15, xmmword ptr [rip+d_yin+48], 1\n"
    "t_keep_avx_n: nop\n"
    "  vextractf128 xmmword ptr [rip+d_yout], ymm0, 1\n"
    "  vextractf128 xmmword ptr [rip+d_yout+16], ymm7, 1\n"
    "  vextractf128 xmmword ptr [rip+d_yout+32], ymm8, 1\n"
    "  vextractf128 xmmword ptr [rip+d_yout+48], ymm15, 1\n"
    "  vzeroupper\n"
    "  ret\n"
    ".globl t_nop\n"
    "t_nop:\n"
    "t_nop_n: nop\n"
    "  ret\n"
    ".data\n"
    ".p2align 3\n"
    "d_ftab: .quad t_f, t_g\n"
    ".text\n"
    ".att_syntax prefix\n");

static const char *const cond_names[16] = { "o", "no", "b", "ae", "e", "ne", "be", "a",
                                             "s", "ns", "p", "np", "l", "ge", "le", "g" };

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "block")) {
    printf("block %ld\n", t_block());
  } else if (!strcmp(mode, "edit")) {
    printf("edit %ld\n", t_edit());
  } else if (!strcmp(mode, "loop")) {
    long n = argc > 2 ? atol(argv[2]) : 1000;
    printf("loop %ld\n", t_loop(n));
  } else if (!strcmp(mode, "regs")) {
    printf("rflags 0x%lx\n", (unsigned long)t_regs());
  } else if (!strcmp(mode, "mem")) {
    uint64_t out[2];
    for (int i = 0; i < 16; i++) arr[i] = 100 + i;
    for (int i = 0; i < 16; i++) movs_buf[i] = 0x1000 + (uint64_t)i;
    long r = t_mem(arr, 3, out);
    printf("mem %ld\n", r);
    printf("idx 0x%lx\n", (unsigned long)&arr[5]);
    printf("rip 0x%lx\n", (unsigned long)&d_gvar);
    printf("fs 0x%lx\n", (unsigned long)out[0]);
    printf("rsp 0x%lx\n", (unsigned long)out[1]);
    printf("w 0x%lx\n", (unsigned long)arr + 2);
    printf("b 0x%lx\n", (unsigned long)arr + 1);
    printf("x 0x%lx\n", (unsigned long)arr);
    printf("movs 0x%lx 0x%lx\n", (unsigned long)&movs_buf[8], (unsigned long)&movs_buf[0]);
    printf("arr0 0x%x moved 0x%lx\n", (unsigned)arr[0], (unsigned long)movs_buf[8]);
  } else if (!strcmp(mode, "branch")) {
    t_branch();
    printf("branch done\n");
  } else if (!strcmp(mode, "cond")) {
    static const long pairs[][2] = {
      { 1, 2 }, { 2, 1 }, { 3, 3 }, { -1, 1 }, { 1, -1 }, { INT64_MIN, 1 }, { INT64_MAX, -1 },
      { 0, 0x80 }, { 5, 2 }, { 0x100, 1 }, { -7, -7 }, { 0, 1 },
    };
    int counts[16] = { 0 };
    for (unsigned k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
      long m = t_cond(pairs[k][0], pairs[k][1]);
      for (int c = 0; c < 16; c++) counts[c] += (m >> c) & 1;
    }
    for (int c = 0; c < 16; c++) printf("j%s %d\n", cond_names[c], counts[c]);
  } else if (!strcmp(mode, "cx")) {
    printf("jrcxz %ld %ld %ld\n", t_jrcxz(0), t_jrcxz(1), t_jrcxz(0x100000000L));
    printf("jecxz %ld %ld\n", t_jecxz(0x100000000L), t_jecxz(1));
    printf("loops %ld\n", t_loops());
  } else if (!strcmp(mode, "flags")) {
    printf("flags %ld\n", t_flags(3));
  } else if (!strcmp(mode, "ret")) {
    printf("ret %ld\n", t_ret(10));
  } else if (!strcmp(mode, "load")) {
    static int32_t x = 7;
    long v = t_load(&x);
    printf("load %ld x %d at 0x%lx\n", v, x, (unsigned long)&x);
  } else if (!strcmp(mode, "keep")) {
    int bad = 0;
    for (int i = 0; i < 32; i++) d_xin[i] = 0x0101010101010101ULL * (uint64_t)(i + 1);
    t_keep();
    for (int i = 0; i < 15; i++)
      if (d_g[i] != 0x1001 + (uint64_t)i) printf("register %d: 0x%lx\n", i, (unsigned long)d_g[i]), bad++;
    printf("flags 0x%lx\n", (unsigned long)(d_g[15] & 0xcd5));
    printf("red zone 0x%lx 0x%lx\n", (unsigned long)d_g[16], (unsigned long)d_g[17]);
    for (int i = 0; i < 32; i++)
      if (d_xout[i] != d_xin[i]) printf("xmm%d: 0x%lx\n", i / 2, (unsigned long)d_xout[i]), bad++;
    if (__builtin_cpu_supports("avx")) {
      for (int i = 0; i < 8; i++) d_yin[i] = 0x1111111111111111ULL * (uint64_t)(i + 1);
      t_keep_avx();
      for (int i = 0; i < 8; i++)
        if (d_yout[i] != d_yin[i]) printf("ymm upper %d: 0x%lx\n", i / 2, (unsigned long)d_yout[i]), bad++;
    }
    printf("keep %d bad\n", bad);
  } else if (!strcmp(mode, "nop")) {
    t_nop();
    printf("nop\n");
  } else {
    fprintf(stderr, "usage: bb_ops MODE\n");
    return 2;
  }
  return 0;
}
