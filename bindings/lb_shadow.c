/* lurk: shadow memory from Lua (#14): lurk.shadow.set/get/check/find/stats
** over engine/shadow.h, and its layout constants; strcheck, the bytes a C
** string function reads (memcheck's check at glibc's string functions). The shadow is reserved
** on first use; a kernel that refuses the reservation makes every
** function return nil, message.
*/
#include "lb_int.h"
#include "../engine/shadow.h"

/* ORDER SHADOW_*: state names as Lua sees them. */
static const char *const lb_shadow_names[] = { "noaccess", "undefined", "defined", "partial", NULL };

/* Reserve the shadow, or push nil, message and return 2. */
static int lb_shadow_need(lua_State *L)
{
  if (!LURK_FAILED(shadow_init())) return 0;
  lua_pushnil(L);
  lua_pushliteral(L, "cannot reserve shadow memory (the kernel refused a 32 TiB MAP_NORESERVE mapping)");
  return 2;
}

/* The range at (i, i + 1): an address and a non-negative count. */
static uint64_t lb_shadow_range(lua_State *L, int i, uint64_t *n)
{
  uint64_t a = lb_ffi_check_u64(L, i);
  lua_Number k = luaL_checknumber(L, i + 1);
  luaL_argcheck(L, k >= 0 && k == (lua_Number)(uint64_t)k, i + 1, "non-negative integer expected");
  *n = (uint64_t)k;
  return a;
}

/* shadow.set(addr, n, state): bytes [addr, addr + n) to state. */
static int lb_shadow_set(lua_State *L)
{
  uint64_t n, a = lb_shadow_range(L, 1, &n);
  int s = luaL_checkoption(L, 3, NULL, lb_shadow_names);
  if (lb_shadow_need(L)) return 2;
  shadow_set(a, n, (unsigned)s);
  lua_pushboolean(L, 1);
  return 1;
}

/* shadow.get(addr): the state name of the byte at addr. */
static int lb_shadow_get(lua_State *L)
{
  uint64_t a = lb_ffi_check_u64(L, 1);
  if (lb_shadow_need(L)) return 2;
  lua_pushstring(L, lb_shadow_names[shadow_get(a)]);
  return 1;
}

/* shadow.check(addr, n): nil when all n bytes are addressable, else the
** first unaddressable address and how many bytes are addressable. */
static int lb_shadow_check(lua_State *L)
{
  uint64_t n, a = lb_shadow_range(L, 1, &n), bad;
  if (lb_shadow_need(L)) return 2;
  uint64_t good = shadow_check(a, n, &bad);
  if (good == n) {
    lua_pushnil(L);
    return 1;
  }
  lb_ffi_push_u64(L, bad);
  lua_pushnumber(L, (lua_Number)good);
  return 2;
}

/* shadow.find(addr, n, what): the first byte of [addr, addr + n) that is
** "addressable" or "noaccess" (what), or nil. */
static int lb_shadow_find(lua_State *L)
{
  static const char *const what[] = { "noaccess", "addressable", NULL };
  uint64_t n, a = lb_shadow_range(L, 1, &n);
  int want = luaL_checkoption(L, 3, NULL, what);
  if (lb_shadow_need(L)) return 2;
  uint64_t x = shadow_find(a, n, want);
  if (x >= a + n) lua_pushnil(L);
  else lb_ffi_push_u64(L, x);
  return 1;
}

/* shadow.mark(addr, n, state): the addressable bytes of the range to
** "undefined" or "defined" (unaddressable ones stay so). */
static int lb_shadow_mark(lua_State *L)
{
  static const char *const st[] = { "undefined", "defined", NULL };
  uint64_t n, a = lb_shadow_range(L, 1, &n);
  int s = luaL_checkoption(L, 3, NULL, st);
  if (lb_shadow_need(L)) return 2;
  shadow_set_addressable(a, n, s ? SHADOW_DEFINED : SHADOW_UNDEFINED);
  lua_pushboolean(L, 1);
  return 1;
}

/* shadow.first_undefined(addr, n): the first undefined byte of the range, or nil. */
static int lb_shadow_first_undef(lua_State *L)
{
  uint64_t n, a = lb_shadow_range(L, 1, &n);
  if (lb_shadow_need(L)) return 2;
  uint64_t x = shadow_find_state(a, n, SHADOW_UNDEFINED);
  if (x >= a + n) lua_pushnil(L);
  else lb_ffi_push_u64(L, x);
  return 1;
}

