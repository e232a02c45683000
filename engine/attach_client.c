/* lurk: lurk attach PID, the launcher's side (attach.h). An ordinary
** program: libc, ptrace. The steps, in order:
**   1. seize every thread (PTRACE_SEIZE with TRACECLONE, so threads created
**      meanwhile are seized too) and interrupt them all;
**   2. unless liblurk.so is mapped already, call the process's dlopen on one
**      thread while every other thread runs on (see attach_pick and
**      docs/decisions.md: a thread stopped holding the loader's or malloc's
**      lock cannot deadlock the call);
**   3. stop them all again, block every signal in each, and call lurk_attach
**      to start the engine (ATTACH_INIT), then once in each thread
**      (ATTACH_THREAD); each thread is let go at the trap that ends its call.
** Remote calls run on the thread's own stack below its red zone; their
** return address is 0, so the call ends in a SIGSEGV stop at pc 0.
** x86-64 only (struct user_regs_struct).
*/
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "attach.h"
#include "attach_client.h"

#define AT_MAXT 4096
#define AT_ERESTARTSYS 512
#define AT_ERESTARTNOINTR 513
#define AT_ERESTARTNOHAND 514
#define AT_ERESTART_RESTARTBLOCK 516
#define AT_NR_RESTART_SYSCALL 219
/* Every signal blocked but SIGTRAP and SIGSEGV: the traps and faults that
** end lurk's calls are forced signals, and the kernel resets a blocked one
** to SIG_DFL (the program's SIGSEGV handler, lurk's SIGTRAP handler lost). */
#define AT_ALL_SIGNALS (~((1ull << (SIGTRAP - 1)) | (1ull << (SIGSEGV - 1))))

struct at_task {
  int tid;
  int stopped;          /* in a ptrace stop we know of */
  int gone;             /* exited */
  int sig;              /* a signal-delivery-stop's signal, passed on at the next resume */
  int have_regs;        /* regs read at this stop */
  int dirty;            /* its registers were set for a call: regs to put back on failure */
  int masked;           /* its signal mask was set by lurk: mask to put back on failure */
  int skip;             /* inside lurk's own code (a call lurk made before a detach): left alone */
  struct user_regs_struct regs; /* the app's state, as stopped */
  uint64_t mask;        /* the app's signal mask */
};

static struct at_task tasks[AT_MAXT];
static int ntasks;
static long at_pid;
static int at_memfd = -1;
static int at_running_others; /* step 2: a stop of a thread but the caller's is resumed */
static char at_err[512];

static int at_fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(at_err, sizeof at_err, fmt, ap);
  va_end(ap);
  return -1;
}

static struct at_task *task_find(int tid)
{
  for (int i = 0; i < ntasks; i++)
    if (tasks[i].tid == tid) return &tasks[i];
  return NULL;
}

static struct at_task *task_add(int tid)
{
  struct at_task *t = task_find(tid);
  if (t) return t;
  if (ntasks == AT_MAXT) return NULL;
  t = &tasks[ntasks++];
  memset(t, 0, sizeof *t);
  t->tid = tid;
  return t;
}

/* -- Memory of the process ----------------------------------------------------- */

static int mem_write(uint64_t addr, const void *p, size_t n)
{
  return pwrite(at_memfd, p, n, (off_t)addr) == (ssize_t)n ? 0 : -1;
}

static int mem_read(uint64_t addr, void *p, size_t n)
{
  return pread(at_memfd, p, n, (off_t)addr) == (ssize_t)n ? 0 : -1;
}

/* -- Maps and symbols ---------------------------------------------------------- */

struct at_map { uint64_t lo, hi, off; char perm[5]; char path[512]; };
static struct at_map maps[8192];
static int nmaps;

static int maps_read(void)
{
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%ld/maps", at_pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  nmaps = 0;
  while (fgets(line, sizeof line, f) && nmaps < 8192) {
    struct at_map *m = &maps[nmaps];
    int pos = 0;
    m->path[0] = 0;
    if (sscanf(line, "%lx-%lx %4s %lx %*s %*s %n", &m->lo, &m->hi, m->perm, &m->off, &pos) < 4) continue;
    if (pos) {
      snprintf(m->path, sizeof m->path, "%s", line + pos);
      m->path[strcspn(m->path, "\n")] = 0;
    }
    nmaps++;
  }
  fclose(f);
  return 0;
}

