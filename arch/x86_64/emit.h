/* lurk: a small x86-64 emitter for the engine's own fixed sequences
** (spills to the thread block, exit stubs, branches, return-address pushes).
** Relocated app instructions go through Zydis instead (tr.c).
** Registers are hardware numbers 0..15 (ORDER GPR).
** Pointers are where the code runs (the cache's RX view): every store goes
** through the RW view (cache_w), so displacements come out right.
*/
#ifndef LURK_EMIT_H
#define LURK_EMIT_H
#include <stdint.h>
#include <string.h>
#include "../../engine/lurk.h"
#include "../../engine/cache.h"

enum { R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI,
       R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15 };

#define XO_SEG_GS 0x65
#define XO_SEG_FS 0x64

static inline void emit_u8(uint8_t **p, uint8_t b) { *cache_w((*p)++) = b; }
static inline void emit_u32(uint8_t **p, uint32_t v) { __builtin_memcpy(cache_w(*p), &v, 4); *p += 4; }
static inline void emit_u64(uint8_t **p, uint64_t v) { __builtin_memcpy(cache_w(*p), &v, 8); *p += 8; }
/* Copy n bytes to cache address p. */
static inline void emit_bytes_at(uint8_t *p, const void *b, size_t n) { lurk_memcpy(cache_w(p), b, n); }

/* Does target fit a rel32 measured from the end of an instruction at end? */
static inline int emit_rel32_ok(const uint8_t *end, uint64_t target)
{
  int64_t d = (int64_t)(target - (uint64_t)end);
  return d == (int32_t)d;
}

/* modrm+sib for an absolute [disp32] operand (used with the gs prefix). */
static inline void emit_abs32(uint8_t **p, int reg, int32_t disp)
{
  emit_u8(p, (uint8_t)(0x04 | ((reg & 7) << 3)));
  emit_u8(p, 0x25);
  emit_u32(p, (uint32_t)disp);
}

/* mov gs:[off], r64 */
static inline void emit_gs_store(uint8_t **p, int r, int32_t off)
{
  emit_u8(p, XO_SEG_GS);
  emit_u8(p, (uint8_t)(0x48 | ((r >> 3) << 2)));
  emit_u8(p, 0x89);
  emit_abs32(p, r, off);
}

/* mov r64, gs:[off] */
static inline void emit_gs_load(uint8_t **p, int r, int32_t off)
{
  emit_u8(p, XO_SEG_GS);
  emit_u8(p, (uint8_t)(0x48 | ((r >> 3) << 2)));
  emit_u8(p, 0x8b);
  emit_abs32(p, r, off);
}

/* mov qword gs:[off], simm32 */
static inline void emit_gs_store_imm(uint8_t **p, int32_t off, int32_t imm)
{
  emit_u8(p, XO_SEG_GS);
  emit_u8(p, 0x48);
  emit_u8(p, 0xc7);
  emit_abs32(p, 0, off);
  emit_u32(p, (uint32_t)imm);
}

/* mov byte gs:[off], imm8 */
static inline void emit_gs_store_imm8(uint8_t **p, int32_t off, uint8_t imm)
{
  emit_u8(p, XO_SEG_GS);
  emit_u8(p, 0xc6);
  emit_abs32(p, 0, off);
  emit_u8(p, imm);
}

/* add qword gs:[off], simm32 (writes the flags) */
static inline void emit_gs_add_imm(uint8_t **p, int32_t off, int32_t imm)
{
  emit_u8(p, XO_SEG_GS);
  emit_u8(p, 0x48);
  if (imm == (int8_t)imm) {
    emit_u8(p, 0x83);
    emit_abs32(p, 0, off);
    emit_u8(p, (uint8_t)imm);
  } else {
    emit_u8(p, 0x81);
    emit_abs32(p, 0, off);
    emit_u32(p, (uint32_t)imm);
  }
}

/* jmp qword gs:[off] */
static inline void emit_gs_jmp(uint8_t **p, int32_t off)
{
  emit_u8(p, XO_SEG_GS);
  emit_u8(p, 0xff);
  emit_abs32(p, 4, off);
}

/* call qword gs:[off] */
static inline void emit_gs_call(uint8_t **p, int32_t off)
{
  emit_u8(p, XO_SEG_GS);
  emit_u8(p, 0xff);
  emit_abs32(p, 2, off);
}

/* jmp rel32 to target (asserts reach); returns the rel32 field. */
static inline uint8_t *emit_jmp32(uint8_t **p, uint64_t target)
{
  emit_u8(p, 0xe9);
  uint8_t *field = *p;
  LURK_ASSERT(emit_rel32_ok(*p + 4, target), "jmp rel32 out of reach");
  emit_u32(p, (uint32_t)(target - (uint64_t)(*p + 4)));
  return field;
}

/* jcc rel32 (cc = condition nibble); returns the rel32 field. */
static inline uint8_t *emit_jcc32(uint8_t **p, int cc, uint64_t target)
{
  emit_u8(p, 0x0f);
  emit_u8(p, (uint8_t)(0x80 | cc));
  uint8_t *field = *p;
  LURK_ASSERT(emit_rel32_ok(*p + 4, target), "jcc rel32 out of reach");
  emit_u32(p, (uint32_t)(target - (uint64_t)(*p + 4)));
  return field;
}

/* Point an emitted rel32 field at target. */
static inline void emit_patch_rel32(uint8_t *field, uint64_t target)
{
  int32_t d = (int32_t)(int64_t)(target - (uint64_t)(field + 4));
  __atomic_store_n((uint32_t *)(void *)cache_w(field), (uint32_t)d, __ATOMIC_RELAXED);
}

