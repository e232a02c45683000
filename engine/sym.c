/* lurk: symbols of the app's modules (sym.h): the per-module records, the
** symbol lock, lookups by pc and by name pattern.
**
** Module records are created on the first question about a module and
** never freed (module records themselves are never freed, engine/mod.h).
** libelf and libdw are not thread-safe on one handle: the symbol lock
** serializes every entry point.
*/
#include <elf.h>
#include "sym_int.h"
#include "mod.h"
#include "mem.h"
#include "lock.h"

#define SYM_HASH 256

static struct lurk_lock sym_lk = LOCK_INIT;
static struct sym_mod *sym_tab[SYM_HASH];
static unsigned sym_nloaded;
static int sym_elf_ready;

void sym_lock(void) { lock_acquire(&sym_lk); }
void sym_unlock(void) { lock_release(&sym_lk); }

static unsigned sym_hash(const struct mod_info *m) { return (unsigned)(((uintptr_t)m >> 4) * 2654435761u) % SYM_HASH; }

struct sym_mod *sym_mod_of(const struct mod_info *m)
{
  unsigned h = sym_hash(m);
  for (struct sym_mod *s = sym_tab[h]; s; s = s->next)
    if (s->mod == m) return s;
  if (!sym_elf_ready) {
    elf_version(EV_CURRENT);
    sym_elf_ready = 1;
  }
  struct sym_mod *s = mem_alloc(sizeof *s);
  s->mod = m;
  sym_elf_open(s);
  s->next = sym_tab[h];
  sym_tab[h] = s;
  sym_nloaded++;
  return s;
}

struct sym_mod *sym_mod_syms(const struct mod_info *m)
{
  struct sym_mod *s = sym_mod_of(m);
  sym_elf_syms(s);
  return s;
}

size_t sym_module_addr_taken(const struct mod_info *m, const uint64_t **out)
{
  lock_acquire(&sym_lk);
  struct sym_mod *sm = sym_mod_of(m);
  sym_elf_addr_taken(sm);
  *out = sm->taken;
  size_t n = sm->ntaken;
  lock_release(&sym_lk);
  return n;
}

unsigned sym_loaded_count(void)
{
  lock_acquire(&sym_lk);
  unsigned n = sym_nloaded;
  lock_release(&sym_lk);
  return n;
}

void sym_entry_fill(struct sym_mod *sm, struct sym_sym *s, struct sym_entry *e)
{
  e->mod = sm->mod;
  e->mangled = s->name;
  e->name = sym_elf_demangle(s);
  e->addr = s->off + sm->bias;
  e->size = s->size;
  e->kind = s->kind;
  e->global = s->global;
  e->resolver = 0;
  if (s->kind == SYM_IFUNC) {
    e->resolver = e->addr;
    e->addr = sym_elf_ifunc(sm, s);
  }
}

/* -- By pc ------------------------------------------------------------------------- */

/* Rank of a name among the symbols at one address: GLOBAL/WEAK before
** LOCAL, functions before objects, fewer leading underscores. */
static int sym_rank(const struct sym_sym *s)
{
  int u = 0;
  while (s->name[u] == '_' && u < 4) u++;
  return (s->global ? 0 : 100) + (s->kind == SYM_OBJECT ? 10 : 0) + u;
}

/* The symbol covering link-time address off, or NULL. */
static struct sym_sym *sym_covering(struct sym_mod *sm, uint64_t off)
{
  size_t lo = 0, hi = sm->nsyms;
  while (lo < hi) { /* first symbol above off */
    size_t mid = (lo + hi) / 2;
    if (sm->syms[mid].off <= off) lo = mid + 1;
    else hi = mid;
  }
  /* Walk down: the nearest symbols at or below off; a sized one must hold
  ** off, a size-0 function (assembly) holds up to the next symbol. */
  struct sym_sym *best = NULL;
  uint64_t at = 0;
  for (size_t i = lo, steps = 0; i-- > 0 && steps < 64; steps++) {
    struct sym_sym *s = &sm->syms[i];
    if (best && s->off != at) break;
    int holds = s->size ? off < s->off + s->size : (s->kind != SYM_OBJECT && s->off == sm->syms[lo - 1].off);
    if (!holds) continue;
    if (!best || sym_rank(s) < sym_rank(best)) { best = s; at = s->off; }
  }
  return best;
}

int sym_lookup(uint64_t pc, struct sym_info *out, int lines)
{
  lurk_memset(out, 0, sizeof *out);
  const struct mod_info *m = mod_find(pc);
  if (!m) return 0;
  out->mod = m;
  lock_acquire(&sym_lk);
  struct sym_mod *sm = sym_mod_syms(m);
  uint64_t off = pc - sm->bias;
  struct sym_sym *s = sym_covering(sm, off);
  if (s) {
    sym_entry_fill(sm, s, &out->sym);
    out->offset = off - s->off;
  }
  if (lines) sym_line_find(sm, off, &out->file, &out->line);
  lock_release(&sym_lk);
  return 1;
}

/* -- By name --------------------------------------------------------------------------- */