/* The mapping of a file whose name ends in suffix ("/libc.so.6"); its load
** base (the start of its offset-0 mapping) in *base. */
static const struct at_map *maps_lib(const char *suffix, uint64_t *base)
{
  size_t sl = strlen(suffix);
  for (int i = 0; i < nmaps; i++) {
    size_t pl = strlen(maps[i].path);
    if (pl >= sl && !strcmp(maps[i].path + pl - sl, suffix) && maps[i].off == 0) {
      *base = maps[i].lo;
      return &maps[i];
    }
  }
  return NULL;
}

/* Is addr in an executable mapping of the file at path? */
static int maps_in(uint64_t addr, const char *path)
{
  for (int i = 0; i < nmaps; i++)
    if (addr >= maps[i].lo && addr < maps[i].hi && !strcmp(maps[i].path, path)) return 1;
  return 0;
}

/* The value of a dynamic symbol of the ELF file at path (seen from the
** process's root), or 0. */
static uint64_t elf_sym(const char *path, const char *name)
{
  char full[1100];
  snprintf(full, sizeof full, "/proc/%ld/root%s", at_pid, path);
  int fd = open(full, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  uint64_t val = 0;
  if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(Elf64_Ehdr)) {
    uint8_t *f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (f != MAP_FAILED) {
      size_t size = (size_t)st.st_size;
      Elf64_Ehdr *eh = (Elf64_Ehdr *)f;
      if (!memcmp(eh->e_ident, ELFMAG, SELFMAG) && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
          eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) <= size) {
        Elf64_Shdr *sh = (Elf64_Shdr *)(f + eh->e_shoff);
        for (int i = 0; i < eh->e_shnum && !val; i++) {
          if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum) continue;
          Elf64_Shdr *strs = &sh[sh[i].sh_link];
          if (sh[i].sh_offset + sh[i].sh_size > size || strs->sh_offset + strs->sh_size > size) continue;
          Elf64_Sym *sym = (Elf64_Sym *)(f + sh[i].sh_offset);
          size_t n = sh[i].sh_size / sizeof *sym;
          for (size_t k = 0; k < n; k++) {
            if (sym[k].st_name >= strs->sh_size || sym[k].st_shndx == SHN_UNDEF) continue;
            if (!strcmp((char *)f + strs->sh_offset + sym[k].st_name, name)) { val = sym[k].st_value; break; }
          }
        }
      }
      munmap(f, size);
    }
  }
  close(fd);
  return val;
}

/* -- Stops ------------------------------------------------------------------- */

static int resume(struct at_task *t, int req)
{
  int sig = t->sig;
  t->sig = 0;
  t->stopped = 0;
  if (ptrace(req, t->tid, 0, (void *)(long)sig) != 0) {
    if (errno == ESRCH) { t->gone = 1; return 0; }
    return at_fail("ptrace resume of thread %d: %s", t->tid, strerror(errno));
  }
  return 0;
}

/* Wait for one stop or exit of any thread and book it. Returns the task
** (NULL: an exit, or a task lurk does not know, already handled); -1 in
** *err if the process is gone or waiting failed. */
static struct at_task *wait_one(int *status, int *err)
{
  int st;
  *err = 0;
  pid_t tid = waitpid(-1, &st, __WALL);
  if (tid < 0) {
    if (errno == EINTR) return NULL;
    *err = at_fail("waitpid: %s", strerror(errno));
    return NULL;
  }
  struct at_task *t = task_find(tid);
  if (WIFEXITED(st) || WIFSIGNALED(st)) {
    if (t) { t->gone = 1; t->stopped = 0; }
    if (tid == at_pid) *err = at_fail("the process ended during the attach");
    return NULL;
  }
  if (!t) t = task_add(tid); /* a new thread's first stop, before its creator's event */
  if (!t) { *err = at_fail("too many threads"); return NULL; }
  t->stopped = 1;
  t->have_regs = 0;
  *status = st;
  int ev = st >> 16;
  if (ev == PTRACE_EVENT_CLONE) {
    /* The creator stops inside its clone call: no state to work from. It
    ** goes on at once (an interrupt still pending stops it again after). */
    unsigned long child = 0;
    ptrace(PTRACE_GETEVENTMSG, tid, 0, &child);
    if (child && !task_add((int)child)) *err = at_fail("too many threads");
    if (resume(t, PTRACE_CONT)) *err = -1;
    return t;
  } else if (ev == 0 && WIFSTOPPED(st)) {
    t->sig = WSTOPSIG(st); /* a signal on its way: passed on when the thread goes on */
  }
  /* While the other threads run (step 2), every stop but the caller's is
  ** let go at once. */
  if (at_running_others && at_running_others != tid && resume(t, PTRACE_CONT)) *err = -1;
  return t;
}

