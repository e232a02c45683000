/* lurk: parse and re-serialize the LURK_OPTIONS string. */
#include "opt.h"
#include "log.h"
#include "mem.h"

struct lurk_opts opt = {
#define OPTDEF_INIT(f, key, kind, def) .f = def,
  OPTDEF(OPTDEF_INIT)
#undef OPTDEF_INIT
};

static int opt_atoi(const char *s, size_t n)
{
  int v = 0;
  for (size_t i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) v = v * 10 + (s[i] - '0');
  return v;
}

static void opt_set_INT(int *f, const char *v, size_t n) { *f = opt_atoi(v, n); }

static void opt_set_STR(const char **f, const char *v, size_t n)
{
  char *p = mem_alloc(n + 1);
  lurk_memcpy(p, v, n);
  *f = p;
}

/* Parse "key=value<SEP>key=value..."; unknown keys are an error. */
lurk_status opt_parse(const char *s)
{
  while (s && *s) {
    const char *end = s;
    while (*end && *end != OPT_SEP) end++;
    const char *eq = s;
    while (eq < end && *eq != '=') eq++;
    size_t klen = (size_t)(eq - s);
    const char *v = eq < end ? eq + 1 : end;
    size_t vlen = (size_t)(end - v);
    int known = 0;
#define OPTPARSE(f, key, kind, def) \
    if (!known && klen == sizeof(key) - 1 && lurk_strncmp(s, key, klen) == 0) { \
      opt_set_##kind(&opt.f, v, vlen); known = 1; }
    OPTDEF(OPTPARSE)
#undef OPTPARSE
    if (!known) return LURK_ERR(BADOPT);
    s = *end ? end + 1 : end;
  }
  log_level = opt.log_level;
  return LURK_OK;
}

size_t opt_format(char *buf, size_t n)
{
  size_t len = 0;
  char tmp[32];
#define OPTFMT_INT(f) (log_snprintf(tmp, sizeof tmp, "%d", opt.f), tmp)
#define OPTFMT_STR(f) (opt.f)
#define OPTFMT(f, key, kind, def) { \
    const char *v = OPTFMT_##kind(f); \
    if (v) len += (size_t)log_snprintf(buf + (len < n ? len : n), len < n ? n - len : 0, \
                                       "%s" key "=%s", len ? "\x1f" : "", v); }
  OPTDEF(OPTFMT)
#undef OPTFMT
  return len;
}
