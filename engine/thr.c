/* lurk: engine thread blocks. */
#include <sys/mman.h>
#include "thr.h"
#include "log.h"
#include "mem.h"
#include "../arch/x86_64/syscall.h"

#define THR_STACK (256u << 10)

struct lurk_thread *thr_list;

/* A thread block and engine stack (with a guard page below it). */
struct lurk_thread *thr_new(void)
{
  struct lurk_thread *t = mem_map(sizeof *t, PROT_READ | PROT_WRITE);
  uint8_t *stk = mem_map(THR_STACK + 4096, PROT_READ | PROT_WRITE);
  if (!t || !stk) log_fatal("cannot map a thread block");
  sys_mprotect(stk, 4096, PROT_NONE);
  t->stack = stk;
  t->stack_size = THR_STACK + 4096;
  t->tid = (int)sys_gettid();
  arch_tls_init(&t->tls, stk + t->stack_size);
  t->next = thr_list;
  thr_list = t;
  return t;
}

void thr_ibl_table_changed(void)
{
  for (struct lurk_thread *t = thr_list; t; t = t->next)
    cache_ibl_table(&t->tls.ibl_table, &t->tls.ibl_mask);
}
