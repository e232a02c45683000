/* lurk: engine thread blocks.
** A block (struct lurk_thread) and its stacks are mapped once and reused:
** an exiting thread cannot unmap the stack it runs on, so it marks itself
** done with its last store (lurk_thread_exit) and a later thread_alloc
** takes the block over. All signals are blocked from the moment a thread
** leaves the live list, so no handler runs on a block marked done.
*/
#include <sys/mman.h>
#include "thr.h"
#include "cache.h"
#include "disp.h"
#include "lock.h"
#include "log.h"
#include "mem.h"
#include "scall.h"
#include "prof.h"
#include "sig.h"
#include "../arch/x86_64/syscall.h"
#include "../bindings/lb.h"

#define THR_STACK (256u << 10)
#define THR_SIGSTACK (64u << 10)

struct lurk_thread *thr_list;           /* live threads */
static struct lurk_thread *thr_reuse;   /* exited (or exiting) threads */
static struct lurk_lock thr_lk = LOCK_INIT;
static int thr_live;
/* Threads that share this address space's Lua state, counted from before
** the clone (thr_alloc) until the thread is gone, so that a thread which
** sees 1 knows no other can be running a handler (thr_alone). */
static int thr_users = 1;

extern LURK_NORETURN void lurk_thread_exit(int *done, int status);

void thr_lock(void) { lock_acquire(&thr_lk); }
void thr_unlock(void) { lock_release(&thr_lk); }

/* Map a fresh block and its stacks: guard page, engine stack, signal stack. */
static struct lurk_thread *thr_map(void)
{
  struct lurk_thread *t = mem_map(sizeof *t, PROT_READ | PROT_WRITE);
  size_t size = 4096 + THR_STACK + THR_SIGSTACK;
  uint8_t *stk = mem_map(size, PROT_READ | PROT_WRITE);
  if (!t || !stk) log_fatal("cannot map a thread block");
  arch_tls_map(&t->tls);
  sys_mprotect(stk, 4096, PROT_NONE);
  t->stack = stk;
  t->stack_size = size;
  return t;
}

/* Prepare t's engine-side state (the arch part, queues, counters). */
static void thr_init(struct lurk_thread *t)
{
  uint8_t *stk = t->stack;
  size_t size = t->stack_size;
  struct wrap_call *wc = t->wrap.c; /* a reused block keeps its wrap stack's memory */
  uint32_t wcap = t->wrap.cap;
  /* Clear everything after the arch block's xsave area, which arch_tls_init
  ** refills; the struct is large (xsave + queue), so clear field by field. */
  lurk_memset((uint8_t *)t + sizeof t->tls, 0, sizeof *t - sizeof t->tls);
  t->stack = stk;
  t->stack_size = size;
  t->wrap.c = wc;
  t->wrap.cap = wcap;
  arch_tls_init(&t->tls, stk + 4096 + THR_STACK);
  t->app_ss.flags = 2; /* SS_DISABLE */
}

struct lurk_thread *thr_alloc(void)
{
  struct lurk_thread *t = NULL;
  thr_lock();
  for (struct lurk_thread **pp = &thr_reuse; *pp; pp = &(*pp)->next)
    if (__atomic_load_n(&(*pp)->done, __ATOMIC_ACQUIRE)) {
      t = *pp;
      *pp = t->next;
      break;
    }
  thr_users++;
  thr_unlock();
  if (!t) t = thr_map();
  thr_init(t);
  return t;
}

int thr_alone(void) { return __atomic_load_n(&thr_users, __ATOMIC_ACQUIRE) == 1; }

void thr_release(struct lurk_thread *t)
{
  t->done = 1;
  thr_lock();
  thr_users--;
  t->next = thr_reuse;
  thr_reuse = t;
  thr_unlock();
}

/* Link t into the live list (with the current lookup table: it may have
** grown since t's block was set up). */
static void thr_add(struct lurk_thread *t)
{
  thr_lock();
  cache_ibl_table(&t->tls);
  t->next = thr_list;
  thr_list = t;
  thr_live++;
  thr_unlock();
}

