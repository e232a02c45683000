/* lurk: function wrapping — points, the per-thread wrap stack, the calls
** from instrumented blocks (engine/wrap.h). DynamoRIO drwrap's design: the
** app's stack is never changed; a call is pushed on a shadow stack at the
** function's entry, and popped at any later point whose stack pointer is
** above it (the return address, where the translator puts a check, or the
** next entry), which gives tail calls, longjmp and exceptions for free.
*/
#include "wrap.h"
#include "bb.h"
#include "cache.h"
#include "lock.h"
#include "log.h"
#include "mem.h"
#include "thr.h"

/* -- Points ------------------------------------------------------------------- */

enum { WP_ENTRY = 1, WP_POST = 2, WP_REPL = 4, WP_NOPOST = 8 };

struct wrap_point {
  uint64_t pc;
  uint32_t flags;   /* WP_* (atomic: read by wrap_cc without the lock) */
  uint32_t id;      /* ENTRY: the hooks' id */
  uint64_t to;      /* REPL: the replacement */
  uint64_t last_ra; /* ENTRY: the last return address made a post point */
};

#define WP_PAGE_BITS 10
#define WP_MAX_PAGES 4096

static struct wrap_point *wp_pages[WP_MAX_PAGES];
static uint32_t wp_count;             /* points made (index 0 is never used) */
static struct lurk_lock wrap_lk = LOCK_INIT;
static struct wrap_hooks wrap_h;
uint32_t wrap_gen;

/* pc -> point index, open addressing; read without the lock: an index is
** stored after its point is complete, a grown table is published whole
** (old ones stay mapped, as the lookup table's do). */
struct wp_table { uint32_t mask; uint32_t used; uint64_t *keys; uint32_t *idx; };
static struct wp_table *wp_tab;

/* pcs whose blocks must be flushed (under wrap_lk) */
static uint64_t *wp_pend;
static uint32_t wp_npend, wp_cappend;

static struct wrap_point *point_get(uint32_t i)
{
  return &wp_pages[i >> WP_PAGE_BITS][i & ((1u << WP_PAGE_BITS) - 1)];
}

static uint32_t wp_hash(uint64_t pc) { return (uint32_t)((pc ^ (pc >> 17)) * 0x9e3779b1u); }

/* The index of pc's point, or 0. Lock-free. */
static uint32_t point_find(uint64_t pc)
{
  struct wp_table *t = __atomic_load_n(&wp_tab, __ATOMIC_ACQUIRE);
  if (!t) return 0;
  for (uint32_t s = wp_hash(pc) & t->mask;; s = (s + 1) & t->mask) {
    uint32_t i = __atomic_load_n(&t->idx[s], __ATOMIC_ACQUIRE);
    if (!i) return 0;
    if (t->keys[s] == pc) return i;
  }
}

static void tab_put(struct wp_table *t, uint64_t pc, uint32_t i)
{
  uint32_t s = wp_hash(pc) & t->mask;
  while (t->idx[s]) s = (s + 1) & t->mask;
  t->keys[s] = pc;
  __atomic_store_n(&t->idx[s], i, __ATOMIC_RELEASE);
  t->used++;
}

/* pc's point, made if new (wrap_lk held). */
static struct wrap_point *point_make(uint64_t pc)
{
  uint32_t i = point_find(pc);
  if (i) return point_get(i);
  if (!wp_tab || 2 * (wp_tab->used + 1) > wp_tab->mask + 1) {
    uint32_t n = wp_tab ? 2 * (wp_tab->mask + 1) : 1024;
    struct wp_table *t = mem_alloc(sizeof *t);
    t->mask = n - 1;
    t->keys = mem_alloc(n * sizeof *t->keys);
    t->idx = mem_alloc(n * sizeof *t->idx);
    if (wp_tab)
      for (uint32_t s = 0; s <= wp_tab->mask; s++)
        if (wp_tab->idx[s]) tab_put(t, wp_tab->keys[s], wp_tab->idx[s]);
    __atomic_store_n(&wp_tab, t, __ATOMIC_RELEASE);
  }
  i = ++wp_count;
  if ((i >> WP_PAGE_BITS) >= WP_MAX_PAGES) log_fatal("too many wrap points");
  if (!wp_pages[i >> WP_PAGE_BITS])
    wp_pages[i >> WP_PAGE_BITS] = mem_alloc(sizeof(struct wrap_point) << WP_PAGE_BITS);
  struct wrap_point *p = point_get(i);
  p->pc = pc;
  tab_put(wp_tab, pc, i);
  return p;
}

/* The blocks holding pc must be rebuilt (wrap_lk held). */
static void pend_add(uint64_t pc)
{
  if (wp_npend == wp_cappend) {
    uint32_t n = wp_cappend ? 2 * wp_cappend : 64;
    wp_pend = mem_realloc(wp_pend, wp_cappend * sizeof *wp_pend, n * sizeof *wp_pend);
    wp_cappend = n;
  }
  wp_pend[wp_npend++] = pc;
}

