/* lurk: the table of compiled handler programs (engine/hc.h). Programs are
** added by the bindings while a block is instrumented (Lua lock held) and
** read by the translator (cache lock held, the same thread), never freed:
** translations that use them are never reused. */
#include "hc.h"
#include "mem.h"

static struct hc_prog *hc_progs;
static uint32_t hc_nprogs, hc_cap;
uint32_t hc_ncells;

uint32_t hc_prog_add(const struct hc_ins *ins, unsigned n, const struct hc_assume *as, unsigned nas)
{
  if (hc_nprogs == hc_cap) {
    uint32_t cap = hc_cap ? 2 * hc_cap : 16;
    hc_progs = mem_realloc(hc_progs, hc_cap * sizeof *hc_progs, cap * sizeof *hc_progs);
    hc_cap = cap;
  }
  struct hc_prog *p = &hc_progs[hc_nprogs];
  p->n = n;
  p->ins = mem_alloc(n * sizeof *ins);
  lurk_memcpy(p->ins, ins, n * sizeof *ins);
  p->nassume = nas;
  p->assume = nas ? mem_alloc(nas * sizeof *as) : NULL;
  if (nas) lurk_memcpy(p->assume, as, nas * sizeof *as);
  return hc_nprogs++;
}

const struct hc_prog *hc_prog_get(uint32_t id) { return id < hc_nprogs ? &hc_progs[id] : NULL; }
