/* lurk: liblurk.so's own string functions, in place of libc's inside it.
**
** LuaJIT (linked in statically), and the engine's struct copies, call
** memcpy, strlen and friends. glibc picks AVX2 or AVX-512 versions of these
** at load time, and those leave the upper halves of ymm0-15 zeroed
** (vzeroupper) and zmm16-31 and k0-7 changed. Inside a clean call that is
** app state: lurk_cc saves only xmm0-15 (the registers SSE code can touch),
** because saving the rest costs more than the call. So liblurk.so defines
** these names itself, hidden: every reference inside it binds here, and
** the program and its libraries still get libc's. They use general
** registers only (and rep movsb/stosb, which change no vector state).
**
** This file is compiled without builtins and without loop-to-call
** rewriting, so that none of these turns into a call to itself.
*/
#include <stddef.h>
#include <stdint.h>

#define LIBC __attribute__((visibility("hidden")))

/* Copy n <= 32 bytes, every load before any store (so overlap is fine):
** rep movsb costs tens of cycles to start, and LuaJIT copies a stack slot
** or two at a time (api_call_base moves a call's arguments with memmove). */
static void small_copy(uint8_t *d, const uint8_t *s, size_t n)
{
  if (n >= 16) {
    uint64_t a, b, c, e;
    __builtin_memcpy(&a, s, 8); __builtin_memcpy(&b, s + 8, 8);
    __builtin_memcpy(&c, s + n - 16, 8); __builtin_memcpy(&e, s + n - 8, 8);
    __builtin_memcpy(d, &a, 8); __builtin_memcpy(d + 8, &b, 8);
    __builtin_memcpy(d + n - 16, &c, 8); __builtin_memcpy(d + n - 8, &e, 8);
  } else if (n >= 8) {
    uint64_t a, b;
    __builtin_memcpy(&a, s, 8); __builtin_memcpy(&b, s + n - 8, 8);
    __builtin_memcpy(d, &a, 8); __builtin_memcpy(d + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    __builtin_memcpy(&a, s, 4); __builtin_memcpy(&b, s + n - 4, 4);
    __builtin_memcpy(d, &a, 4); __builtin_memcpy(d + n - 4, &b, 4);
  } else if (n) {
    uint8_t a = s[0], b = s[n >> 1], c = s[n - 1];
    d[0] = a; d[n >> 1] = b; d[n - 1] = c;
  }
}

LIBC void *memcpy(void *d, const void *s, size_t n)
{
  void *r = d;
  if (n <= 32) { small_copy(d, s, n); return r; }
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  return r;
}

LIBC void *memmove(void *d, const void *s, size_t n)
{
  uint8_t *dp = d;
  const uint8_t *sp = s;
  if (n <= 32) { small_copy(dp, sp, n); return d; }
  if (dp <= sp || dp >= sp + n) return memcpy(d, s, n);
  /* Overlapping with the destination above: copy backwards. */
  void *r = d;
  dp += n - 1;
  sp += n - 1;
  __asm__ volatile("std; rep movsb; cld" : "+D"(dp), "+S"(sp), "+c"(n) : : "memory", "cc");
  return r;
}

LIBC void *memset(void *d, int c, size_t n)
{
  void *r = d;
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
  return r;
}

LIBC int memcmp(const void *a, const void *b, size_t n)
{
  const uint8_t *p = a, *q = b;
  for (; n >= 8; n -= 8, p += 8, q += 8) {
    uint64_t x, y;
    __builtin_memcpy(&x, p, 8);
    __builtin_memcpy(&y, q, 8);
    if (x != y) break;
  }
  for (; n; n--, p++, q++)
    if (*p != *q) return *p - *q;
  return 0;
}

LIBC void *memchr(const void *s, int c, size_t n)
{
  const uint8_t *p = s;
  for (; n; n--, p++)
    if (*p == (uint8_t)c) return (void *)p;
  return NULL;
}

LIBC size_t strlen(const char *s)
{
  const char *p = s;
  while (*p) p++;
  return (size_t)(p - s);
}

LIBC char *strchr(const char *s, int c)
{
  for (;; s++) {
    if (*s == (char)c) return (char *)s;
    if (!*s) return NULL;
  }
}

LIBC char *strrchr(const char *s, int c)
{
  const char *r = NULL;
  for (;; s++) {
    if (*s == (char)c) r = s;
    if (!*s) return (char *)r;
  }
}

LIBC int strcmp(const char *a, const char *b)
{
  for (; *a && *a == *b; a++, b++) {}
  return (uint8_t)*a - (uint8_t)*b;
}

LIBC int strncmp(const char *a, const char *b, size_t n)
{
  for (; n; n--, a++, b++) {
    if (*a != *b) return (uint8_t)*a - (uint8_t)*b;
    if (!*a) return 0;
  }
  return 0;
}

LIBC char *strcpy(char *d, const char *s)
{
  char *r = d;
  while ((*d++ = *s++)) {}
  return r;
}

LIBC char *strncpy(char *d, const char *s, size_t n)
{
  char *r = d;
  for (; n && *s; n--) *d++ = *s++;
  for (; n; n--) *d++ = 0;
  return r;
}

LIBC char *strstr(const char *h, const char *n)
{
  size_t k = strlen(n);
  if (!k) return (char *)h;
  for (; *h; h++)
    if (*h == *n && !strncmp(h, n, k)) return (char *)h;
  return NULL;
}

/* The rest of what elfutils and libiberty (engine/sym*, linked in) call. */

LIBC void *mempcpy(void *d, const void *s, size_t n) { return (uint8_t *)memcpy(d, s, n) + n; }

LIBC void *memccpy(void *d, const void *s, int c, size_t n)
{
  uint8_t *dp = d;
  const uint8_t *sp = s;
  for (; n; n--) {
    *dp = *sp++;
    if (*dp++ == (uint8_t)c) return dp;
  }
  return NULL;
}

LIBC void *memrchr(const void *s, int c, size_t n)
{
  const uint8_t *p = (const uint8_t *)s + n;
  while (n--)
    if (*--p == (uint8_t)c) return (void *)p;
  return NULL;
}

LIBC char *stpcpy(char *d, const char *s)
{
  while ((*d = *s++)) d++;
  return d;
}

LIBC char *stpncpy(char *d, const char *s, size_t n)
{
  for (; n && *s; n--) *d++ = *s++;
  char *r = d;
  for (; n; n--) *d++ = 0;
  return r;
}
