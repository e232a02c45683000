/* lurk: the control channel. A Unix socket /tmp/lurk-UID/PID, served by a
** thread of lurk's own (raw clone, its own block and stack, every
** asynchronous signal blocked, not on the app's thread list, named
** "lurk-ctl" in /proc/self/task). One client at a time; requests go to the
** bindings' hook, which runs them under the Lua lock.
*/
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "ctl.h"
#include "hide.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "park.h"
#include "sig.h"
#include "thr.h"
#include "../arch/x86_64/syscall.h"


struct ctl_hooks ctl_hooks;

static int ctl_lfd = -1;             /* listening socket */
static volatile int ctl_cfd = -1;    /* the client's connection, while one is served */
static int ctl_intr;                 /* the request in progress is interrupted */
static int ctl_dead;                 /* the client went away (or spoke garbage) */
static long ctl_pid;                 /* process that owns ctl_path */
static int ctl_tid;
static int ctl_gone; /* the thread has ended after a detach */
static char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int ctl_watching;             /* a --watch reload is running: no client */

extern long lurk_spawn(void *stack_top, void (*fn)(void *), void *arg);

int ctl_is_self(void) { return ctl_tid && sys_gettid() == ctl_tid; }

/* -- Messages --------------------------------------------------------------- */

static int ctl_read_full(int fd, void *p, size_t n)
{
  uint8_t *b = p;
  while (n) {
    long r = sys_read(fd, b, n);
    if (r == -4 /* EINTR */) continue;
    if (r <= 0) return -1;
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

static int ctl_write_full(int fd, const void *p, size_t n)
{
  const uint8_t *b = p;
  while (n) {
    long r = sys_call6(SYS_sendto, fd, (long)b, (long)n, MSG_NOSIGNAL, 0, 0);
    if (r == -4) continue;
    if (r <= 0) return -1;
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

void ctl_send(int kind, const char *p, size_t n)
{
  if (ctl_watching) { /* a --watch reload: what it says goes to lurk's output */
    static const char fail[] = "lurk: --watch: the reload failed: ";
    if (kind == CTL_ERR) log_out(fail, sizeof fail - 1);
    if (kind == CTL_OUT || kind == CTL_ERR) log_out(p, n);
    if (kind == CTL_ERR) log_out("\n", 1);
    return;
  }
  int fd = ctl_cfd;
  if (fd < 0 || ctl_dead) return;
  if (n > CTL_MAX - 1) n = CTL_MAX - 1;
  uint32_t len = (uint32_t)n + 1;
  uint8_t h[5] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24),
                   (uint8_t)kind };
  if (ctl_write_full(fd, h, 5) || ctl_write_full(fd, p, n)) ctl_dead = 1;
}

/* A protocol error: an error reply, and a line on lurk's output. */
static void ctl_bad(const char *what, unsigned v)
{
  char msg[160];
  int n = log_snprintf(msg, sizeof msg, "bad message on the control channel: %s 0x%x", what, v);
  ctl_send(CTL_ERR, msg, (size_t)n);
  log_printf("lurk: %s\n", msg);
}

/* Read one message's header; 0 and the length, or -1 (EOF, or a bad length,
** answered: the stream cannot be followed after one). */
static int ctl_header(int fd, uint32_t *len)
{
  uint8_t h[4];
  if (ctl_read_full(fd, h, 4)) return -1;
  *len = h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  if (*len == 0 || *len > CTL_MAX) {
    ctl_bad("length", *len);
    return -1;
  }
  return 0;
}

int ctl_interrupted(void)
{
  if (ctl_watching) return 0;
  int fd = ctl_cfd;
  if (fd < 0 || ctl_dead) return 1;
  if (ctl_intr) return 1;
  struct pollfd p = { .fd = fd, .events = POLLIN };
  if (sys_call3(SYS_poll, &p, 1, 0) <= 0) return 0;
  uint32_t len;
  uint8_t buf[64];
  if (ctl_header(fd, &len) || len > sizeof buf || ctl_read_full(fd, buf, len)) {
    ctl_dead = 1; /* gone, or garbage: stop the request either way */
    return 1;
  }
  if (buf[0] == CTL_INTR) ctl_intr = 1;
  else ctl_bad("type during a request", buf[0]);
  return ctl_intr;
}

/* -- --watch ---------------------------------------------------------------- */
/* The script files of the command line are looked at every WATCH_MS by the
** channel's thread (stat, no inotify: an editor that replaces the file by a
** rename is seen the same way). A change seen twice in a row (the file is
** not being written any more) reloads that script as %reload FILE does. */

#define WATCH_MAX 16
#define WATCH_MS 250
struct ctl_watch { char path[256]; int64_t seen[4], loaded[4]; };
static struct ctl_watch ctl_w[WATCH_MAX];
static int ctl_nw;

static void ctl_watch_stat(const char *path, int64_t v[4])
{
  struct stat st;
  if (SYS_FAILED(sys_call4(SYS_newfstatat, AT_FDCWD, path, &st, 0))) {
    v[0] = v[1] = v[2] = v[3] = -1;
    return;
  }
  v[0] = st.st_mtim.tv_sec;
  v[1] = st.st_mtim.tv_nsec;
  v[2] = (int64_t)st.st_ino;
  v[3] = st.st_size;
}

static int ctl_same(const int64_t a[4], const int64_t b[4])
{
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* The file scripts of opt.scripts ("f" entries: kind, path, fields...). */
static void ctl_watch_init(void)
{
  const char *s = opt.scripts;
  while (s && *s && ctl_nw < WATCH_MAX) {
    const char *end = s;
    while (*end && *end != OPT_SCRIPT_SEP) end++;
    if (*s == 'f') {
      const char *p = s + 1, *f = p;
      while (f < end && *f != OPT_FIELD_SEP) f++;
      size_t n = (size_t)(f - p);
      if (n < sizeof ctl_w[0].path) {
        struct ctl_watch *w = &ctl_w[ctl_nw++];
        lurk_memcpy(w->path + 1, p, n);
        w->path[0] = '@';
        w->path[n + 1] = 0;
        ctl_watch_stat(w->path + 1, w->loaded);
        lurk_memcpy(w->seen, w->loaded, sizeof w->seen);
      }
    }
    s = *end ? end + 1 : end;
  }
}

static void ctl_watch_check(void)
{
  for (int i = 0; i < ctl_nw; i++) {
    struct ctl_watch *w = &ctl_w[i];
    int64_t now[4];
    ctl_watch_stat(w->path + 1, now);
    int stable = ctl_same(now, w->seen);
    lurk_memcpy(w->seen, now, sizeof now);
    if (!stable || now[0] < 0 || ctl_same(now, w->loaded)) continue;
    lurk_memcpy(w->loaded, now, sizeof now);
    if (!ctl_hooks.request) continue;
    log_printf("lurk: --watch: %s changed, reloading\n", w->path + 1);
    ctl_watching = 1;
    ctl_hooks.request(CTL_LOAD, w->path, lurk_strlen(w->path));
    ctl_watching = 0;
  }
}

static int64_t ctl_ms(void)
{
  struct { int64_t s, ns; } ts;
  sys_call2(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, &ts);
  return ts.s * 1000 + ts.ns / 1000000;
}

/* Wait until fd is readable, looking at the watched files every WATCH_MS
** meanwhile (also when requests keep coming). */
static void ctl_wait(int fd)
{
  static int64_t last;
  if (!ctl_nw) return;
  for (;;) {
    int64_t now = ctl_ms();
    if (now - last >= WATCH_MS) {
      last = now;
      ctl_watch_check();
    }
    struct pollfd p = { .fd = fd, .events = POLLIN };
    long r = sys_call3(SYS_poll, &p, 1, WATCH_MS);
    if (r != 0) return; /* readable, closed, or interrupted: the caller reads */
  }
}

/* -- The server ------------------------------------------------------------- */

static void ctl_serve(int fd)
{
  struct { int32_t pid; uint32_t uid, gid; } cred;
  uint32_t clen = sizeof cred;
  ctl_dead = 0;
  ctl_cfd = fd;
  uint32_t self = (uint32_t)sys_call0(SYS_geteuid);
  if (SYS_FAILED(sys_call6(SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, (long)&cred, (long)&clen, 0)) ||
      !ctl_peer_ok(cred.uid, self)) {
    char msg[128];
    int n = log_snprintf(msg, sizeof msg, "control channel: permission denied to uid %u (pid %d)",
                         cred.uid, cred.pid);
    ctl_send(CTL_ERR, msg, (size_t)n);
    log_printf("lurk: %s\n", msg);
    goto out;
  }
  for (;;) {
    uint32_t len;
    if (!ctl_dead) ctl_wait(fd);
    if (ctl_dead || ctl_header(fd, &len)) break;
    char *buf = mem_alloc(len + 1);
    if (ctl_read_full(fd, buf, len)) { mem_free(buf, len + 1); break; }
    int kind = (uint8_t)buf[0];
    switch (kind) {
    case CTL_EVAL: case CTL_NUDGE: case CTL_LOAD: case CTL_COMPLETE:
      ctl_intr = 0;
      if (ctl_hooks.request) ctl_hooks.request(kind, buf + 1, len - 1);
      else ctl_send(CTL_ERR, "no Lua state in this process", 28);
      if (park_detached()) ctl_dead = 1; /* detached: the channel closes */
      break;
    case CTL_INTR:
      break; /* came after its request was done */
    default:
      ctl_bad("type", (unsigned)kind);
    }
    mem_free(buf, len + 1);
  }
out:
  ctl_cfd = -1;
  hide_fd_del(fd);
  sys_close(fd);
}

static void ctl_main(void *arg)
{
  struct lurk_thread *t = arg;
  arch_tls_install(&t->tls);
  t->tid = ctl_tid = (int)sys_gettid();
  sig_thread_start(t);
  /* Asynchronous signals go to the app's threads; faults are lurk's handler's. */
  uint64_t mask = ~((1ull << 3) | (1ull << 4) | (1ull << 6) | (1ull << 7) | (1ull << 10));
  sys_call4(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, &mask, 0, 8);
  sys_call2(SYS_prctl, 15 /* PR_SET_NAME */, "lurk-ctl");
  if (opt.watch) ctl_watch_init();
  for (;;) {
    ctl_wait(ctl_lfd);
    long fd = sys_call4(SYS_accept4, ctl_lfd, 0, 0, SOCK_CLOEXEC);
    if (SYS_FAILED(fd)) {
      if (fd == -4 || fd == -103 /* ECONNABORTED */) continue;
      struct { long s, ns; } ts = { 0, 100000000 }; /* EMFILE & co.: try again later */
      sys_call2(SYS_nanosleep, &ts, 0);
      continue;
    }
    long hi = sys_fcntl(fd, F_DUPFD_CLOEXEC, hide_fd_floor());
    if (!SYS_FAILED(hi)) { sys_close(fd); fd = hi; }
    hide_fd_add((int)fd);
    ctl_serve((int)fd);
    if (park_detached()) {
      /* The engine is inert from now on: no channel, no thread of lurk's. */
      ctl_stop();
      hide_fd_del(ctl_lfd);
      sys_close(ctl_lfd);
      ctl_lfd = -1;
      log_flush();
      __atomic_store_n(&ctl_gone, 1, __ATOMIC_RELEASE); /* ctl_wait_gone */
      sys_call1(SYS_exit, 0);
    }
  }
}

/* -- Start and stop --------------------------------------------------------- */

/* The directory: ours, a directory (not a link), mode 0700. */
static int ctl_dir(const char *dir, uint32_t uid)
{
  long r = sys_call2(SYS_mkdir, dir, 0700);
  if (SYS_FAILED(r) && r != -17 /* EEXIST */) {
    log_printf("lurk: no control channel: cannot create %s: %s\n", dir, "error");
    return -1;
  }
  struct stat st;
  r = sys_call4(SYS_newfstatat, AT_FDCWD, dir, &st, AT_SYMLINK_NOFOLLOW);
  if (SYS_FAILED(r) || !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 0777) != 0700) {
    log_printf("lurk: no control channel: %s is not a directory of uid %u with mode 0700\n", dir, uid);
    return -1;
  }
  return 0;
}

void ctl_start(void)
{
  uint32_t uid = (uint32_t)sys_call0(SYS_geteuid);
  char dir[64];
  log_snprintf(dir, sizeof dir, CTL_DIR_FMT, uid);
  if (ctl_dir(dir, uid)) return;
  ctl_pid = sys_getpid();
  log_snprintf(ctl_path, sizeof ctl_path, "%s/%ld", dir, ctl_pid);
  long fd = sys_call3(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (SYS_FAILED(fd)) { log_printf("lurk: no control channel: socket: error %ld\n", -fd); return; }
  long hi = sys_fcntl(fd, F_DUPFD_CLOEXEC, hide_fd_floor());
  if (!SYS_FAILED(hi)) { sys_close(fd); fd = hi; }
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  lurk_memcpy(a.sun_path, ctl_path, lurk_strlen(ctl_path) + 1);
  /* Bound and listening under a temporary name, then renamed: a client
  ** that sees the socket file can connect at once. */
  size_t pl = lurk_strlen(a.sun_path);
  if (pl + 2 > sizeof a.sun_path) { log_printf("lurk: no control channel: path too long\n"); sys_close(fd); return; }
  a.sun_path[pl] = '~';
  a.sun_path[pl + 1] = 0;
  sys_call1(SYS_unlink, a.sun_path);
  long r = sys_call3(SYS_bind, fd, &a, sizeof a);
  if (!SYS_FAILED(r)) r = sys_call2(SYS_chmod, a.sun_path, 0600);
  if (!SYS_FAILED(r)) r = sys_call2(SYS_listen, fd, 4);
  /* (rename replaces a stale socket of an earlier process with this pid) */
  if (!SYS_FAILED(r)) r = sys_call2(SYS_rename, a.sun_path, ctl_path);
  if (SYS_FAILED(r)) sys_call1(SYS_unlink, a.sun_path);
  if (SYS_FAILED(r)) {
    log_printf("lurk: no control channel: cannot listen on %s: error %ld\n", ctl_path, -r);
    sys_close(fd);
    ctl_path[0] = 0;
    return;
  }
  ctl_lfd = (int)fd;
  hide_fd_add(ctl_lfd);
  ctl_gone = 0;
  struct lurk_thread *t = thr_alloc();
  uint64_t all = ~0ull, old;
  sys_call4(SYS_rt_sigprocmask, 2, &all, &old, 8);
  r = lurk_spawn((void *)t->tls.engine_sp, ctl_main, t);
  sys_call4(SYS_rt_sigprocmask, 2, &old, 0, 8);
  if (SYS_FAILED(r)) {
    log_printf("lurk: no control channel: cannot start its thread: error %ld\n", -r);
    thr_release(t);
    ctl_stop();
  }
  LOG(LOG_INFO, "control channel at %s\n", ctl_path);
}

int ctl_wait_gone(void)
{
  if (ctl_lfd < 0 && !ctl_tid) return 1; /* no channel thread ever */
  for (int i = 0; i < 2000 && !__atomic_load_n(&ctl_gone, __ATOMIC_ACQUIRE); i++) {
    struct { long s, ns; } ts = { 0, 1000000 };
    sys_call2(SYS_nanosleep, &ts, 0);
  }
  if (!__atomic_load_n(&ctl_gone, __ATOMIC_ACQUIRE)) return 0;
  ctl_tid = 0;
  return 1;
}

void ctl_after_fork(void)
{
  if (ctl_lfd < 0) return;
  hide_fd_del(ctl_lfd);
  sys_close(ctl_lfd);
  if (ctl_cfd >= 0) { hide_fd_del(ctl_cfd); sys_close(ctl_cfd); }
  ctl_lfd = ctl_cfd = -1;
  ctl_tid = 0;
  ctl_path[0] = 0;
  ctl_start();
}

void ctl_stop(void)
{
  if (ctl_path[0] && sys_getpid() == ctl_pid) sys_call1(SYS_unlink, ctl_path);
  ctl_path[0] = 0;
}
