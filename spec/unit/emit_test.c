/* lurk: golden tests for the x86-64 emitter (emit.h): each helper's bytes are
** decoded by Zydis and compared with the expected Intel-syntax text. */
#include <Zydis/Zydis.h>
#include <stdio.h>
#include <string.h>
#include "../../arch/x86_64/emit.h"
#include "../../arch/x86_64/target.h"

/* emit.h stores through the code cache's RW view (engine/cache.h): here
** the buffers are plain memory, written where they are. */
int64_t cache_wd;

static int fails, runs;

/* Disassemble the bytes [b, e) at runtime address `at` into one string. */
static void disasm(const uint8_t *b, const uint8_t *e, uint64_t at, char *out, size_t n)
{
  ZydisDisassembledInstruction in;
  out[0] = 0;
  while (b < e && ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, at, b,
                                                     (ZyanUSize)(e - b), &in))) {
    if (out[0]) strncat(out, "; ", n - strlen(out) - 1);
    strncat(out, in.text, n - strlen(out) - 1);
    b += in.info.length;
    at += in.info.length;
  }
}

#define CASE(expect, code)                                                  \
  do {                                                                      \
    uint8_t buf[64], *p = buf;                                              \
    char got[512];                                                          \
    code;                                                                   \
    disasm(buf, p, (uint64_t)buf, got, sizeof got);                         \
    runs++;                                                                 \
    if (strcmp(got, expect)) {                                              \
      fails++;                                                              \
      printf("FAIL %s:%d\n  want: %s\n  got:  %s\n", __FILE__, __LINE__, expect, got); \
    }                                                                       \
  } while (0)

void lurk_panic(const char *file, int line, const char *msg)
{
  printf("panic %s:%d %s\n", file, line, msg);
  __builtin_trap();
}

int main(void)
{
  CASE("mov gs:[0x0000000000001018], rcx", emit_gs_store(&p, R_RCX, TLS_SPILL_RCX));
  CASE("mov gs:[0x0000000000001030], r13", emit_gs_store(&p, R_R13, TLS_SPILL_SCR));
  CASE("mov r9, gs:[0x0000000000001030]", emit_gs_load(&p, R_R9, TLS_SPILL_SCR));
  CASE("mov qword ptr gs:[0x0000000000001000], 0x1234", emit_gs_store_imm(&p, TLS_EXIT_ID, 0x1234));
  CASE("jmp gs:[0x0000000000000028]", emit_gs_jmp(&p, TLS_DISP_ENTRY));
  CASE("mov rax, 0x123456789ABCDEF0", emit_mov_imm64(&p, R_RAX, 0x123456789abcdef0ull));
  CASE("mov r11, 0x7FFF00001000", emit_mov_imm64(&p, R_R11, 0x7fff00001000ull));
  CASE("mov rcx, r14", emit_mov_rr(&p, R_RCX, R_R14));
  CASE("mov r8, rdx", emit_mov_rr(&p, R_R8, R_RDX));
  CASE("mov rcx, [rcx]", emit_load_ind(&p, R_RCX));
  CASE("pop rcx", emit_pop(&p, R_RCX));
  CASE("pop r12", emit_pop(&p, R_R12));
  CASE("lea rsp, [rsp+0x10]", emit_lea_rsp(&p, 16));
  /* The call sequence's store of the app return address: one 8-byte store
  ** (forwardable to the 8-byte load of the translated ret). */
  CASE("mov qword ptr [rsp], 0x401000", emit_store_rsp64(&p, 0x401000, R_RAX, TLS_SPILL_RAX));
  CASE("mov gs:[0x0000000000001020], rax; mov rax, 0x7F12BEEF1234; mov [rsp], rax; "
       "mov rax, gs:[0x0000000000001020]",
       emit_store_rsp64(&p, 0x7f12beef1234ull, R_RAX, TLS_SPILL_RAX));
  CASE("mov rcx, [rsp]", emit_load_rcx_top(&p));
  {
    /* Branches measured from the end of the instruction. */
    char want[128];
    uint8_t buf[64], *p = buf;
    char got[512];
    emit_jmp32(&p, (uint64_t)buf + 0x100);
    emit_jcc32(&p, 0x4, (uint64_t)buf + 0x200);
    disasm(buf, p, (uint64_t)buf, got, sizeof got);
    snprintf(want, sizeof want, "jmp 0x%016llX; jz 0x%016llX", (unsigned long long)(uint64_t)buf + 0x100,
             (unsigned long long)(uint64_t)buf + 0x200);
    runs++;
    if (strcmp(got, want)) { fails++; printf("FAIL branches\n  want: %s\n  got:  %s\n", want, got); }
    /* Re-point the jmp: the patch keeps the encoding, changes the target. */
    emit_patch_rel32(buf + 1, (uint64_t)buf + 0x40);
    disasm(buf, buf + 5, (uint64_t)buf, got, sizeof got);
    snprintf(want, sizeof want, "jmp 0x%016llX", (unsigned long long)(uint64_t)buf + 0x40);
    runs++;
    if (strcmp(got, want)) { fails++; printf("FAIL patch\n  want: %s\n  got:  %s\n", want, got); }
  }
  {
    uint8_t buf[64], *p = buf;
    emit_exit_stub(&p, 7, TLS_EXIT_ID, TLS_DISP_ENTRY);
    runs++;
    if (p - buf != EMIT_STUB_SIZE) /* arch_patch_unlink rewrites stubs in place */ { fails++; printf("FAIL stub size %d\n", (int)(p - buf)); }
    p = buf;
    emit_jmp_far(&p, 0x7f0000001000ull);
    runs++;
    if (p - buf > EMIT_STUB_SIZE) { fails++; printf("FAIL far jump does not fit a stub\n"); }
  }
  printf("emit: %d passed, %d failed\n", runs - fails, fails);
  return fails != 0;
}