/* Why could tid not be seized? 1: traced by this process already (made by
** a seized thread), 2: ending (a zombie, or gone), 0: refused. */
static int seize_refused_why(int tid)
{
  char path[80], line[256];
  snprintf(path, sizeof path, "/proc/%ld/task/%d/status", at_pid, tid);
  FILE *f = fopen(path, "r");
  if (!f) return 2;
  int r = 0;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "State:", 6) && (strchr(line, 'Z') || strchr(line, 'X'))) r = 2;
    if (!strncmp(line, "TracerPid:", 10) && atoi(line + 10) == (int)getpid()) r = 1;
  }
  fclose(f);
  return r;
}

/* Seize every thread of the process, then interrupt each. */
static int seize_all(void)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/task", at_pid);
  for (int round = 0, added = 1; added && round < 100; round++) {
    added = 0;
    DIR *d = opendir(path);
    if (!d) return at_fail("no process %ld", at_pid);
    struct dirent *e;
    while ((e = readdir(d))) {
      int tid = atoi(e->d_name);
      if (tid <= 0 || task_find(tid)) continue;
      if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)PTRACE_O_TRACECLONE) != 0) {
        int er = errno;
        if (er == ESRCH) continue; /* gone meanwhile */
        int why = er == EPERM && ntasks ? seize_refused_why(tid) : 0;
        if (why == 2) continue; /* ending */
        if (why == 1) { /* made by a seized thread: seized with it */
          if (!task_add(tid)) { closedir(d); return at_fail("too many threads"); }
          added = 1;
          continue;
        }
        closedir(d);
        errno = er;
        return -2;
      }
      if (!task_add(tid)) { closedir(d); return at_fail("too many threads"); }
      added = 1;
    }
    closedir(d);
  }
  return 0;
}

/* Interrupt every thread not stopped and wait until all are. */
static int stop_all(void)
{
  for (int i = 0; i < ntasks; i++)
    if (!tasks[i].gone && !tasks[i].stopped) ptrace(PTRACE_INTERRUPT, tasks[i].tid, 0, 0);
  for (;;) {
    int left = 0;
    for (int i = 0; i < ntasks; i++) {
      struct at_task *t = &tasks[i];
      if (t->gone || t->stopped) continue;
      left++;
      /* a thread that appeared after the interrupts went out */
      ptrace(PTRACE_INTERRUPT, t->tid, 0, 0);
    }
    if (!left) return 0;
    int st, err;
    wait_one(&st, &err);
    if (err) return -1;
  }
}

static int task_regs(struct at_task *t)
{
  if (t->have_regs) return 0;
  if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->regs) != 0) return at_fail("GETREGS %d: %s", t->tid, strerror(errno));
  t->have_regs = 1;
  return 0;
}

/* Is t stopped inside a system call (interrupted, to be restarted)? */
static int in_syscall(const struct user_regs_struct *r)
{
  long ax = (long)r->rax;
  return (long)r->orig_rax >= 0 && (ax == -AT_ERESTARTSYS || ax == -AT_ERESTARTNOINTR ||
                                    ax == -AT_ERESTARTNOHAND || ax == -AT_ERESTART_RESTARTBLOCK);
}

/* The state a thread goes on from, with the kernel's restart rules applied
** to a call it was stopped in: the syscall instruction runs again. */
static void restart_rewrite(struct user_regs_struct *r)
{
  if (!in_syscall(r)) return;
  r->rax = -(long)r->rax == AT_ERESTART_RESTARTBLOCK ? AT_NR_RESTART_SYSCALL : r->orig_rax;
  r->rip -= 2;
}

/* -- Remote calls -------------------------------------------------------------- */

/* Wait for t's next stop (the others' stops are booked or let go). */
static int wait_task(struct at_task *t, int *status)
{
  for (;;) {
    int st = 0, err;
    struct at_task *s = wait_one(&st, &err);
    if (err) return -1;
    if (t->gone) return at_fail("thread %d ended during the attach", t->tid);
    if (s == t) { *status = st; return 0; }
  }
}