/* mov r64, imm64 */
static inline void emit_mov_imm64(uint8_t **p, int r, uint64_t v)
{
  emit_u8(p, (uint8_t)(0x48 | (r >> 3)));
  emit_u8(p, (uint8_t)(0xb8 | (r & 7)));
  emit_u64(p, v);
}

/* mov r32, imm32 (zero-extends into the 64-bit register; flags untouched) */
static inline void emit_mov_imm32(uint8_t **p, int r, uint32_t v)
{
  if (r >= 8) emit_u8(p, 0x41);
  emit_u8(p, (uint8_t)(0xb8 | (r & 7)));
  emit_u32(p, v);
}

/* lea r, [r + disp32] (adds without touching flags) */
static inline void emit_lea_disp(uint8_t **p, int r, int32_t disp)
{
  emit_u8(p, (uint8_t)(0x48 | ((r >> 3) << 2) | (r >> 3)));
  emit_u8(p, 0x8d);
  if ((r & 7) == R_RSP) { /* rsp/r12 as a base need a sib byte */
    emit_u8(p, (uint8_t)(0x84 | ((r & 7) << 3)));
    emit_u8(p, 0x24);
  } else {
    emit_u8(p, (uint8_t)(0x80 | ((r & 7) << 3) | (r & 7)));
  }
  emit_u32(p, (uint32_t)disp);
}

/* mov dst, src (64-bit) */
static inline void emit_mov_rr(uint8_t **p, int dst, int src)
{
  emit_u8(p, (uint8_t)(0x48 | ((src >> 3) << 2) | (dst >> 3)));
  emit_u8(p, 0x89);
  emit_u8(p, (uint8_t)(0xc0 | ((src & 7) << 3) | (dst & 7)));
}

/* mov r64, [r64] (r is not rsp/rbp/r12/r13) */
static inline void emit_load_ind(uint8_t **p, int r)
{
  emit_u8(p, (uint8_t)(0x48 | ((r >> 3) << 2) | (r >> 3)));
  emit_u8(p, 0x8b);
  emit_u8(p, (uint8_t)(((r & 7) << 3) | (r & 7)));
}

/* mov r64, [rip + rel32] aimed at an absolute address (caller checked reach). */
static inline void emit_load_riprel(uint8_t **p, int r, uint64_t addr)
{
  emit_u8(p, (uint8_t)(0x48 | ((r >> 3) << 2)));
  emit_u8(p, 0x8b);
  emit_u8(p, (uint8_t)(0x05 | ((r & 7) << 3)));
  emit_u32(p, (uint32_t)(addr - (uint64_t)(*p + 4)));
}

static inline void emit_pop(uint8_t **p, int r)
{
  if (r >= 8) emit_u8(p, 0x41);
  emit_u8(p, (uint8_t)(0x58 | (r & 7)));
}

/* lea rsp, [rsp + disp32] (moves rsp without touching flags) */
static inline void emit_lea_rsp(uint8_t **p, int32_t disp)
{
  emit_u8(p, 0x48); emit_u8(p, 0x8d); emit_u8(p, 0xa4); emit_u8(p, 0x24);
  emit_u32(p, (uint32_t)disp);
}

/* mov qword [rsp], v with one 8-byte store (a later 8-byte load of the slot
** must be forwardable from a single store), through r spilled at gs:off. */
static inline void emit_store_rsp64(uint8_t **p, uint64_t v, int r, int32_t off)
{
  if ((uint64_t)(int64_t)(int32_t)(uint32_t)v == v) {
    emit_u8(p, 0x48); emit_u8(p, 0xc7); emit_u8(p, 0x04); emit_u8(p, 0x24);
    emit_u32(p, (uint32_t)v);            /* mov qword [rsp], simm32 */
    return;
  }
  emit_gs_store(p, r, off);
  emit_mov_imm64(p, r, v);
  emit_u8(p, (uint8_t)(0x48 | ((r >> 3) << 2)));
  emit_u8(p, 0x89);
  emit_u8(p, (uint8_t)(0x04 | ((r & 7) << 3)));
  emit_u8(p, 0x24);                      /* mov [rsp], r */
  emit_gs_load(p, r, off);
}

/* call rel32 to target (asserts reach). */
static inline void emit_call32(uint8_t **p, uint64_t target)
{
  emit_u8(p, 0xe8);
  LURK_ASSERT(emit_rel32_ok(*p + 4, target), "call rel32 out of reach");
  emit_u32(p, (uint32_t)(target - (uint64_t)(*p + 4)));
}

/* mov rcx, [rsp] */
static inline void emit_load_rcx_top(uint8_t **p)
{
  emit_u8(p, 0x48); emit_u8(p, 0x8b); emit_u8(p, 0x0c); emit_u8(p, 0x24);
}

/* Exit stub: record the exit id and enter the dispatcher (EMIT_STUB_SIZE). */
#define EMIT_STUB_SIZE 21
static inline void emit_exit_stub(uint8_t **p, uint32_t id, int32_t exit_off, int32_t disp_off)
{
  emit_gs_store_imm(p, exit_off, (int32_t)id);
  emit_gs_jmp(p, disp_off);
}

/* Far jump through an inline literal: jmp [rip+0]; dq target (14 bytes). */
static inline void emit_jmp_far(uint8_t **p, uint64_t target)
{
  emit_u8(p, 0xff); emit_u8(p, 0x25); emit_u32(p, 0);
  emit_u64(p, target);
}

#endif