/* Glob match (* ? [abc] [a-z] [!x]) of s against p. */
static int sym_glob(const char *p, const char *s)
{
  const char *star = NULL, *back = NULL;
  while (*s) {
    if (*p == '*') { star = ++p; back = s; continue; }
    if (*p == '[') {
      const char *q = p + 1;
      int neg = *q == '!' || *q == '^', hit = 0;
      if (neg) q++;
      for (int first = 1; *q && (first || *q != ']'); first = 0, q++) {
        if (q[1] == '-' && q[2] && q[2] != ']') { if (*s >= q[0] && *s <= q[2]) hit = 1; q += 2; }
        else if (*q == *s) hit = 1;
      }
      if (*q == ']' && hit != neg) { p = q + 1; s++; continue; }
    } else if (*p == '?' || *p == *s) { p++; s++; continue; }
    if (!star) return 0;
    p = star;
    s = ++back;
  }
  while (*p == '*') p++;
  return !*p;
}

static int sym_has_glob(const char *p)
{
  for (; *p; p++)
    if (*p == '*' || *p == '?' || *p == '[') return 1;
  return 0;
}

static int sym_mod_matches(const struct mod_info *m, const char *pat)
{
  const char *base = m->path;
  int slash = 0;
  for (const char *p = m->path; *p; p++)
    if (*p == '/') base = p + 1;
  for (const char *p = pat; *p; p++)
    if (*p == '/') slash = 1;
  if (sym_glob(pat, slash ? m->path : base)) return 1;
  /* "libstdc++.so.6" for /usr/lib/.../libstdc++.so.6.0.30: its DT_SONAME */
  if (slash) return 0;
  struct sym_mod *sm = sym_mod_of(m);
  return sm->soname && sym_glob(pat, sm->soname);
}

/* Match the symbols of sm against name (a glob, or plain); call fn. */
static size_t sym_match_mod(struct sym_mod *sm, const char *name, int glob, int dem, int funcs_only,
                            int (*fn)(void *, const struct sym_entry *), void *ud, int *stop)
{
  size_t n = 0;
  if (dem && !sm->demangled) {
    for (size_t i = 0; i < sm->nsyms; i++) sym_elf_demangle(&sm->syms[i]);
    sm->demangled = 1;
  }
  for (size_t i = 0; i < sm->nsyms && !*stop; i++) {
    struct sym_sym *s = &sm->syms[i];
    if (funcs_only && s->kind == SYM_OBJECT) continue;
    int hit;
    if (glob) hit = sym_glob(name, s->name) || (dem && s->dem != s->name && sym_glob(name, s->dem));
    else hit = !lurk_strcmp(name, s->name) || (dem && s->dem != s->name && !lurk_strcmp(name, s->dem));
    if (!hit) continue;
    /* one entry per address and name: a .dynsym name also in .symtab was merged */
    struct sym_entry e;
    sym_entry_fill(sm, s, &e);
    n++;
    if (fn(ud, &e)) *stop = 1;
  }
  return n;
}

size_t sym_match(const char *pattern, int funcs_only, int (*fn)(void *, const struct sym_entry *), void *ud)
{
  char modpat[1024];
  const char *bang = NULL, *name = pattern;
  for (const char *p = pattern; *p; p++)
    if (*p == '!') bang = p;
  if (bang) {
    size_t k = (size_t)(bang - pattern);
    if (k >= sizeof modpat) k = sizeof modpat - 1;
    lurk_memcpy(modpat, pattern, k);
    modpat[k] = 0;
    name = bang + 1;
  }
  int glob = sym_has_glob(name), dem = glob;
  for (const char *p = name; *p; p++)
    if (*p == ':' || *p == '(' || *p == '<' || *p == ' ') dem = 1; /* a demangled name */
  size_t cap = mod_list(NULL, 0) + 16;
  const struct mod_info **v = mem_alloc(cap * sizeof *v);
  size_t nm = mod_list(v, cap);
  if (nm > cap) nm = cap;
  /* The program first (as dlsym's default scope), then by address. */
  for (size_t i = 0; i < nm; i++)
    if (v[i]->main && i) {
      const struct mod_info *t = v[i];
      for (size_t j = i; j > 0; j--) v[j] = v[j - 1];
      v[0] = t;
      break;
    }
  size_t n = 0;
  int stop = 0;
  lock_acquire(&sym_lk); /* (sym_mod_matches may load a module) */
  for (size_t i = 0; i < nm && !stop; i++) {
    if (bang && !sym_mod_matches(v[i], modpat)) continue;
    n += sym_match_mod(sym_mod_syms(v[i]), name, glob, dem, funcs_only, fn, ud, &stop);
  }
  lock_release(&sym_lk);
  mem_free(v, cap * sizeof *v);
  return n;
}

int sym_module_next(const struct mod_info *m, size_t *i, struct sym_entry *e)
{
  int found = 0;
  lock_acquire(&sym_lk);
  struct sym_mod *sm = sym_mod_syms(m);
  for (; *i < sm->nsyms; (*i)++) {
    struct sym_sym *s = &sm->syms[*i];
    if (s->kind == SYM_OBJECT) continue;
    sym_entry_fill(sm, s, e);
    (*i)++;
    found = 1;
    break;
  }
  lock_release(&sym_lk);
  return found;
}
