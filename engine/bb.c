/* lurk: clean-call sites and instrumentation plans. */
#include "bb.h"
#include "log.h"
#include "mem.h"

#define SITE_PAGE_BITS 10
#define SITE_MAX_PAGES 16384

static struct cc_site *site_pages[SITE_MAX_PAGES];
static uint32_t site_count;

/* Called with the Lua lock held (bb handlers), so ids are serialized. */
uint32_t cc_site_new(struct cc_site **out)
{
  uint32_t id = site_count;
  uint32_t pg = id >> SITE_PAGE_BITS;
  if (pg >= SITE_MAX_PAGES) log_fatal("too many clean-call sites");
  if (!site_pages[pg]) site_pages[pg] = mem_alloc(sizeof(struct cc_site) << SITE_PAGE_BITS);
  *out = &site_pages[pg][id & ((1u << SITE_PAGE_BITS) - 1)];
  __atomic_store_n(&site_count, id + 1, __ATOMIC_RELEASE);
  return id;
}

struct cc_site *cc_site_get(uint32_t id)
{
  LURK_ASSERT(id < __atomic_load_n(&site_count, __ATOMIC_ACQUIRE), "bad clean-call site");
  return &site_pages[id >> SITE_PAGE_BITS][id & ((1u << SITE_PAGE_BITS) - 1)];
}

struct bb_op *bb_op_add(struct bb_plan *p)
{
  if (p->nops == p->cap) {
    unsigned ncap = p->cap ? p->cap * 2 : 16;
    p->ops = mem_realloc(p->ops, p->cap * sizeof *p->ops, ncap * sizeof *p->ops);
    p->cap = ncap;
  }
  struct bb_op *o = &p->ops[p->nops++];
  lurk_memset(o, 0, sizeof *o);
  return o;
}

/* -- Meta instructions that fault (bb.h) --------------------------------------------
** Append-only tables; a grown array is copied and the old one kept (lurk's
** signal handler may be reading it), the count published after the entry. */

uint32_t bb_add_nslots;

struct bb_meta { uint64_t pc; uint32_t coff, where; };
static struct bb_meta *bb_metas;
static uint32_t bb_nmeta, bb_capmeta;
static const char **bb_wheres;
static uint32_t bb_nwhere, bb_capwhere;

static void *bb_grow(void *old, uint32_t n, uint32_t *cap, size_t size)
{
  if (n < *cap) return old;
  uint32_t ncap = *cap ? *cap * 2 : 256;
  void *p = mem_alloc(ncap * size);
  if (n) lurk_memcpy(p, old, n * size);
  *cap = ncap;
  return p;
}

uint32_t bb_where_add(const char *s)
{
  size_t n = lurk_strlen(s);
  char *copy = mem_alloc(n + 1);
  lurk_memcpy(copy, s, n + 1);
  const char **w = bb_grow(bb_wheres, bb_nwhere, &bb_capwhere, sizeof *w);
  w[bb_nwhere] = copy;
  __atomic_store_n(&bb_wheres, w, __ATOMIC_RELEASE);
  __atomic_store_n(&bb_nwhere, bb_nwhere + 1, __ATOMIC_RELEASE);
  return bb_nwhere;
}

void bb_meta_note(uint64_t block_pc, uint32_t coff, uint32_t where)
{
  if (!where) return;
  struct bb_meta *m = bb_grow(bb_metas, bb_nmeta, &bb_capmeta, sizeof *m);
  m[bb_nmeta] = (struct bb_meta){ block_pc, coff, where };
  __atomic_store_n(&bb_metas, m, __ATOMIC_RELEASE);
  __atomic_store_n(&bb_nmeta, bb_nmeta + 1, __ATOMIC_RELEASE);
}

const char *bb_meta_where(uint64_t block_pc, uint32_t coff)
{
  uint32_t n = __atomic_load_n(&bb_nmeta, __ATOMIC_ACQUIRE);
  const struct bb_meta *m = __atomic_load_n(&bb_metas, __ATOMIC_ACQUIRE);
  for (uint32_t i = n; i-- > 0;) /* the latest translation first */
    if (m[i].pc == block_pc && m[i].coff == coff) {
      uint32_t w = m[i].where;
      if (w > __atomic_load_n(&bb_nwhere, __ATOMIC_ACQUIRE)) return NULL;
      return __atomic_load_n(&bb_wheres, __ATOMIC_ACQUIRE)[w - 1];
    }
  return NULL;
}
