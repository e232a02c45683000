/* lurk: the dispatcher.
** Entered when a block exits through an unlinked stub, a syscall, or an
** indirect-branch lookup miss. Finds or builds the next block, links the
** exit to it (or records the lookup), and resumes.
*/
#include "disp.h"
#include "cache.h"
#include "log.h"
#include "scall.h"

void disp_dispatch(struct arch_tls *tls)
{
  struct lurk_thread *t = thr_of(tls);
  uint32_t id = (uint32_t)tls->exit_id;
  struct cache_exit *e = NULL;
  uint64_t target;
  stats.disp_entries++;
  if (id == EXIT_IBL) {
    target = tls->ibl_target;
    stats.ibl_misses++;
  } else {
    e = cache_exit_get(id);
    if (e->kind == CACHE_EXIT_SYSCALL) {
      tls->mctx.rip = e->target;
      scall_handle(t);
      target = tls->mctx.rip;
      e = NULL;
    } else {
      target = e->target;
    }
  }
  struct cache_block *b = cache_get(target);
  if (e) cache_link(e, b);
  else if (id == EXIT_IBL) cache_ibl_insert(target, b->cpc);
  tls->mctx.rip = target;
  tls->jmp_target = (uint64_t)b->cpc;
}

void disp_start(struct lurk_thread *t, uint64_t pc)
{
  struct cache_block *b = cache_get(pc);
  t->tls.mctx.rip = pc;
  t->tls.jmp_target = (uint64_t)b->cpc;
  arch_resume(&t->tls);
}