static void point_set(uint64_t pc, uint32_t clear, uint32_t set, uint32_t id, uint64_t to)
{
  lock_acquire(&wrap_lk);
  struct wrap_point *p = point_make(pc);
  if (set & WP_ENTRY) p->id = id;
  if (set & WP_REPL) p->to = to;
  uint32_t old = p->flags, nf = (old & ~clear) | set;
  __atomic_store_n(&p->flags, nf, __ATOMIC_RELEASE);
  if (nf != old || (set & WP_REPL)) pend_add(pc);
  lock_release(&wrap_lk);
}

void wrap_set_hooks(const struct wrap_hooks *h) { wrap_h = *h; }
void wrap_lock(void) { lock_acquire(&wrap_lk); }
void wrap_unlock(void) { lock_release(&wrap_lk); }
void wrap_add(uint64_t pc, uint32_t id, int post)
{
  point_set(pc, post ? WP_NOPOST : 0, WP_ENTRY | (post ? 0 : WP_NOPOST), id, 0);
}
void wrap_remove(uint64_t pc) { point_set(pc, WP_ENTRY | WP_NOPOST, 0, 0, 0); }
void wrap_replace(uint64_t pc, uint64_t to)
{
  if (to) point_set(pc, 0, WP_REPL, 0, to);
  else point_set(pc, WP_REPL, 0, 0, 0);
}

int wrap_any(void) { return __atomic_load_n(&wp_count, __ATOMIC_ACQUIRE) != 0; }

/* Take the pending pcs (wrap_lk is a leaf: the flush runs without it). */
static uint64_t *pend_take(uint32_t *n, uint32_t *cap)
{
  lock_acquire(&wrap_lk);
  uint64_t *v = wp_pend;
  *n = wp_npend;
  *cap = wp_cappend;
  wp_pend = NULL;
  wp_npend = wp_cappend = 0;
  lock_release(&wrap_lk);
  return v;
}

void wrap_flush_pending_locked(void)
{
  if (!__atomic_load_n(&wp_npend, __ATOMIC_ACQUIRE)) return;
  uint32_t n, cap;
  uint64_t *v = pend_take(&n, &cap);
  for (uint32_t i = 0; i < n; i++) cache_flush_range(v[i], v[i] + 1);
  if (v) mem_free(v, cap * sizeof *v);
}

void wrap_flush_pending(void)
{
  if (!__atomic_load_n(&wp_npend, __ATOMIC_ACQUIRE)) return;
  cache_lock();
  wrap_flush_pending_locked();
  cache_unlock();
}

/* -- Instrumentation ------------------------------------------------------------ */

/* Insert op o at position k of the plan's ops (emission order at one place). */
static void plan_insert(struct bb_plan *p, unsigned k, const struct bb_op *o)
{
  bb_op_add(p);
  for (unsigned j = p->nops - 1; j > k; j--) p->ops[j] = p->ops[j - 1];
  p->ops[k] = *o;
}

void wrap_plan(struct bb_plan *p)
{
  unsigned front = 0; /* wrap ops go first at their instruction */
  for (unsigned i = 0; i < p->n; i++) {
    uint32_t idx = point_find(p->insns[i].pc);
    if (!idx) continue;
    struct wrap_point *pt = point_get(idx);
    uint32_t fl = __atomic_load_n(&pt->flags, __ATOMIC_ACQUIRE);
    struct bb_op o;
    lurk_memset(&o, 0, sizeof o);
    o.at = (uint16_t)i;
    if (fl & (WP_ENTRY | WP_POST)) {
      o.kind = BB_OP_WRAP;
      o.site = WRAP_SITE_BIT | idx;
      plan_insert(p, front++, &o);
    }
    if ((fl & WP_REPL) && pt->to) {
      o.kind = BB_OP_JMP;
      o.k = (int64_t)pt->to;
      plan_insert(p, front++, &o);
      return; /* the block ends there */
    }
  }
}

/* -- The wrap stack --------------------------------------------------------------- */

static struct wrap_call *stack_push(struct wrap_stack *s)
{
  if (s->n == s->cap) {
    uint32_t n = s->cap ? 2 * s->cap : 64;
    s->c = mem_realloc(s->c, s->cap * sizeof *s->c, n * sizeof *s->c);
    s->cap = n;
  }
  return &s->c[s->n++];
}

/* Pop the calls above index base (top first) whose entry sp is below sp:
** they have returned (retaddr == pc and the stack is back at the slot
** above it) or were unwound. */
static void stack_pop(struct lurk_thread *t, struct wrap_stack *s, uint32_t base, uint64_t sp,
                      uint64_t pc)
{
  while (s->n > base && s->c[s->n - 1].sp < sp) {
    struct wrap_call c = s->c[--s->n];
    if (wrap_h.post) wrap_h.post(t, &c, !(pc && c.retaddr == pc && c.sp + 8 == sp));
  }
}