/* Run t from regs r until it stops with signal want (SIGSEGV at pc 0 for
** a call, SIGTRAP for a trap or a step); its registers then in *out. Clone
** events on the way are passed over. */
static int run_until(struct at_task *t, struct user_regs_struct *r, int req, int want,
                     struct user_regs_struct *out)
{
  if (ptrace(PTRACE_SETREGS, t->tid, 0, r) != 0) return at_fail("SETREGS %d: %s", t->tid, strerror(errno));
  t->dirty = 1;
  if (resume(t, req)) return -1;
  for (;;) {
    int st = 0;
    if (wait_task(t, &st)) return -1;
    if ((st >> 16) == PTRACE_EVENT_CLONE) continue; /* wait_one let it go on */
    if ((st >> 16) == PTRACE_EVENT_STOP) {
      /* A group stop (SIGSTOP to the process) or an interrupt that was
      ** still pending: go on; a step that was made before it is done. */
      if (req == PTRACE_SINGLESTEP) {
        if (ptrace(PTRACE_GETREGS, t->tid, 0, out) != 0) return at_fail("GETREGS %d: %s", t->tid, strerror(errno));
        if (out->rip != r->rip) return 0;
      }
      if (resume(t, req)) return -1;
      continue;
    }
    if (ptrace(PTRACE_GETREGS, t->tid, 0, out) != 0) return at_fail("GETREGS %d: %s", t->tid, strerror(errno));
    if (WSTOPSIG(st) == want) { t->sig = 0; return 0; }
    if (WSTOPSIG(st) == SIGSEGV || WSTOPSIG(st) == SIGBUS || WSTOPSIG(st) == SIGILL || WSTOPSIG(st) == SIGTRAP) {
      t->sig = 0; /* lurk's call faulted, not the program */
      return at_fail("thread %d faulted (signal %d at 0x%llx) in a call lurk made", t->tid, WSTOPSIG(st),
                     (unsigned long long)out->rip);
    }
    /* Another signal (every one is blocked in t: only a kill): keep it. */
    if (resume(t, req)) return -1;
  }
}

/* Run the engine's entry in t with rdi = arg, on t's stack below its red
** zone (no system call to restart), until it traps back; its registers then. */
static int run_entry(struct at_task *t, uint64_t entry, uint64_t arg, struct user_regs_struct *out)
{
  struct user_regs_struct rr = t->regs;
  rr.rsp = (rr.rsp - 256) & ~15ull;
  rr.rip = entry;
  rr.rdi = arg;
  rr.orig_rax = (unsigned long)-1;
  return run_until(t, &rr, PTRACE_CONT, SIGTRAP, out);
}

/* Call fn(a0, a1, a2) in thread t (stopped); the result in *ret. */
static int remote_call(struct at_task *t, uint64_t fn, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t *ret)
{
  struct user_regs_struct r = t->regs, out;
  uint64_t sp = ((r.rsp - 256) & ~15ull) - 8, zero = 0;
  if (mem_write(sp, &zero, 8)) return at_fail("cannot write the stack of thread %d", t->tid);
  r.rsp = sp;
  r.rip = fn;
  r.rdi = a0;
  r.rsi = a1;
  r.rdx = a2;
  r.rax = 0;
  r.orig_rax = (unsigned long)-1; /* no syscall restart on the way */
  if (run_until(t, &r, PTRACE_CONT, SIGSEGV, &out)) return -1;
  if (out.rip != 0) return at_fail("thread %d faulted at 0x%llx in a call lurk made", t->tid, (unsigned long long)out.rip);
  *ret = out.rax;
  return 0;
}

static uint64_t at_syscall_insn;

/* A system call in thread t (stopped), by a single step over a syscall
** instruction of the process's libc. */
static int remote_syscall(struct at_task *t, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                          uint64_t a4, uint64_t a5, long *ret)
{
  struct user_regs_struct r = t->regs, out;
  r.rip = at_syscall_insn;
  r.rax = (unsigned long)nr;
  r.orig_rax = (unsigned long)-1;
  r.rdi = a0; r.rsi = a1; r.rdx = a2; r.r10 = a3; r.r8 = a4; r.r9 = a5;
  if (run_until(t, &r, PTRACE_SINGLESTEP, SIGTRAP, &out)) return -1;
  if (out.rip != at_syscall_insn + 2) return at_fail("remote system call %ld did not complete", nr);
  *ret = (long)out.rax;
  return 0;
}

