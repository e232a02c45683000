/* lurk: injection — the liblurk.so constructor that takes over the process.
** lurk_takeover (arch .S) calls inj_init from ld.so's init sequence. From
** its return address on, every app instruction runs from the code cache.
*/
#include <fcntl.h>
#include "cache.h"
#include "ctl.h"
#include "disp.h"
#include "hide.h"
#include "ldr.h"
#include "log.h"
#include "mem.h"
#include "mod.h"
#include "opt.h"
#include "scall.h"
#include "sig.h"
#include "thr.h"
#include "../arch/x86_64/syscall.h"
#include "../bindings/lb.h"


static char *env_get(char **envp, const char *name)
{
  size_t n = lurk_strlen(name);
  for (; envp && *envp; envp++)
    if (lurk_strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') return *envp + n + 1;
  return NULL;
}

/* Take lurk's variables out of the app's environment and give back the
** app's own LD_PRELOAD, if it had one (the launcher kept it aside). */
static void env_clean(char **envp)
{
  char *app_preload = env_get(envp, "LURK_APP_PRELOAD");
  size_t k = 0;
  for (size_t i = 0; envp[i]; i++) {
    char *e = envp[i];
    if (lurk_strncmp(e, "LD_PRELOAD=", 11) == 0) {
      if (!app_preload) continue;
      size_t n = lurk_strlen(app_preload);
      char *s = mem_alloc(11 + n + 1);
      lurk_memcpy(s, "LD_PRELOAD=", 11);
      lurk_memcpy(s + 11, app_preload, n + 1);
      e = s;
    } else if (lurk_strncmp(e, "LURK_OPTIONS=", 13) == 0 ||
               lurk_strncmp(e, "LURK_APP_PRELOAD=", 17) == 0) {
      continue;
    }
    envp[k++] = e;
  }
  for (size_t i = k; envp[i]; i++) envp[i] = NULL;
}

/* lurk's output: the --output file, or a private duplicate of stderr, so
** the app closing or redirecting its fd 2 does not silence lurk. Either way
** at a high fd (the app's close of it is refused in scall.c). */
static void output_open(void)
{
  long fd = 2;
  if (opt.output) {
    fd = sys_openat(AT_FDCWD, opt.output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (SYS_FAILED(fd)) log_fatal("cannot open --output file %s: error %ld", opt.output, -fd);
  }
  long hi = sys_fcntl(fd, F_DUPFD_CLOEXEC, hide_fd_floor());
  if (opt.output) sys_close(fd);
  if (SYS_FAILED(hi)) {
    if (opt.output) log_fatal("cannot move the --output fd: error %ld", -hi);
    return; /* stderr is closed or the fd limit is low: stay on fd 2 */
  }
  log_fd = (int)hi;
  hide_fd_add(log_fd);
}

/* Scripts' output to a terminal is line-buffered (as stdio's stdout), so a
** user sees each line as it is printed; to a file or pipe, fully buffered. */
static void output_mode(void)
{
  char termios[64];
  log_sync_app = !opt.output;
  if (!SYS_FAILED(sys_call3(SYS_ioctl, log_fd, 0x5401 /* TCGETS */, termios)))
    log_bufmode = LOG_BUF_LINE;
}

int inj_started;

void inj_output(void)
{
  output_open();
  output_mode();
}

/* Everything both starts share, up to the thread block of the first
** thread: the scripts' top level, the cache, signals, the control channel. */
static struct lurk_thread *inj_common(char **envp)
{
  lb_start(envp);
  cache_init();
  struct lurk_thread *t = thr_main();
  mod_init();
  sig_init();
  if (opt.sigmask) {
    /* the exec that made this image blocked every signal so that none was
    ** lost (scall.c): the app's mask back; what waited comes to lurk now */
    uint64_t mask = 0;
    for (const char *c = opt.sigmask; *c; c++)
      mask = mask * 16 + (uint64_t)(*c <= '9' ? *c - '0' : (*c | 0x20) - 'a' + 10);
    sys_call4(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, &mask, 0, 8);
  }
  if (opt.ctl) ctl_start();
  lb_event_thread_init(t->tid);
  disp_entry_at(mod_entry());
  return t;
}

/* saved: r15 r14 r13 r12 rbx rbp, then the constructor's return address.
** Without LURK_OPTIONS (the launcher always sets it) liblurk.so was not
** started by lurk run: lurk attach's dlopen. Nothing is done then (0). */
int inj_init(int argc, char **argv, char **envp, uint64_t *saved)
{
  (void)argc; (void)argv;
  const char *o = env_get(envp, "LURK_OPTIONS");
  if (!o) return 0;
  if (LURK_FAILED(opt_parse(o))) log_fatal("bad LURK_OPTIONS: %s", o);
  inj_started = 1;
  inj_output();
  env_clean(envp);
  mod_scan();
  struct lurk_thread *t = inj_common(envp);
  struct arch_mctx *m = &t->tls.mctx;
  m->gpr[MCTX_R15] = saved[0];
  m->gpr[MCTX_R14] = saved[1];
  m->gpr[MCTX_R13] = saved[2];
  m->gpr[MCTX_R12] = saved[3];
  m->gpr[MCTX_RBX] = saved[4];
  m->gpr[MCTX_RBP] = saved[5];
  m->gpr[MCTX_RSP] = (uint64_t)(saved + 7);
  m->rflags = 0x202;
  LOG(LOG_INFO, "taking over pid %ld at 0x%lx\n", (long)sys_getpid(), (unsigned long)saved[6]);
  disp_start(t, saved[6]);
}

/* Early injection (--early): the launcher (or an exec of the app's, through
** the launcher again) loaded liblurk.so and calls this with the options, the
** program, and the argv and envp the program gets. lurk maps the program as
** execve would and runs it from its first instruction: the interpreter's
** entry, or a static program's own. The launcher's mappings are lurk's.
** execfn is the path the exec was given (AT_EXECFN): a script's, when prog
** is its interpreter. */
extern char **environ; /* the launcher's libc's */

/* lurk_boot's arguments, copied out of the launcher's stack, whose top
** becomes the app's initial stack. */
struct boot_args {
  char *opts, *prog, *execfn;
  char **argv, **envp;
  uint64_t stack_top; /* end of the [stack] mapping */
  int mangle_fs;      /* the app's fs operands rewritten (arch_fs_mangled) */
};

static char *boot_str(const char *s)
{
  size_t n = lurk_strlen(s) + 1;
  char *c = mem_alloc(n);
  lurk_memcpy(c, s, n);
  return c;
}

static char **boot_vec(char **v)
{
  size_t n = 0;
  while (v && v[n]) n++;
  char **c = mem_alloc((n + 1) * sizeof *c);
  for (size_t i = 0; i < n; i++) c[i] = boot_str(v[i]);
  return c;
}

/* On an engine stack: map the program, build its stack where the kernel
** built the launcher's, and start it. */
static LURK_NORETURN void boot_main(void *arg)
{
  struct boot_args *b = arg;
  inj_started = 1;
  hide_init();
  inj_output();
  mod_host_begin();
  struct ldr_image img;
  char err[512];
  if (ldr_load(b->prog, &img, err, sizeof err)) {
    log_printf("lurk: %s\n", err);
    log_flush();
    sys_exit_group(126);
  }
  uint64_t sp = ldr_stack(b->stack_top, &img, b->execfn, b->argv, b->envp);
  if (img.exec_stack) ldr_exec_stack(sp);
  if (ldr_commit() < 2) hide_exe = ldr_exe;
  const char *base = b->execfn; /* the thread's name, as execve sets it */
  for (const char *c = b->execfn; *c; c++)
    if (*c == '/') base = c + 1;
  char comm[16];
  size_t n = lurk_strlen(base) < 15 ? lurk_strlen(base) : 15;
  lurk_memcpy(comm, base, n);
  comm[n] = 0;
  sys_call2(SYS_prctl, 15 /* PR_SET_NAME */, comm);
  arch_boot_fs(b->mangle_fs);
  uint64_t spans[2][2] = { { img.lo, img.hi }, { img.ilo, img.ihi } };
  mod_scan_app(img.entry, spans, img.ilo ? 2 : 1);
  struct lurk_thread *t = inj_common(b->envp);
  struct arch_mctx *m = &t->tls.mctx;
  lurk_memset(m, 0, sizeof *m);
  m->gpr[MCTX_RSP] = sp;
  m->rflags = 0x202;
  arch_initial_state(&t->tls);
  LOG(LOG_INFO, "starting %s at 0x%lx (pid %ld)\n", b->prog, (unsigned long)img.start, (long)sys_getpid());
  disp_start(t, img.start);
}

/* Early injection (--early): the launcher (or an exec of the app's, through
** the launcher again) loaded liblurk.so and calls this with the options, the
** program, and the argv and envp the program gets. lurk maps the program as
** execve would and runs it from its first instruction: the interpreter's
** entry, or a static program's own. The launcher's mappings are lurk's.
** execfn is the path the exec was given (AT_EXECFN): a script's, when prog
** is its interpreter. */
LURK_API LURK_NORETURN void lurk_boot(const char *opts, const char *prog, const char *execfn,
                                      char **argv, char **envp)
{
  if (LURK_FAILED(opt_parse(opts))) log_fatal("bad options: %s", opts);
  static struct boot_args b;
  /* Without FSGSBASE, swapping fs at every entry would cost two
  ** arch_prctl calls: the app's fs operands are rewritten instead.
  ** (arch_fsgsbase also reads auxv while the launcher's is there.) */
  b.mangle_fs = opt.mangle_fs || !arch_fsgsbase();
  b.opts = boot_str(opts);
  b.prog = boot_str(prog);
  b.execfn = boot_str(execfn);
  b.argv = boot_vec(argv);
  b.envp = boot_vec(envp);
  /* the launcher's libc keeps reading its environ (getenv): a copy */
  environ = boot_vec(environ);
  char here;
  b.stack_top = ldr_stack_end((uint64_t)&here);
  if (!b.stack_top) log_fatal("cannot find the stack mapping");
  enum { BOOT_STACK = 1 << 20 };
  uint8_t *stk = mem_map(BOOT_STACK, 3 /* PROT_READ | PROT_WRITE */);
  if (!stk) log_fatal("out of memory for the boot stack");
  arch_run_on(boot_main, &b, (uint64_t)stk + BOOT_STACK);
}
