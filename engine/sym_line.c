/* lurk: DWARF line tables (libdw): link-time address -> file:line.
**
** On the first line question about a module, its DWARF (the separate debug
** file, else the file itself) is opened and the compile units' address
** ranges are listed and sorted: from .debug_aranges when the file has it
** (one section: libc's takes a millisecond), else from every unit's DIE
** (libc: about 45 ms). A lookup is a binary search for the unit, then
** libdw's line table of that unit (read once by libdw, then cached). As
** .debug_aranges may leave units out (GCC 11+ does not always emit it), a
** pc it does not cover makes lurk list every unit once and look again.
*/
#include <dwarf.h>
#include "sym_int.h"
#include "mod.h"
#include "mem.h"
#include "log.h"

extern void qsort(void *, size_t, size_t, int (*)(const void *, const void *));

static int line_cu_cmp(const void *a, const void *b)
{
  const struct sym_cu *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void line_add(struct sym_mod *sm, uint64_t lo, uint64_t hi, uint64_t die)
{
  if (sm->ncus == sm->capcus) {
    size_t nc = sm->capcus ? sm->capcus * 2 : 256;
    sm->cus = mem_realloc(sm->cus, sm->capcus * sizeof *sm->cus, nc * sizeof *sm->cus);
    sm->capcus = nc;
  }
  sm->cus[sm->ncus++] = (struct sym_cu){ lo, hi, die };
}

/* The units' ranges from .debug_aranges; 0 if it has none. */
static int line_index_aranges(struct sym_mod *sm)
{
  Dwarf_Aranges *ar;
  size_t n;
  if (dwarf_getaranges(sm->dw, &ar, &n) || !n) return 0;
  for (size_t i = 0; i < n; i++) {
    Dwarf_Addr a;
    Dwarf_Word len;
    Dwarf_Off die;
    Dwarf_Arange *r = dwarf_onearange(ar, i);
    if (r && !dwarf_getarangeinfo(r, &a, &len, &die) && len) line_add(sm, a, a + len, die);
  }
  qsort(sm->cus, sm->ncus, sizeof *sm->cus, line_cu_cmp);
  return sm->ncus > 0;
}

/* List every compile unit's ranges of sm->dw. */
static void line_index(struct sym_mod *sm)
{
  sm->ncus = 0;
  sm->cus_full = 1;
  Dwarf_CU *cu = NULL;
  Dwarf_Die cudie;
  uint8_t unit_type;
  while (dwarf_get_units(sm->dw, cu, &cu, NULL, &unit_type, &cudie, NULL) == 0) {
    if (unit_type != DW_UT_compile && unit_type != DW_UT_partial && unit_type != DW_UT_skeleton) continue;
    Dwarf_Addr base, lo, hi;
    ptrdiff_t off = 0;
    while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
      if (hi > lo) line_add(sm, lo, hi, dwarf_dieoffset(&cudie));
    }
  }
  qsort(sm->cus, sm->ncus, sizeof *sm->cus, line_cu_cmp);
}

/* The row for off in cu's line table: the last row at or below off; among
** the rows at that address, the last that begins a statement (what gdb
** shows: GCC emits a line per view, the last one often not a statement). */
static int line_in_unit(Dwarf_Die *cu, uint64_t off, const char **file, int *line)
{
  Dwarf_Lines *ls;
  size_t n;
  if (dwarf_getsrclines(cu, &ls, &n) || !n) return 0;
  size_t lo = 0, hi = n;
  while (lo < hi) { /* first row above off */
    size_t mid = (lo + hi) / 2;
    Dwarf_Addr a;
    if (dwarf_lineaddr(dwarf_onesrcline(ls, mid), &a)) return 0;
    if (a <= off) lo = mid + 1;
    else hi = mid;
  }
  if (!lo) return 0;
  Dwarf_Addr at;
  dwarf_lineaddr(dwarf_onesrcline(ls, lo - 1), &at);
  Dwarf_Line *pick = NULL;
  for (size_t i = lo; i-- > 0;) {
    Dwarf_Line *l = dwarf_onesrcline(ls, i);
    Dwarf_Addr a;
    bool end = false, stmt = false;
    if (dwarf_lineaddr(l, &a) || a != at) break;
    dwarf_lineendsequence(l, &end);
    if (end) continue;
    dwarf_linebeginstatement(l, &stmt);
    if (!pick) pick = l;
    if (stmt) { pick = l; break; }
  }
  int ln = 0;
  const char *f = pick ? dwarf_linesrc(pick, NULL, NULL) : NULL;
  if (!f || dwarf_lineno(pick, &ln)) return 0;
  *file = f;
  *line = ln;
  return 1;
}

Dwarf *sym_line_dwarf(struct sym_mod *sm)
{
  if (sm->dw_state) return sm->dw;
  sm->dw_state = -1;
  Elf *cands[2] = { sm->dbg.elf, sm->main.elf };
  for (int i = 0; i < 2 && !sm->dw; i++) {
    if (!cands[i]) continue;
    sm->dw = dwarf_begin_elf(cands[i], DWARF_C_READ, NULL);
  }
  if (!sm->dw) return NULL;
  sm->dw_state = 1;
  if (!line_index_aranges(sm)) line_index(sm);
  LOG(LOG_DEBUG, "sym: %s: DWARF with %zu unit ranges\n", sm->mod->path, sm->ncus);
  return sm->dw;
}

static int line_find(struct sym_mod *sm, uint64_t off, const char **file, int *line)
{
  /* The last range starting at or below off; ranges of different units do
  ** not overlap, but walk back a little in case one nests. */
  size_t lo = 0, hi = sm->ncus;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (sm->cus[mid].lo <= off) lo = mid + 1;
    else hi = mid;
  }
  for (size_t i = lo, steps = 0; i-- > 0 && steps < 8; steps++) {
    const struct sym_cu *c = &sm->cus[i];
    if (off >= c->hi) continue;
    Dwarf_Die die;
    if (dwarf_offdie(sm->dw, c->die, &die) && line_in_unit(&die, off, file, line)) return 1;
  }
  return 0;
}

int sym_line_find(struct sym_mod *sm, uint64_t off, const char **file, int *line)
{
  *file = NULL;
  *line = 0;
  if (!sym_line_dwarf(sm)) return 0;
  if (line_find(sm, off, file, line)) return 1;
  if (sm->cus_full) return 0;
  line_index(sm); /* .debug_aranges did not cover off: every unit, once */
  return line_find(sm, off, file, line);
}
