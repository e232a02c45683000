/* lurk: restartable sequences for code in the cache (see rseq.h). */
#include <asm/prctl.h>
#include <sys/syscall.h>
#include "rseq.h"
#include "cache.h"
#include "lock.h"
#include "log.h"
#include "mod.h"
#include "thr.h"
#include "../arch/arch.h"
#include "../arch/x86_64/syscall.h"

#define RSEQ_MAX 64
#define RSEQ_MODS 256
#define RSEQ_POST_MAX 4096 /* longest section a module scan believes */
#define RSEQ_FLAG_UNREGISTER 1
#define RSEQ_SIG_GLIBC 0x53053053u /* glibc's and librseq's x86 signature */

/* Known sections: appended under rseq_lk, read without it (the count is
** published after the entry). Modules whose data was scanned, likewise. */
static struct rseq_sec rseq_tab[RSEQ_MAX];
static uint32_t rseq_n;
static const struct mod_info *rseq_mods[RSEQ_MODS];
static uint32_t rseq_nmods;
static struct lurk_lock rseq_lk = LOCK_INIT;
static int rseq_adopted;

/* The app's descriptor, as the kernel reads it (struct rseq_cs). */
struct rseq_desc {
  uint32_t version, flags;
  uint64_t start_ip, post_commit_offset, abort_ip;
};

uint64_t rseq_syscall(struct lurk_thread *t, struct arch_mctx *m)
{
  uint64_t r = arch_syscall_app(m);
  if (SYS_FAILED(r)) return r;
  if (ARCH_SC_ARG(m, 2) & RSEQ_FLAG_UNREGISTER) {
    t->tls.w->rseq_area = 0;
  } else {
    t->tls.w->rseq_area = ARCH_SC_ARG(m, 0);
    t->rseq_sig = (uint32_t)ARCH_SC_ARG(m, 3);
  }
  return r;
}

/* A thread that registered before lurk took over (glibc registers the
** main thread in ld.so): glibc's area is in its thread block, at the
** thread pointer plus __rseq_offset (a few KB, 32-byte aligned). Found by
** asking the kernel, without reading symbols or changing anything: an
** unregister with a signature that is not the thread's fails with EPERM
** for the registered area and length only (EINVAL elsewhere), and a
** register with the same area, length and signature fails with EBUSY. */
static void rseq_adopt(struct lurk_thread *t)
{
  uint64_t fs = arch_app_fs(); /* (with --early, the engine's own fs is loaded here) */
  if (!fs) return;
  for (uint64_t len = 32; len <= 64; len += 32) {
    for (uint64_t off = 0; off < 8192; off += 32) {
      uint64_t area = fs + off;
      long r = sys_call4(SYS_rseq, area, len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG_GLIBC ^ 1);
      if (r == 0) { /* its signature was that one after all: put it back */
        sys_call4(SYS_rseq, area, len, 0, RSEQ_SIG_GLIBC ^ 1);
        t->tls.w->rseq_area = area;
        t->rseq_sig = RSEQ_SIG_GLIBC ^ 1;
        return;
      }
      if (r != -1 /* EPERM */) continue;
      LOG(LOG_DEBUG, "rseq: area at thread pointer + %lu, length %lu\n", (unsigned long)off, (unsigned long)len);
      if (sys_call4(SYS_rseq, area, len, 0, RSEQ_SIG_GLIBC) == -16 /* EBUSY */) {
        t->tls.w->rseq_area = area;
        t->rseq_sig = RSEQ_SIG_GLIBC;
      } else {
        LOG(LOG_WARN, "warning: rseq area registered with an unknown signature: sections not emulated\n");
      }
      return;
    }
  }
}

/* The section at pc: start <= pc < post. */
static const struct rseq_sec *rseq_find(uint64_t pc)
{
  uint32_t n = __atomic_load_n(&rseq_n, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; i++)
    if (pc >= rseq_tab[i].start && pc < rseq_tab[i].post) return &rseq_tab[i];
  return NULL;
}

/* The section of descriptor d, if the kernel would accept it from a thread
** with signature sig (it kills a thread whose armed descriptor fails these
** checks); [lo, hi) bounds its ips and maxlen its length. 0 if not. */
static int rseq_valid(const struct rseq_desc *d, uint32_t sig, uint64_t lo, uint64_t hi, uint64_t maxlen)
{
  uint64_t post = d->start_ip + d->post_commit_offset;
  uint32_t at;
  return !d->version && d->flags < 8 && d->post_commit_offset && d->post_commit_offset <= maxlen &&
         post > d->start_ip && d->start_ip >= lo && post <= hi && d->abort_ip >= lo + 4 &&
         d->abort_ip < hi && d->abort_ip - d->start_ip >= d->post_commit_offset &&
         !arch_copy_in(&at, d->abort_ip - 4, 4) && at == sig;
}

