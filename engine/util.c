/* lurk: freestanding string and memory helpers, status messages.
** Engine code uses these rather than libc's so that what liblurk.so imports
** stays small and reviewed (spec/imports); the app's vector registers are
** safe either way, since every engine entry xsaves them.
*/
#include "lurk.h"
#include "mem.h"

/* Words, then one overlapping word (or two overlapping halves) for the
** tail: most copies are instruction bytes, 1 to 15 of them. */
void *lurk_memcpy(void *d, const void *s, size_t n)
{
  uint8_t *dp = d;
  const uint8_t *sp = s;
  if (n >= 8) {
    uint64_t v, last;
    __builtin_memcpy(&last, sp + n - 8, 8);
    for (size_t i = 0; i + 8 <= n; i += 8) { __builtin_memcpy(&v, sp + i, 8); __builtin_memcpy(dp + i, &v, 8); }
    __builtin_memcpy(dp + n - 8, &last, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    __builtin_memcpy(&a, sp, 4);
    __builtin_memcpy(&b, sp + n - 4, 4);
    __builtin_memcpy(dp, &a, 4);
    __builtin_memcpy(dp + n - 4, &b, 4);
  } else if (n) {
    uint8_t a = sp[0], b = sp[n >> 1], c = sp[n - 1];
    dp[0] = a; dp[n >> 1] = b; dp[n - 1] = c;
  }
  return d;
}

/* Overlapping copies: forward when d is below s, else from the end. */
void *lurk_memmove(void *d, const void *s, size_t n)
{
  uint8_t *dp = d;
  const uint8_t *sp = s;
  uint64_t v;
  if (dp < sp) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { __builtin_memcpy(&v, sp + i, 8); __builtin_memcpy(dp + i, &v, 8); }
    for (; i < n; i++) dp[i] = sp[i];
  } else if (dp > sp) {
    size_t i = n;
    for (; i >= 8; i -= 8) { __builtin_memcpy(&v, sp + i - 8, 8); __builtin_memcpy(dp + i - 8, &v, 8); }
    while (i--) dp[i] = sp[i];
  }
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
