/* lurk: the app's extended vector state inside clean calls.
**
** lurk_cc (context.S) saves xmm0-15 and MXCSR only: engine C code and LuaJIT
** use SSE, and legacy SSE instructions leave the upper halves of ymm/zmm,
** zmm16-31 and the opmask registers alone. Code outside liblurk.so that a
** handler can reach may not: glibc's libm picks FMA/AVX2 versions of exp,
** sin, pow..., and libZydis calls libc's AVX-512 memset/memcpy. Calls to
** those go through the guards below, which save and restore the extended
** components (AVX, opmask, ZMM_Hi256, Hi16_ZMM) around the call when a
** clean call is running on this thread (TLS_CC_ACTIVE), into the thread's
** xsave area (outside a clean call the dispatcher's xsave already holds the
** app's state). liblurk.so's own string functions are engine/libc.c.
*/
#include <stdint.h>
#include "../arch.h"
#include "../insn.h"
#include "target.h"

#define XS_EXT 0xe4u /* components 2 (AVX), 5 (opmask), 6 (ZMM_Hi256), 7 (Hi16_ZMM) */

struct arch_ext_save { uint32_t lo, hi; };

extern int arch_tls_ready; /* tls.c: the gs base is set (after lb_start) */

static inline uint64_t cc_active(void)
{
  uint64_t v;
  if (!arch_tls_ready) return 0; /* scripts' top level, before takeover */
  __asm__ volatile("mov %%gs:%c1, %0" : "=r"(v) : "i"(TLS_CC_ACTIVE));
  return v;
}

/* Save the extended state if a clean call is running; *s says what. */
static inline void ext_save(struct arch_ext_save *s)
{
  s->lo = s->hi = 0;
  if (!cc_active()) return;
  uint32_t lo, hi;
  __asm__ volatile("mov %%gs:%c2, %0\n\tmov %%gs:%c3, %1" : "=r"(lo), "=r"(hi)
                   : "i"(TLS_XCR0_LO), "i"(TLS_XCR0_HI));
  s->lo = lo & XS_EXT;
  s->hi = 0;
  if (!s->lo) return;
  __asm__ volatile("xsave64 %%gs:%c0" : : "i"(TLS_XSAVE), "a"(s->lo), "d"(s->hi) : "memory");
}

static inline void ext_restore(const struct arch_ext_save *s)
{
  if (!s->lo) return;
  __asm__ volatile("xrstor64 %%gs:%c0" : : "i"(TLS_XSAVE), "a"(s->lo), "d"(s->hi) : "memory");
}

/* -- libm, as LuaJIT's math library and its traces call it ----------------------
** Each name is defined here, hidden, so references inside liblurk.so bind
** to the guard; the guard calls libm's own symbol through a versioned alias
** (.symver), so the program's libm is used as is. */
#define LIBM_1(_)                                                                                \
  _(acos, "GLIBC_2.2.5") _(asin, "GLIBC_2.2.5") _(atan, "GLIBC_2.2.5") _(cos, "GLIBC_2.2.5")     \
  _(cosh, "GLIBC_2.2.5") _(exp, "GLIBC_2.29") _(log, "GLIBC_2.29") _(log10, "GLIBC_2.2.5")       \
  _(log2, "GLIBC_2.29") _(sin, "GLIBC_2.2.5") _(sinh, "GLIBC_2.2.5") _(sqrt, "GLIBC_2.2.5")      \
  _(tan, "GLIBC_2.2.5") _(tanh, "GLIBC_2.2.5")
#define LIBM_2(_) _(atan2, "GLIBC_2.2.5") _(fmod, "GLIBC_2.2.5") _(pow, "GLIBC_2.29")

#define GUARD_1(name, ver)                                                                       \
  extern double real_##name(double);                                                             \
  __asm__(".symver real_" #name "," #name "@" ver);                                              \
  __attribute__((visibility("hidden"))) double name(double x)                                    \
  {                                                                                              \
    struct arch_ext_save s;                                                                      \
    ext_save(&s);                                                                                \
    double r = real_##name(x);                                                                   \
    ext_restore(&s);                                                                             \
    return r;                                                                                    \
  }
#define GUARD_2(name, ver)                                                                       \
  extern double real_##name(double, double);                                                     \
  __asm__(".symver real_" #name "," #name "@" ver);                                              \
  __attribute__((visibility("hidden"))) double name(double x, double y)                          \
  {                                                                                              \
    struct arch_ext_save s;                                                                      \
    ext_save(&s);                                                                                \
    double r = real_##name(x, y);                                                                \
    ext_restore(&s);                                                                             \
    return r;                                                                                    \
  }
LIBM_1(GUARD_1)
LIBM_2(GUARD_2)

/* -- Zydis (arch/x86_64/insn.c) --------------------------------------------------- */

lurk_status insn_decode_raw(struct insn *in, const uint8_t *bytes, size_t n, uint64_t pc);
size_t insn_format_raw(const struct insn *in, char *buf, size_t n);

lurk_status insn_decode(struct insn *in, const uint8_t *bytes, size_t n, uint64_t pc)
{
  struct arch_ext_save s;
  ext_save(&s);
  lurk_status r = insn_decode_raw(in, bytes, n, pc);
  ext_restore(&s);
  return r;
}

size_t insn_format(const struct insn *in, char *buf, size_t n)
{
  struct arch_ext_save s;
  ext_save(&s);
  size_t r = insn_format_raw(in, buf, n);
  ext_restore(&s);
  return r;
}