/* Add d's section (valid) if it is new; 1 if it was. The blocks already
** translated from it committed unchecked: flushed by the caller. */
static int rseq_add(const struct rseq_desc *d, uint32_t sig)
{
  uint64_t post = d->start_ip + d->post_commit_offset;
  int added = 0;
  lock_acquire(&rseq_lk);
  uint32_t i;
  for (i = 0; i < rseq_n; i++)
    if (rseq_tab[i].start == d->start_ip && rseq_tab[i].post == post && rseq_tab[i].abort == d->abort_ip)
      break;
  if (i == rseq_n && rseq_n < RSEQ_MAX) {
    rseq_tab[rseq_n] = (struct rseq_sec){ d->start_ip, post, d->abort_ip, sig };
    __atomic_store_n(&rseq_n, rseq_n + 1, __ATOMIC_RELEASE);
    added = 1;
    LOG(LOG_DEBUG, "rseq section 0x%lx-0x%lx abort 0x%lx\n", (unsigned long)d->start_ip,
        (unsigned long)post, (unsigned long)d->abort_ip);
  } else if (i == rseq_n) {
    static int warned;
    if (!warned++) LOG(LOG_WARN, "warning: more than %d rseq critical sections: the rest are not emulated\n", RSEQ_MAX);
  }
  lock_release(&rseq_lk);
  return added;
}

void rseq_discover(struct lurk_thread *t)
{
  if (!rseq_adopted) { /* the first translation is the first thread's */
    rseq_adopted = 1;
    rseq_adopt(t);
  }
  uint64_t area = t->tls.rseq_area, cs = 0;
  if (!area || arch_copy_in(&cs, area + 8, 8) || !cs || cs == t->rseq_last) return;
  t->rseq_last = cs;
  if (cache_holds(cs)) return; /* lurk's own, armed around a commit */
  struct rseq_desc d;
  if (arch_copy_in(&d, cs, sizeof d) || !rseq_valid(&d, t->rseq_sig, 0, 1ull << 47, ~0ull)) return;
  if (rseq_add(&d, t->rseq_sig)) cache_flush_range(d.start_ip, d.start_ip + d.post_commit_offset);
}

/* Scan module m's memory (once) for descriptors of its own code: the
** 32-byte-aligned ones (the struct's alignment) that the kernel would
** accept, sections of at most RSEQ_POST_MAX bytes. A section whose
** descriptor was never armed during a translation (a one-block section run
** once) is known from here when a signal finds the thread inside it. */
static void rseq_scan(const struct mod_info *m, uint32_t sig)
{
  lock_acquire(&rseq_lk);
  for (uint32_t i = 0; i < rseq_nmods; i++)
    if (rseq_mods[i] == m) { lock_release(&rseq_lk); return; }
  if (rseq_nmods == RSEQ_MODS) { lock_release(&rseq_lk); return; }
  rseq_mods[rseq_nmods++] = m;
  lock_release(&rseq_lk);
  static uint8_t page[4096] __attribute__((aligned(32))); /* (under the lock above: one scanner a module) */
  static struct lurk_lock page_lk = LOCK_INIT;
  lock_acquire(&page_lk);
  for (uint64_t pg = m->base & ~4095ull; pg < m->end; pg += 4096) {
    if (arch_copy_in(page, pg, sizeof page)) continue;
    for (unsigned o = 0; o < sizeof page; o += 32) {
      const struct rseq_desc *d = (const void *)(page + o);
      if (d->version || !d->post_commit_offset || d->post_commit_offset > RSEQ_POST_MAX) continue;
      if (!rseq_valid(d, sig, m->base, m->end, RSEQ_POST_MAX)) continue;
      struct rseq_desc c = *d;
      if (rseq_add(&c, sig)) cache_flush_request(c.start_ip, c.start_ip + c.post_commit_offset);
    }
  }
  lock_release(&page_lk);
}

const struct rseq_sec *rseq_commit_at(uint64_t pc, uint64_t next)
{
  const struct rseq_sec *s = rseq_find(pc);
  return s && s->post == next ? s : NULL;
}

void rseq_signal(struct lurk_thread *t)
{
  if (!t->tls.rseq_area) return;
  const struct rseq_sec *s = rseq_find(t->tls.mctx.rip);
  if (!s) {
    const struct mod_info *m = mod_find(t->tls.mctx.rip);
    if (m) rseq_scan(m, t->rseq_sig);
    s = rseq_find(t->tls.mctx.rip);
  }
  if (!s) return;
  uint64_t zero = 0;
  t->tls.mctx.rip = s->abort;
  arch_copy_out(t->tls.rseq_area + 8, &zero, 8); /* as the kernel's abort */
}