/* Follow the thread in and out of signal handlers on the app's alternate
** stack (sig.c emulates it per thread). */
static uint32_t frames_sync(struct lurk_thread *t, struct wrap_stack *s, uint64_t sp)
{
  while (s->nfr && !(sp >= s->fr_lo[s->nfr - 1] && sp < s->fr_hi[s->nfr - 1])) {
    s->nfr--;
    stack_pop(t, s, s->fr_base[s->nfr], ~0ull, 0); /* the handler is gone */
  }
  uint64_t lo = t->app_ss.sp, hi = lo + t->app_ss.size;
  if (t->app_ss.size && sp > lo && sp <= hi && s->nfr < 8 &&
      !(s->nfr && s->fr_lo[s->nfr - 1] == lo)) {
    s->fr_base[s->nfr] = s->n;
    s->fr_lo[s->nfr] = lo;
    s->fr_hi[s->nfr] = hi + 1;
    s->nfr++;
  }
  return s->nfr ? s->fr_base[s->nfr - 1] : 0;
}

/* A return address seen at an entry: make it a post point. */
static void post_point(uint64_t ra)
{
  uint32_t i = point_find(ra);
  if (i && (__atomic_load_n(&point_get(i)->flags, __ATOMIC_ACQUIRE) & WP_POST)) return;
  point_set(ra, 0, WP_POST, 0, 0);
}

int wrap_cc(struct lurk_thread *t)
{
  struct wrap_point *pt = point_get((uint32_t)t->tls.cc_site & ~WRAP_SITE_BIT);
  uint32_t fl = __atomic_load_n(&pt->flags, __ATOMIC_ACQUIRE);
  struct arch_mctx *m = &t->tls.mctx;
  uint64_t sp = m->gpr[MCTX_RSP];
  struct wrap_stack *s = &t->wrap;
  uint32_t base = frames_sync(t, s, sp);
  int redirect = 0;
  /* Returned or unwound calls first: also at an entry, where a call whose
  ** frame is below this one's must be gone (a tail call keeps the same sp). */
  stack_pop(t, s, base, sp, (fl & WP_POST) ? pt->pc : 0);
  if (fl & WP_ENTRY) {
    /* The return address: [sp] was just written by the call (a jmp to
    ** the entry with a bad stack is not worth a safe copy's 30 cycles:
    ** the function's own first push or ret would fault natively). */
    uint64_t ra = 0;
    if (!(sp & 7)) ra = *(const uint64_t *)sp;
    else if (arch_copy_in(&ra, sp, 8)) ra = 0;
    /* A call at the same sp is still running only if this is a tail call
    ** from it: same return address, another function. The same function
    ** again (longjmp back to a loop that calls it) or another return
    ** address in the slot means that call is gone. */
    while (s->n > base && s->c[s->n - 1].sp == sp &&
           (s->c[s->n - 1].retaddr != ra || s->c[s->n - 1].func == pt->pc)) {
      struct wrap_call c = s->c[--s->n];
      if (wrap_h.post) wrap_h.post(t, &c, 1);
    }
    if (fl & WP_NOPOST) {
      /* Nobody wants the return: the call is not pushed, its return
      ** address gets no check; pre sees it as the innermost call. */
      struct wrap_call c = { pt->pc, ra, sp, pt->id, __atomic_load_n(&wrap_gen, __ATOMIC_RELAXED), 0,
                             s->n + 1, 0 };
      if (wrap_h.pre && wrap_h.pre(t, &c)) {
        m->rip = ra;
        m->gpr[MCTX_RSP] = sp + 8;
        redirect = 1;
      }
      wrap_flush_pending();
      return redirect;
    }
    if (ra && ra != __atomic_load_n(&pt->last_ra, __ATOMIC_RELAXED)) {
      post_point(ra);
      wrap_flush_pending(); /* before the function can return */
      __atomic_store_n(&pt->last_ra, ra, __ATOMIC_RELAXED);
    }
    struct wrap_call *c = stack_push(s);
    c->func = pt->pc;
    c->retaddr = ra;
    c->sp = sp;
    c->id = pt->id;
    c->gen = __atomic_load_n(&wrap_gen, __ATOMIC_RELAXED);
    c->data = 0;
    c->depth = s->n;
    c->pushed = 1;
    if (wrap_h.pre && wrap_h.pre(t, &s->c[s->n - 1])) {
      s->n--;
      m->rip = ra;
      m->gpr[MCTX_RSP] = sp + 8;
      redirect = 1;
    }
  }
  wrap_flush_pending(); /* wraps the handlers added */
  return redirect;
}