/* shadow.undef_mask(addr, n): bit i set when byte addr + i is undefined (n <= 32). */
static int lb_shadow_undef_mask(lua_State *L)
{
  uint64_t n, a = lb_shadow_range(L, 1, &n);
  luaL_argcheck(L, n <= 32, 2, "at most 32 bytes");
  if (lb_shadow_need(L)) return 2;
  lua_pushnumber(L, (lua_Number)shadow_undef_mask(a, (unsigned)n));
  return 1;
}

/* shadow.set_mask(addr, n, mask): addressable byte addr + i to undefined
** where bit i of mask is set, else defined (n <= 32). */
static int lb_shadow_set_mask(lua_State *L)
{
  uint64_t n, a = lb_shadow_range(L, 1, &n);
  luaL_argcheck(L, n <= 32, 2, "at most 32 bytes");
  uint64_t m = (uint64_t)luaL_checknumber(L, 3);
  if (lb_shadow_need(L)) return 2;
  shadow_set_mask(a, (unsigned)n, m);
  lua_pushboolean(L, 1);
  return 1;
}

/* shadow.copy(dst, src, n): the definedness of src's bytes onto dst's
** addressable ones (overlap allowed). */
static int lb_shadow_copy(lua_State *L)
{
  uint64_t d = lb_ffi_check_u64(L, 1), n, s = lb_shadow_range(L, 2, &n);
  if (lb_shadow_need(L)) return 2;
  shadow_copy_def(d, s, n);
  lua_pushboolean(L, 1);
  return 1;
}

/* shadow.stats(): { special_pages, private_pages, set_calls }. */
static int lb_shadow_stats(lua_State *L)
{
  if (lb_shadow_need(L)) return 2;
  shadow_stats st;
  shadow_get_stats(&st);
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, (lua_Number)st.special_pages);
  lua_setfield(L, -2, "special_pages");
  lua_pushnumber(L, (lua_Number)st.private_pages);
  lua_setfield(L, -2, "private_pages");
  lua_pushnumber(L, (lua_Number)st.set_calls);
  lua_setfield(L, -2, "set_calls");
  return 1;
}

/* -- The bytes a C string function reads (memcheck) ------------------------
** Scans read app memory only where the shadow says it is addressable:
** a cursor keeps the end of the run known addressable (*hi) ahead of a
** forward scan, so the shadow is looked at about once per page. */

/* Is [x, x + k) addressable? Advances *hi; else *bad is the first byte
** that is not (looked at again under the lock, see shadow_check). */
static int lb_sc_ok(uint64_t *hi, uint64_t x, unsigned k, uint64_t *bad)
{
  if (x + k <= *hi && x < *hi) return 1;
  if (x >= SHADOW_APP_END - 64) { *bad = x; return 0; }
  uint64_t n = 4096 - (x & 4095);
  if (n < k) n = k;
  uint64_t e = shadow_find(x, n, 0);
  if (e >= x + k) { *hi = e; return 1; }
  uint64_t b;
  if (shadow_check(x, k, &b) == k) { *hi = x + k; return 1; }
  *bad = b;
  return 0;
}

static uint32_t lb_sc_load(uint64_t x, unsigned unit)
{
  return unit == 1 ? *(const volatile uint8_t *)(uintptr_t)x : *(const volatile uint32_t *)(uintptr_t)x;
}

/* Units from p until one equals c (when STOP_C), a 0 (when STOP_NUL),
** or max units: 1 and *bad when a unit read is unaddressable. */
enum { LB_SC_STOP_C = 1, LB_SC_STOP_NUL = 2, LB_SC_FOLD = 4 };
static int lb_sc_scan(uint64_t p, uint64_t max, unsigned unit, uint32_t c, int how, uint64_t *bad)
{
  uint64_t hi = 0;
  for (uint64_t i = 0; i < max; i++) {
    uint64_t x = p + i * unit;
    if (!lb_sc_ok(&hi, x, unit, bad)) return 1;
    uint32_t v = lb_sc_load(x, unit);
    if (((how & LB_SC_STOP_C) && v == c) || ((how & LB_SC_STOP_NUL) && v == 0)) return 0;
  }
  return 0;
}

