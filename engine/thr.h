/* lurk: engine threads. Each app thread has one block, reached through the
** gs base; its first member is the arch's layout used by generated code. */
#ifndef LURK_THR_H
#define LURK_THR_H
#include "lurk.h"
#include "../arch/arch.h"

struct lurk_thread {
  struct arch_tls tls;      /* first: gs base points here */
  uint64_t app_gs_base;     /* gs base the app believes it has */
  int tid;
  uint8_t *stack;           /* engine stack mapping */
  size_t stack_size;
  struct lurk_thread *next;
};

extern struct lurk_thread *thr_list;

struct lurk_thread *thr_new(void);
static inline struct lurk_thread *thr_of(struct arch_tls *t) { return (struct lurk_thread *)t; }
/* The indirect-branch table moved: update every thread's copy. */
void thr_ibl_table_changed(void);

#endif
