/* lurk: x86-64 instructions that do not run in the code cache.
** The translator ends a block with an emulation exit before an instruction
** it cannot copy or mangle (tr.c): bytes that do not decode, far jmp/call
** through memory, far returns, iret, int n. The dispatcher calls
** arch_emulate, which either does what the CPU would have done to the app's
** context (a far transfer to the program's own 64-bit code segment) or
** queues the signal the CPU raises, with the kernel's siginfo and frame
** (trapno, err, cr2): #UD is SIGILL/ILL_ILLOPN at the pc, #GP is SIGSEGV/
** SI_KERNEL with si_addr 0 and the selector in err, #PF is SIGSEGV at the
** address (SEGV_MAPERR or SEGV_ACCERR).
**
** Segments as Linux sets up the GDT for a 64-bit process: 0x33 (index 6)
** is the 64-bit user code segment, 0x2b (index 5) the user data/stack
** segment, 0x23 (index 4) the 32-bit compatibility code segment, which lurk
** does not run (the run stops with a message, as for other unsupported
** code). Every other selector faults with #GP(selector).
*/
#include <Zydis/Zydis.h>
#include <sys/mman.h>
#include "../arch.h"
#include "syscall.h"
#include "../../engine/log.h"
#include "../../engine/sig.h"
#include "../../engine/vm.h"

#define EM_UD 6
#define EM_GP 13
#define EM_PF 14
#define SI_KERNEL 0x80
#define ILL_ILLOPN 2

static ZydisDecoder em_dec;
static int em_ready;

/* vm_prot under the cache lock (the dispatcher does not hold it here). */
static int em_prot(uint64_t addr)
{
  cache_lock();
  int prot = vm_prot(addr);
  cache_unlock();
  return prot;
}

static void em_ud(struct lurk_thread *t, uint64_t pc) { sig_force(t, 4, ILL_ILLOPN, pc, pc, EM_UD, 0); }
static void em_gp(struct lurk_thread *t, uint64_t pc, uint64_t err)
{
  sig_force(t, 11, SI_KERNEL, 0, pc, EM_GP, err);
}

/* A data access to addr faulted (write: a store): #PF as the kernel reports it. */
static void em_pf(struct lurk_thread *t, uint64_t pc, uint64_t addr, int write)
{
  int prot = em_prot(addr);
  int present = prot >= 0 || addr >= 0x800000000000ull;
  sig_force(t, 11, prot >= 0 ? 2 /* SEGV_ACCERR */ : 1 /* SEGV_MAPERR */, addr, pc, EM_PF,
            4 | (write ? 2 : 0) | (present ? 1 : 0));
}

/* Read n app bytes at addr; on a fault, raise #PF at the first bad byte. */
static int em_read(struct lurk_thread *t, uint64_t pc, void *dst, uint64_t addr, size_t n)
{
  if (!arch_copy_in(dst, addr, n)) return 1;
  uint64_t bad = addr;
  while (bad < addr + n && !arch_copy_in(dst, bad, 1)) bad++;
  em_pf(t, pc, bad, 0);
  return 0;
}

static int em_write(struct lurk_thread *t, uint64_t pc, uint64_t addr, const void *src, size_t n)
{
  if (!arch_copy_out(addr, src, n)) return 1;
  em_pf(t, pc, addr, 1);
  return 0;
}

/* Check a code selector the program transfers to. 1: the 64-bit user code
** segment; 0: a fault was raised. need_rpl3: a far return (to the same
** privilege level only). */
static int em_code_sel(struct lurk_thread *t, uint64_t pc, uint16_t sel, int need_rpl3)
{
  if ((sel & ~3u) == 0) { em_gp(t, pc, 0); return 0; }
  if ((sel >> 2) == (0x20 >> 2) && (sel & 3) == 3)
    log_fatal("the program switches to 32-bit code at 0x%lx (a far transfer to selector 0x%x): "
              "lurk runs 64-bit code only", (unsigned long)pc, sel);
  if ((sel >> 2) != (0x30 >> 2) || (need_rpl3 && (sel & 3) != 3)) { em_gp(t, pc, sel & 0xfffcu); return 0; }
  return 1;
}

static uint64_t em_reg(const struct arch_mctx *m, ZydisRegister r, uint64_t next)
{
  if (r == ZYDIS_REGISTER_NONE) return 0;
  if (r == ZYDIS_REGISTER_RIP) return next;
  if (r == ZYDIS_REGISTER_EIP) return (uint32_t)next;
  ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
  uint64_t v = m->gpr[big - ZYDIS_REGISTER_RAX];
  return ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r) == 32 ? (uint32_t)v : v;
}

/* The effective address of a memory operand, with the fs base. */
static uint64_t em_addr(const struct arch_mctx *m, const ZydisDecodedInstruction *in,
                        const ZydisDecodedOperand *op, uint64_t next)
{
  uint64_t a = em_reg(m, op->mem.base, next) +
               em_reg(m, op->mem.index, next) * (op->mem.scale ? op->mem.scale : 1) +
               (uint64_t)op->mem.disp.value;
  if (in->address_width == 32) a = (uint32_t)a;
  if (op->mem.segment == ZYDIS_REGISTER_FS) {
    a += arch_app_fs();
  }
  return a;
}

static uint64_t em_get(const uint8_t *p, unsigned n)
{
  uint64_t v = 0;
  __builtin_memcpy(&v, p, n);
  return v;
}

int arch_cpu_amd(void)
{
  static int known, amd;
  if (!known) {
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    amd = (b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163) || /* AuthenticAMD */
          (b == 0x6f677948 && d == 0x6e65476e && c == 0x656e6975);   /* HygonGenuine */
    known = 1;
  }
  return amd;
}