void thr_forget(struct lurk_thread *t)
{
  thr_lock();
  struct lurk_thread **pp = &thr_list;
  while (*pp && *pp != t) pp = &(*pp)->next;
  if (*pp) { /* still listed: it exec'd or exit_group'ed (SYS_exit unlists itself) */
    *pp = t->next;
    thr_live--;
    thr_users--;
    t->done = 1;
    t->next = thr_reuse;
    thr_reuse = t;
  }
  thr_unlock();
}

void thr_unlist_locked(struct lurk_thread *t)
{
  /* (thr_users stays: counting a thread too many is only slower) */
  thr_live--;
  t->done = 1;
  t->next = thr_reuse;
  thr_reuse = t;
}

struct lurk_thread *thr_main(void)
{
  struct lurk_thread *t = thr_map();
  thr_init(t);
  t->tid = (int)sys_gettid();
  arch_tls_install(&t->tls);
  sig_thread_start(t);
  thr_add(t);
  prof_thread_start(t);
  return t;
}

struct lurk_thread *thr_adopt(void)
{
  static int adopted;
  struct lurk_thread *t = thr_map();
  thr_init(t);
  t->tid = (int)sys_gettid();
  /* The thread may have a signal stack of its own: it is the app's now. */
  sys_call2(SYS_sigaltstack, 0, &t->app_ss);
  arch_tls_install(&t->tls);
  if (t->app_ss.flags & 1 /* SS_ONSTACK: in a handler on it; it stays */)
    LOG(LOG_WARN, "thread %d is on its signal stack: lurk's handler shares it\n", t->tid);
  else
    sig_thread_start(t);
  thr_add(t);
  /* thr_users starts at 1 for the first thread (as thr_main's). */
  thr_lock();
  if (adopted++) thr_users++;
  thr_unlock();
  prof_thread_start(t);
  return t;
}

void thr_child_start(struct lurk_thread *t)
{
  arch_tls_install(&t->tls);
  t->tid = (int)sys_gettid();
  sig_thread_start(t);
  thr_add(t);
  if (t->clone_flags & 0x100000000ull /* CLONE_CLEAR_SIGHAND */) sig_clear_handlers();
  /* The creator blocked every signal around the clone; restore the app's. */
  prof_thread_start(t);
  sys_call4(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, &t->start_mask, 0, 8);
  lb_event_thread_init(t->tid);
  disp_resume_new(t);
}

void thr_exit(struct lurk_thread *t, int status)
{
  lb_event_thread_exit(t->tid);
  uint64_t all = ~0ull;
  sys_call4(SYS_rt_sigprocmask, 2, &all, 0, 8);
  prof_thread_exit(t);
  thr_lock();
  struct lurk_thread **pp = &thr_list;
  while (*pp && *pp != t) pp = &(*pp)->next;
  if (*pp) *pp = t->next;
  int last = --thr_live == 0;
  __atomic_store_n(&thr_users, thr_users - 1, __ATOMIC_RELEASE);
  t->done = 0;
  t->next = thr_reuse;
  thr_reuse = t;
  thr_unlock();
  if (last) scall_on_exit(status);
  lurk_thread_exit(&t->done, status);
}

void thr_after_fork(struct lurk_thread *t)
{
  lock_reset(&thr_lk);
  t->tid = (int)sys_gettid();
  t->next = NULL;
  thr_list = t;
  thr_live = 1;
  thr_users = 1;
  /* Blocks of threads that do not exist in the child are not reused: a
  ** stale reuse entry may be mid-exit in the parent's copy. Leaked. */
  thr_reuse = NULL;
  t->sigq_head = t->sigq_tail = 0;
  t->tls.w->sig_pending = 0;
}

void thr_ibl_table_changed(void)
{
  thr_lock();
  for (struct lurk_thread *t = thr_list; t; t = t->next)
    cache_ibl_table(&t->tls);
  thr_unlock();
}

uint64_t thr_ibl_count(void)
{
  uint64_t n = 0;
  for (struct lurk_thread *t = thr_list; t; t = t->next) n += t->tls.ibl_count;
  return n;
}
