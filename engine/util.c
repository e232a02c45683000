/* lurk: freestanding string and memory helpers, status messages.
** Engine code uses these rather than libc's so that what liblurk.so imports
** stays small and reviewed (spec/imports); the app's vector registers are
** safe either way, since every engine entry xsaves them.
*/
#include "lurk.h"
#include "mem.h"

void *lurk_memcpy(void *d, const void *s, size_t n)
{
  uint8_t *dp = d;
  const uint8_t *sp = s;
  while (n >= 8) { uint64_t v; __builtin_memcpy(&v, sp, 8); __builtin_memcpy(dp, &v, 8); dp += 8; sp += 8; n -= 8; }
  while (n--) *dp++ = *sp++;
  return d;
}

void *lurk_memset(void *d, int c, size_t n)
{
  uint8_t *dp = d;
  uint64_t v = (uint8_t)c * 0x0101010101010101ull;
  while (n >= 8) { __builtin_memcpy(dp, &v, 8); dp += 8; n -= 8; }
  while (n--) *dp++ = (uint8_t)c;
  return d;
}

int lurk_memcmp(const void *a, const void *b, size_t n)
{
  const uint8_t *x = a, *y = b;
  for (; n; n--, x++, y++)
    if (*x != *y) return *x - *y;
  return 0;
}

size_t lurk_strlen(const char *s)
{
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

int lurk_strncmp(const char *a, const char *b, size_t n)
{
  for (; n; n--, a++, b++) {
    if (*a != *b) return (uint8_t)*a - (uint8_t)*b;
    if (!*a) return 0;
  }
  return 0;
}

int lurk_strcmp(const char *a, const char *b)
{
  while (*a && *a == *b) a++, b++;
  return (uint8_t)*a - (uint8_t)*b;
}

char *lurk_strdup(const char *s)
{
  size_t n = lurk_strlen(s) + 1;
  char *p = mem_alloc(n);
  lurk_memcpy(p, s, n);
  return p;
}

static const char *const status_msgs[] = {
#define ERRMSG(name, msg) msg,
  LURK_ERRDEF(ERRMSG)
#undef ERRMSG
};

const char *lurk_status_msg(lurk_status s)
{
  uint32_t c = s & 0xffff;
  return c < LURK_S__MAX ? status_msgs[c] : "unknown status";
}