static uint32_t lb_sc_fold(uint32_t v) { return v >= 'A' && v <= 'Z' ? v + 32 : v; }

/* a and b in step until they differ (letters folded with FOLD), a 0
** (STOP_NUL) or max units. */
static int lb_sc_cmp(uint64_t a, uint64_t b, uint64_t max, unsigned unit, int how, uint64_t *bad)
{
  uint64_t ha = 0, hb = 0;
  for (uint64_t i = 0; i < max; i++) {
    uint64_t x = a + i * unit, y = b + i * unit;
    if (!lb_sc_ok(&ha, x, unit, bad) || !lb_sc_ok(&hb, y, unit, bad)) return 1;
    uint32_t u = lb_sc_load(x, unit), v = lb_sc_load(y, unit);
    if (how & LB_SC_FOLD) { u = lb_sc_fold(u); v = lb_sc_fold(v); }
    if (u != v || ((how & LB_SC_STOP_NUL) && u == 0)) return 0;
  }
  return 0;
}

/* s until a byte in set (accept = 0: strcspn, strpbrk) or not in it
** (accept = 1: strspn), or its 0; set is read first, whole. */
static int lb_sc_span(uint64_t s, uint64_t set, int accept, uint64_t *bad)
{
  uint8_t in[256] = { 0 };
  if (lb_sc_scan(set, UINT64_MAX, 1, 0, LB_SC_STOP_NUL, bad)) return 1;
  for (const uint8_t *q = (const uint8_t *)(uintptr_t)set; *q; q++) in[*q] = 1;
  uint64_t hi = 0;
  for (uint64_t x = s;; x++) {
    if (!lb_sc_ok(&hi, x, 1, bad)) return 1;
    uint8_t v = lb_sc_load(x, 1);
    if (v == 0 || in[v] != accept) return 0;
  }
}

/* strstr(h, n): n whole, then h until the first match or its 0. */
static int lb_sc_search(uint64_t h, uint64_t n, uint64_t *bad)
{
  if (lb_sc_scan(n, UINT64_MAX, 1, 0, LB_SC_STOP_NUL, bad)) return 1;
  const uint8_t *nd = (const uint8_t *)(uintptr_t)n;
  uint64_t nl = 0, hi = 0;
  while (nd[nl]) nl++;
  for (uint64_t i = 0;; i++) {
    uint64_t j = 0;
    for (; j < nl; j++) {
      if (!lb_sc_ok(&hi, h + i + j, 1, bad)) return 1;
      if (lb_sc_load(h + i + j, 1) != nd[j]) break;
    }
    if (j == nl) return 0;
    if (lb_sc_load(h + i + j, 1) == 0) return 0; /* (read: the mismatch) */
  }                                              /* ([h, hi) stays addressable) */
}

/* ORDER LB_SC_FN */
static const char *const lb_sc_names[] = {
  "strlen", "strnlen", "strcpy", "stpcpy", "strncpy", "stpncpy", "strcat", "strncat",
  "strcmp", "strncmp", "strcasecmp", "strncasecmp", "memcmp", "memchr", "memrchr", "rawmemchr",
  "strchr", "strchrnul", "strrchr", "strspn", "strcspn", "strpbrk", "strstr",
  "wcslen", "wcsnlen", "wcscpy", "wcscmp", "wcschr", "wcsrchr", NULL
};

