/* lurk: definitions shared by every engine file.
** Symbols are hidden by default (-fvisibility=hidden); LURK_API marks the
** few entry points liblurk.so exports.
*/
#ifndef LURK_H
#define LURK_H

#include <stddef.h>
#include <stdint.h>

#define LURK_VERSION "0.1.0"
#define LURK_API __attribute__((visibility("default")))
#define LURK_NORETURN __attribute__((noreturn))
#define LURK_LIKELY(x) __builtin_expect(!!(x), 1)
#define LURK_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* -- Status codes (Zydis style: error bit | code) ------------------------ */
typedef uint32_t lurk_status;

#define LURK_ERRDEF(_)                                              \
  _(OK, "success")                                                  \
  _(NOMEM, "out of memory")                                         \
  _(DECODE, "cannot decode instruction")                            \
  _(ENCODE, "cannot encode instruction")                            \
  _(UNSUPPORTED, "instruction not supported")                       \
  _(FAULT, "address not readable")                                  \
  _(CACHE_FULL, "code cache full")                                  \
  _(BADOPT, "bad option")

enum {
#define ERRENUM(name, msg) LURK_S_##name,
  LURK_ERRDEF(ERRENUM)
#undef ERRENUM
  LURK_S__MAX
};

#define LURK_ERR(code) (0x80000000u | (uint32_t)LURK_S_##code)
#define LURK_OK 0u
#define LURK_FAILED(s) (((s)&0x80000000u) != 0)
#define LURK_CHECK(expr)                  \
  do {                                    \
    lurk_status s_ = (expr);              \
    if (LURK_FAILED(s_)) return s_;       \
  } while (0)

const char *lurk_status_msg(lurk_status s);

/* -- Invariants ------------------------------------------------------------ */
LURK_NORETURN void lurk_panic(const char *file, int line, const char *msg);
#define LURK_ASSERT(c, msg) \
  do { if (LURK_UNLIKELY(!(c))) lurk_panic(__FILE__, __LINE__, (msg)); } while (0)

/* -- Freestanding helpers (engine code never calls libc's SIMD versions) -- */
void *lurk_memcpy(void *d, const void *s, size_t n);
void *lurk_memmove(void *d, const void *s, size_t n);
void *lurk_memset(void *d, int c, size_t n);
int lurk_memcmp(const void *a, const void *b, size_t n);
size_t lurk_strlen(const char *s);
int lurk_strncmp(const char *a, const char *b, size_t n);
int lurk_strcmp(const char *a, const char *b);
char *lurk_strdup(const char *s);

#endif