/* A syscall instruction (0f 05) in the process's libc text. */
static int find_syscall_insn(const char *libc)
{
  for (int i = 0; i < nmaps; i++) {
    if (strcmp(maps[i].path, libc) || maps[i].perm[2] != 'x') continue;
    size_t n = maps[i].hi - maps[i].lo;
    if (n > (1u << 20)) n = 1u << 20;
    uint8_t *buf = malloc(n);
    if (buf && !mem_read(maps[i].lo, buf, n)) {
      uint8_t *p = memmem(buf, n, "\x0f\x05", 2);
      if (p) at_syscall_insn = maps[i].lo + (uint64_t)(p - buf);
    }
    free(buf);
    if (at_syscall_insn) return 0;
  }
  return at_fail("no syscall instruction found in %s", libc);
}

/* -- Choosing the thread that calls dlopen ---------------------------------------- */

/* Could t be inside malloc or the loader, holding their locks? Not if it
** waits in a system call malloc does not make, nor if it runs outside libc
** and ld.so. (Another thread holding a lock does not matter: they all run
** during the call.) */
static int pick_safe(struct at_task *t, const char *libc, const char *ldso)
{
  const struct user_regs_struct *r = &t->regs;
  if (in_syscall(r) || (long)r->orig_rax >= 0) {
    switch ((long)r->orig_rax) {
    case SYS_brk: case SYS_mmap: case SYS_munmap: case SYS_mremap: case SYS_mprotect: case SYS_madvise:
      return 0;
    default:
      return 1;
    }
  }
  return !maps_in(r->rip, libc) && !(ldso && maps_in(r->rip, ldso));
}

static struct at_task *attach_pick(const char *libc, const char *ldso)
{
  for (int tries = 0; tries < 50; tries++) {
    struct at_task *main_t = NULL;
    for (int i = 0; i < ntasks; i++) {
      struct at_task *t = &tasks[i];
      if (t->gone || t->skip) continue;
      if (t->tid == at_pid) main_t = t;
      if (pick_safe(t, libc, ldso)) return t;
    }
    /* All are inside libc: let them run a millisecond and look again. */
    for (int i = 0; i < ntasks; i++)
      if (!tasks[i].gone && tasks[i].stopped && resume(&tasks[i], PTRACE_CONT)) return NULL;
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
    if (stop_all()) return NULL;
    for (int i = 0; i < ntasks; i++)
      if (!tasks[i].gone && task_regs(&tasks[i])) return NULL;
    if (tries == 49) return main_t ? main_t : &tasks[0];
  }
  return NULL;
}

/* -- The attach ------------------------------------------------------------------ */

static int set_mask(struct at_task *t, uint64_t m)
{
  if (ptrace(PTRACE_SETSIGMASK, t->tid, (void *)8, &m) != 0)
    return at_fail("SETSIGMASK %d: %s", t->tid, strerror(errno));
  t->masked = m != t->mask;
  return 0;
}

/* The vector state of the thread the calls ran on, to put back. */
static uint8_t at_xstate[1 << 15];
static struct iovec at_x_io = { at_xstate, sizeof at_xstate };
static int at_x_tid;

/* Leave every thread as it was and let the process go (on failure). */
static void release_all(void)
{
  if (stop_all()) { /* the process has ended, or waiting failed: lurk's exit detaches the rest */ }
  for (int i = 0; i < ntasks; i++) {
    struct at_task *t = &tasks[i];
    if (t->gone || !t->stopped) continue;
    if (t->dirty) ptrace(PTRACE_SETREGS, t->tid, 0, &t->regs);
    if (t->tid == at_x_tid) ptrace(PTRACE_SETREGSET, t->tid, (void *)NT_X86_XSTATE, &at_x_io);
    if (t->masked) ptrace(PTRACE_SETSIGMASK, t->tid, (void *)8, &t->mask);
    ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->sig);
  }
}