/* far jmp/call through memory: m16:16, m16:32 or m16:64 (Intel only). */
static void em_far_branch(struct lurk_thread *t, const ZydisDecodedInstruction *in,
                          const ZydisDecodedOperand *ops, int call)
{
  struct arch_mctx *m = &t->tls.mctx;
  uint64_t pc = m->rip, next = pc + in->length;
  unsigned osz = in->operand_width / 8;
  if (osz == 8 && arch_cpu_amd()) osz = 4; /* AMD and Hygon ignore REX.W there: m16:32 */
  uint8_t buf[10];
  uint64_t a = em_addr(m, in, &ops[0], next);
  if (!em_read(t, pc, buf, a, osz + 2)) return;
  uint64_t off = em_get(buf, osz);
  uint16_t sel = (uint16_t)em_get(buf + osz, 2);
  if (!em_code_sel(t, pc, sel, 0)) return;
  if (call) {
    uint8_t push[16];
    uint64_t cs = 0x33, sp = m->gpr[MCTX_RSP] - 2 * osz;
    __builtin_memcpy(push, &next, osz);
    __builtin_memcpy(push + osz, &cs, osz);
    if (!em_write(t, pc, sp, push, 2 * osz)) return;
    m->gpr[MCTX_RSP] = sp;
  }
  m->rip = off;
}

/* lret [imm16] and iret: pop rip and cs (iret: rflags, rsp and ss too). */
static void em_far_ret(struct lurk_thread *t, const ZydisDecodedInstruction *in,
                       const ZydisDecodedOperand *ops, int iret)
{
  struct arch_mctx *m = &t->tls.mctx;
  uint64_t pc = m->rip, sp = m->gpr[MCTX_RSP];
  unsigned osz = in->operand_width / 8, n = iret ? 5 : 2;
  uint8_t buf[40];
  if (!em_read(t, pc, buf, sp, n * osz)) return;
  uint64_t off = em_get(buf, osz);
  uint16_t cs = (uint16_t)em_get(buf + osz, 2);
  if (!em_code_sel(t, pc, cs, 1)) return;
  if (!iret) {
    uint64_t imm = in->operand_count_visible ? ops[0].imm.value.u : 0;
    m->gpr[MCTX_RSP] = sp + 2 * osz + imm;
    m->rip = off;
    return;
  }
  uint64_t fl = em_get(buf + 2 * osz, osz), nsp = em_get(buf + 3 * osz, osz);
  uint16_t ss = (uint16_t)em_get(buf + 4 * osz, 2);
  if (ss != 0x2b) { em_gp(t, pc, ss & 0xfffcu); return; }
  /* What iret may change at CPL 3 with IOPL 0: the arithmetic flags, DF,
  ** NT, AC, ID (not IF, IOPL, VM). TF and RF are not taken: lurk does not
  ** run the program's own single-stepping (docs/architecture.md). */
  uint64_t mask = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800 | 0x4000 | 0x40000 | 0x200000;
  if (osz == 2) mask &= 0xffff;
  m->rflags = (m->rflags & ~mask) | (fl & mask);
  m->gpr[MCTX_RSP] = nsp;
  m->rip = off;
}

void arch_emulate(struct lurk_thread *t)
{
  uint64_t pc = t->tls.mctx.rip;
  uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
  size_t avail = 0;
  if (!em_ready) {
    ZydisDecoderInit(&em_dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    em_ready = 1;
  }
  /* Fetch as the CPU does: from executable pages only. */
  while (avail < sizeof buf) {
    int prot = ((pc + avail) & 0xfff) && avail ? PROT_EXEC : em_prot(pc + avail);
    if (prot < 0 || !(prot & PROT_EXEC) || arch_copy_in(buf + avail, pc + avail, 1)) break;
    avail++;
  }
  if (avail == 0) { sig_fault(t, pc, em_prot(pc) < 0 ? 1 : 2); return; }
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  ZyanStatus s = ZydisDecoderDecodeFull(&em_dec, buf, avail, &in, ops);
  if (ZYAN_FAILED(s)) {
    if (s == ZYDIS_STATUS_NO_MORE_DATA && avail < sizeof buf) {
      /* The instruction runs into a page it cannot be fetched from. */
      uint64_t bad = pc + avail;
      int prot = em_prot(bad);
      sig_force(t, 11, prot < 0 ? 1 : 2, bad, pc, EM_PF, 0x14 | (prot >= 0 ? 1 : 0));
    } else if (s == ZYDIS_STATUS_INSTRUCTION_TOO_LONG) {
      em_gp(t, pc, 0);
    } else {
      em_ud(t, pc);
    }
    return;
  }
  switch (in.mnemonic) {
  case ZYDIS_MNEMONIC_JMP:
  case ZYDIS_MNEMONIC_CALL:
    if (in.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR && ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY) {
      em_far_branch(t, &in, ops, in.mnemonic == ZYDIS_MNEMONIC_CALL);
      return;
    }
    break;
  case ZYDIS_MNEMONIC_RET:
    if (in.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) { em_far_ret(t, &in, ops, 0); return; }
    break;
  case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD: case ZYDIS_MNEMONIC_IRETQ:
    em_far_ret(t, &in, ops, 1);
    return;
  case ZYDIS_MNEMONIC_INT:
    /* int n other than 3 (and 0x80, refused by the translator): the IDT
    ** gate is not user-callable, #GP with the gate in err. */
    em_gp(t, pc, (ops[0].imm.value.u & 0xff) * 8 + 2);
    return;
  default:
    break;
  }
  log_fatal("cannot emulate the instruction at 0x%lx", (unsigned long)pc);
}