/* The reads of function fn with arguments a: 1 and *bad when one is of
** an unaddressable byte. */
static int lb_sc_reads(int fn, const uint64_t *a, uint64_t *bad)
{
  const int NUL = LB_SC_STOP_NUL, C = LB_SC_STOP_C;
  const uint64_t ALL = UINT64_MAX;
  switch (fn) {
  case 0: case 18: return lb_sc_scan(a[0], ALL, 1, 0, NUL, bad);          /* strlen, strrchr */
  case 1: return lb_sc_scan(a[0], a[1], 1, 0, NUL, bad);                  /* strnlen */
  case 2: case 3: return lb_sc_scan(a[1], ALL, 1, 0, NUL, bad);           /* strcpy, stpcpy */
  case 4: case 5: return lb_sc_scan(a[1], a[2], 1, 0, NUL, bad);          /* strncpy, stpncpy */
  case 6: return lb_sc_scan(a[0], ALL, 1, 0, NUL, bad) || lb_sc_scan(a[1], ALL, 1, 0, NUL, bad);
  case 7: return lb_sc_scan(a[0], ALL, 1, 0, NUL, bad) || lb_sc_scan(a[1], a[2], 1, 0, NUL, bad);
  case 8: return lb_sc_cmp(a[0], a[1], ALL, 1, NUL, bad);                 /* strcmp */
  case 9: return lb_sc_cmp(a[0], a[1], a[2], 1, NUL, bad);                /* strncmp */
  case 10: return lb_sc_cmp(a[0], a[1], ALL, 1, NUL | LB_SC_FOLD, bad);
  case 11: return lb_sc_cmp(a[0], a[1], a[2], 1, NUL | LB_SC_FOLD, bad);
  case 12: return lb_sc_cmp(a[0], a[1], a[2], 1, 0, bad);                 /* memcmp */
  case 13: return lb_sc_scan(a[0], a[2], 1, (uint8_t)a[1], C, bad);       /* memchr */
  case 14: {                                                              /* memrchr */
    if (!a[2]) return 0;
    if (shadow_check(a[0], a[2], bad) == a[2]) return 0;
    return 1;
  }
  case 15: return lb_sc_scan(a[0], ALL, 1, (uint8_t)a[1], C, bad);        /* rawmemchr */
  case 16: case 17: return lb_sc_scan(a[0], ALL, 1, (uint8_t)a[1], C | NUL, bad);
  case 19: return lb_sc_span(a[0], a[1], 1, bad);                         /* strspn */
  case 20: case 21: return lb_sc_span(a[0], a[1], 0, bad);                /* strcspn, strpbrk */
  case 22: return lb_sc_search(a[0], a[1], bad);                          /* strstr */
  case 23: case 28: return lb_sc_scan(a[0], ALL, 4, 0, NUL, bad);         /* wcslen, wcsrchr */
  case 24: return lb_sc_scan(a[0], a[1], 4, 0, NUL, bad);
  case 25: return lb_sc_scan(a[1], ALL, 4, 0, NUL, bad);                  /* wcscpy */
  case 26: return lb_sc_cmp(a[0], a[1], ALL, 4, NUL, bad);
  case 27: return lb_sc_scan(a[0], ALL, 4, (uint32_t)a[1], C | NUL, bad); /* wcschr */
  }
  return 0;
}

/* shadow.strcheck(fn, a1 [, a2 [, a3]]): nil when every byte the C
** function fn reads with these arguments is addressable, else the first
** one that is not. */
static int lb_shadow_strcheck(lua_State *L)
{
  int fn = luaL_checkoption(L, 1, NULL, lb_sc_names);
  uint64_t a[3] = { 0, 0, 0 }, bad = 0;
  for (int i = 0; i < 3; i++)
    if (!lua_isnoneornil(L, i + 2)) a[i] = lb_ffi_check_u64(L, i + 2);
  if (lb_shadow_need(L)) return 2;
  if (!lb_sc_reads(fn, a, &bad)) lua_pushnil(L);
  else lb_ffi_push_u64(L, bad);
  return 1;
}

static const luaL_Reg lb_shadow_funcs[] = {
  { "set", lb_shadow_set }, { "get", lb_shadow_get }, { "check", lb_shadow_check },
  { "find", lb_shadow_find }, { "stats", lb_shadow_stats }, { "strcheck", lb_shadow_strcheck },
  { "mark", lb_shadow_mark }, { "first_undefined", lb_shadow_first_undef }, { "undef_mask", lb_shadow_undef_mask },
  { "set_mask", lb_shadow_set_mask }, { "copy", lb_shadow_copy },
  { NULL, NULL }
};

void lb_shadow_open(lua_State *L)
{
  lua_createtable(L, 0, 15);
  luaL_register(L, NULL, lb_shadow_funcs);
  lb_ffi_push_u64(L, SHADOW_OFFSET);
  lua_setfield(L, -2, "offset");
  lua_pushinteger(L, SHADOW_SHIFT);
  lua_setfield(L, -2, "shift");
  lb_ffi_push_u64(L, SHADOW_APP_END);
  lua_setfield(L, -2, "app_end");
  lua_setfield(L, -2, "shadow");
}