static int64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Attaching again soon after a detach: a thread inside liblurk.so that
** is not waiting in a system call is on its way out of the code cache
** (between its park point and the app's code). Let every thread run a
** millisecond at a time until none is, so that it is taken over again
** from the app's code (at most 100 times; one left so stays native). */
static int settle_leaving(const char *lurk_path)
{
  for (int tries = 0; tries < 100; tries++) {
    int leaving = 0;
    for (int i = 0; i < ntasks; i++)
      if (!tasks[i].gone && maps_in(tasks[i].regs.rip, lurk_path) && !in_syscall(&tasks[i].regs)) leaving++;
    if (!leaving) return 0;
    for (int i = 0; i < ntasks; i++)
      if (!tasks[i].gone && tasks[i].stopped && resume(&tasks[i], PTRACE_CONT)) return -1;
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
    if (stop_all()) return -1;
    for (int i = 0; i < ntasks; i++) {
      struct at_task *t = &tasks[i];
      if (t->gone) continue;
      if (task_regs(t)) return -1;
      if (ptrace(PTRACE_GETSIGMASK, t->tid, (void *)8, &t->mask) != 0) return at_fail("GETSIGMASK %d", t->tid);
    }
  }
  return 0;
}

/* Steps 2 and 3 (the threads are seized and stopped). */
static int attach_steps(const char *lib, const char *opts, int *nthreads, int *nkept)
{
  if (maps_read()) return at_fail("cannot read /proc/%ld/maps", at_pid);
  uint64_t libc_base = 0, ld_base = 0, lurk_base = 0;
  const struct at_map *libc = maps_lib("/libc.so.6", &libc_base);
  if (!libc) return at_fail("process %ld has no libc.so.6 mapped (a static program?): lurk attach needs "
                            "the process's dlopen", at_pid);
  char libc_path[512], ld_path[512];
  snprintf(libc_path, sizeof libc_path, "%s", libc->path);
  const struct at_map *ld = maps_lib("/ld-linux-x86-64.so.2", &ld_base);
  snprintf(ld_path, sizeof ld_path, "%s", ld ? ld->path : "");
  const struct at_map *mine = maps_lib("/liblurk.so", &lurk_base);
  char lurk_path[512];
  snprintf(lurk_path, sizeof lurk_path, "%s", mine ? mine->path : lib);
  if (find_syscall_insn(libc_path)) return -1;
  for (int i = 0; i < ntasks; i++) {
    struct at_task *t = &tasks[i];
    if (t->gone) continue;
    if (task_regs(t)) return -1;
    if (ptrace(PTRACE_GETSIGMASK, t->tid, (void *)8, &t->mask) != 0) return at_fail("GETSIGMASK %d: %s", t->tid, strerror(errno));
  }
  if (mine && settle_leaving(lurk_path)) return -1;
  struct at_task *t0 = attach_pick(libc_path, ld_path[0] ? ld_path : NULL);
  if (!t0) return -1;
  uint64_t t0_mask = t0->mask;
  if (set_mask(t0, AT_ALL_SIGNALS)) return -1;
  /* t0's vector state: the calls below may change it. */
  if (ptrace(PTRACE_GETREGSET, t0->tid, (void *)NT_X86_XSTATE, &at_x_io) == 0) at_x_tid = t0->tid;
  long r;
  /* Memory for the strings: the library's path and the options. */
  size_t slen = strlen(lurk_path) + 1 + strlen(opts) + 1;
  size_t ssize = (slen + 4095) & ~4095ul;
  if (remote_syscall(t0, SYS_mmap, 0, ssize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0, &r))
    return -1;
  if (r < 0 && r > -4096) return at_fail("mmap in the process: %s", strerror((int)-r));
  uint64_t strs = (uint64_t)r;
  if (mem_write(strs, lurk_path, strlen(lurk_path) + 1) ||
      mem_write(strs + strlen(lurk_path) + 1, opts, strlen(opts) + 1))
    return at_fail("cannot write into the process's memory");
  if (!mine) {
    uint64_t f_dlopen = elf_sym(libc_path, "dlopen"), f_errno = elf_sym(libc_path, "__errno_location");
    uint64_t f_dlerror = elf_sym(libc_path, "dlerror");
    if (!f_dlopen) f_dlopen = elf_sym(libc_path, "__libc_dlopen_mode"); /* glibc before 2.34 */
    if (!f_dlopen || !f_errno) return at_fail("no dlopen in %s (glibc 2.34 or later is needed)", libc_path);
    uint64_t errno_at, handle;
    int32_t saved_errno = 0;
    if (remote_call(t0, libc_base + f_errno, 0, 0, 0, &errno_at)) return -1;
    mem_read(errno_at, &saved_errno, 4);
    /* Every other thread runs during the call: one holding the loader's or
    ** malloc's lock gives it back. */
    at_running_others = t0->tid;
    for (int i = 0; i < ntasks; i++)
      if (&tasks[i] != t0 && !tasks[i].gone && tasks[i].stopped && resume(&tasks[i], PTRACE_CONT)) return -1;
    int rc = remote_call(t0, libc_base + f_dlopen, strs, 2 /* RTLD_NOW */, 0, &handle);
    at_running_others = 0;
    if (rc) return -1;
    if (!handle) {
      char msg[256] = "unknown error";
      uint64_t m = 0;
      if (f_dlerror && !remote_call(t0, libc_base + f_dlerror, 0, 0, 0, &m) && m) {
        mem_read(m, msg, sizeof msg - 1);
        msg[sizeof msg - 1] = 0;
      }
      mem_write(errno_at, &saved_errno, 4);
      return at_fail("dlopen of %s in the process failed: %s", lurk_path, msg);
    }
    mem_write(errno_at, &saved_errno, 4);
    if (stop_all()) return -1;
    for (int i = 0; i < ntasks; i++) {
      struct at_task *t = &tasks[i];
      if (t == t0 || t->gone) continue;
      t->have_regs = 0;
      if (task_regs(t)) return -1;
      if (ptrace(PTRACE_GETSIGMASK, t->tid, (void *)8, &t->mask) != 0) return at_fail("GETSIGMASK %d", t->tid);
    }
    if (maps_read()) return at_fail("cannot read /proc/%ld/maps", at_pid);
    if (!maps_lib("/liblurk.so", &lurk_base)) return at_fail("liblurk.so is not mapped after dlopen");
  }
  uint64_t entry = elf_sym(lurk_path, "lurk_attach");
  if (!entry) return at_fail("no lurk_attach in %s", lurk_path);
  entry += lurk_base;
  /* Threads inside liblurk.so: still in a call lurk made for them before a
  ** detach; they stay lurk's when it returns. */
  for (int i = 0; i < ntasks; i++)
    if (!tasks[i].gone && &tasks[i] != t0 && maps_in(tasks[i].regs.rip, lurk_path)) tasks[i].skip = 1;
  if (maps_in(t0->regs.rip, lurk_path)) t0->skip = 1;
  for (int i = 0; i < ntasks; i++)
    if (!tasks[i].gone && set_mask(&tasks[i], AT_ALL_SIGNALS)) return -1;
  /* The records: one for the engine's start, one per thread. */
  size_t rsz = sizeof(struct attach_rec), nrec = (size_t)ntasks + 1;
  size_t msize = (nrec * rsz + 4095) & ~4095ul;
  if (remote_syscall(t0, SYS_mmap, 0, msize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0, &r))
    return -1;
  if (r < 0 && r > -4096) return at_fail("mmap in the process: %s", strerror((int)-r));
  uint64_t recs = (uint64_t)r;
  static struct attach_rec rec;
  memset(&rec, 0, sizeof rec);
  rec.magic = ATTACH_MAGIC;
  rec.kind = ATTACH_INIT;
  rec.status = -1;
  rec.opts = strs + strlen(lurk_path) + 1;
  uint64_t environ_sym = elf_sym(libc_path, "environ");
  rec.environ_at = environ_sym ? libc_base + environ_sym : 0;
  if (mem_write(recs, &rec, offsetof(struct attach_rec, xsave))) return at_fail("cannot write into the process's memory");
  /* The engine's start: its control thread is lurk's, not traced. */
  ptrace(PTRACE_SETOPTIONS, t0->tid, 0, 0);
  {
    struct user_regs_struct out;
    if (run_entry(t0, entry, recs, &out)) return -1;
  }
  ptrace(PTRACE_SETOPTIONS, t0->tid, 0, (void *)(long)PTRACE_O_TRACECLONE);
  if (mem_read(recs, &rec, offsetof(struct attach_rec, xsave))) return at_fail("cannot read the process's memory");
  if (rec.status != 0) {
    rec.msg[sizeof rec.msg - 1] = 0;
    if (rec.status == 1) return at_fail("%s", "lurk is running in this process already");
    return at_fail("lurk did not start in the process: %s", rec.status < 0 ? "no answer" : rec.msg);
  }
  /* t0's own state back for its turn */
  if (at_x_tid) ptrace(PTRACE_SETREGSET, t0->tid, (void *)NT_X86_XSTATE, &at_x_io);
  at_x_tid = 0;
  t0->mask = t0_mask;
  /* Each thread: its record, then the call that takes it over. The last
  ** one also unmaps the records once its own is read. */
  int n = 0, last = -1;
  for (int i = 0; i < ntasks; i++)
    if (!tasks[i].gone && !tasks[i].skip) last = i;
  for (int i = 0; i < ntasks; i++) {
    struct at_task *t = &tasks[i];
    if (t->gone) continue;
    if (t->skip) {
      ptrace(PTRACE_SETREGS, t->tid, 0, &t->regs);
      set_mask(t, t->mask);
      ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->sig);
      t->gone = 1;
      (*nkept)++;
      continue;
    }
    uint64_t at = recs + rsz * (size_t)(i + 1);
    memset(&rec, 0, sizeof rec);
    rec.magic = ATTACH_MAGIC;
    rec.kind = ATTACH_THREAD;
    rec.status = -1;
    struct user_regs_struct app = t->regs;
    restart_rewrite(&app);
    memcpy(rec.regs, &app, sizeof rec.regs);
    rec.sigmask = t->mask;
    if (mem_write(at, &rec, offsetof(struct attach_rec, xsave))) return at_fail("cannot write into the process's memory");
    struct user_regs_struct out;
    if (run_entry(t, entry, at, &out)) return -1;
    int32_t status = -1;
    mem_read(at + offsetof(struct attach_rec, status), &status, 4);
    if (status != 0) {
      char msg[240] = "";
      mem_read(at + offsetof(struct attach_rec, msg), msg, sizeof msg - 1);
      return at_fail("thread %d was not taken over: %s", t->tid, msg);
    }
    if (i == last) {
      struct user_regs_struct here = out;
      t->regs = out;
      remote_syscall(t, SYS_munmap, recs, msize, 0, 0, 0, 0, &r);
      remote_syscall(t, SYS_munmap, strs, ssize, 0, 0, 0, 0, &r);
      ptrace(PTRACE_SETREGS, t->tid, 0, &here);
    }
    if (ptrace(PTRACE_DETACH, t->tid, 0, 0) != 0 && errno != ESRCH)
      return at_fail("PTRACE_DETACH %d: %s", t->tid, strerror(errno));
    t->gone = 1;
    n++;
  }
  *nthreads = n;
  return 0;
}

