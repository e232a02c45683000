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