static int attach_run(long pid, const char *lib, const char *opts, struct attach_result *res);

int attach_client(long pid, const char *lib, const char *opts, struct attach_result *res)
{
  /* ctrl-C & co. wait until the process is left in a whole state: lurk
  ** dying in the middle of a remote call would leave a thread there. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  int r = attach_run(pid, lib, opts, res);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return r;
}

static int attach_run(long pid, const char *lib, const char *opts, struct attach_result *res)
{
  int64_t t_start = now_us();
  at_pid = pid;
  memset(res, 0, sizeof *res);
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/mem", pid);
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
    snprintf(res->err, sizeof res->err, "no process %ld", pid);
    return ATTACH_NOPROC;
  }
  if (pid == getpid()) { snprintf(res->err, sizeof res->err, "cannot attach to lurk itself"); return ATTACH_FAILED; }
  /* An x86-64 program (a 32-bit one has a libc.so.6 too) */
  char exe[64];
  unsigned char eh[20];
  snprintf(exe, sizeof exe, "/proc/%ld/exe", pid);
  int efd = open(exe, O_RDONLY | O_CLOEXEC);
  if (efd >= 0) {
    int n = (int)read(efd, eh, sizeof eh);
    close(efd);
    if (n == (int)sizeof eh && (memcmp(eh, ELFMAG, SELFMAG) || eh[EI_CLASS] != ELFCLASS64 || eh[18] != EM_X86_64)) {
      snprintf(res->err, sizeof res->err, "process %ld is not an x86-64 program", pid);
      return ATTACH_FAILED;
    }
  }
  int s = seize_all();
  if (s == -2) {
    int er = errno;
    release_all();
    int tracer = 0;
    char line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
      if (!strncmp(line, "TracerPid:", 10)) tracer = atoi(line + 10);
    if (f) fclose(f);
    if (er == EPERM && tracer) {
      snprintf(res->err, sizeof res->err, "cannot attach to process %ld: it is traced by process %d already "
               "(a debugger, strace, or another lurk attach)", pid, tracer);
      return ATTACH_FAILED;
    }
    snprintf(res->err, sizeof res->err, "cannot attach to process %ld: %s", pid, strerror(er));
    return er == EPERM ? ATTACH_EPERM : ATTACH_FAILED;
  }
  if (s == 0) {
    at_memfd = open(path, O_RDWR | O_CLOEXEC);
    if (at_memfd < 0) s = at_fail("cannot open %s: %s", path, strerror(errno));
  }
  if (s == 0) s = stop_all();
  res->stopped_us = now_us() - t_start;
  if (s == 0) s = attach_steps(lib, opts, &res->nthreads, &res->nkept);
  if (s != 0) {
    release_all();
    snprintf(res->err, sizeof res->err, "%s", at_err);
    if (at_memfd >= 0) close(at_memfd);
    return ATTACH_FAILED;
  }
  close(at_memfd);
  res->total_us = now_us() - t_start;
  return 0;
}
