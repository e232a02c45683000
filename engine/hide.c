/* lurk: what --early hides from the app (hide.h). The maps files are read
** whole when the app opens them and served from a memfd without the lines
** of lurk's ranges (mem.h's notes: the launcher and its libraries, the code
** cache, the engine's allocations); a snapshot, where the kernel's file is
** generated as it is read, which no program can tell apart from a read
** done at once.
*/
#include <fcntl.h>
#include "hide.h"
#include "lock.h"
#include "log.h"
#include "mem.h"
#include "vm.h"
#include "../arch/arch.h"
#include "../arch/x86_64/syscall.h"

#define HIDE_MAXFD 64
static int hide_fds[HIDE_MAXFD]; /* lurk's descriptors; -1: a free slot */
static int hide_nfds;
static int hide_floor = 1000;    /* where lurk's descriptors go */
static struct lurk_lock hide_lk = LOCK_INIT;
const char *hide_exe = "";       /* the program, when /proc/self/exe is not */

void hide_init(void)
{
  uint64_t lim[2];
  if (SYS_FAILED(sys_call4(SYS_prlimit64, 0, 7 /* RLIMIT_NOFILE */, 0, lim))) return;
  /* the top HIDE_FDS slots under the soft limit, when the limit leaves the
  ** app at least as many (a very low limit keeps lurk at 1000, visible) */
  if (lim[0] >= 3 * HIDE_FDS && lim[0] <= (1u << 30)) hide_floor = (int)(lim[0] - HIDE_FDS);
}

int hide_fd_floor(void) { return hide_floor; }

void hide_fd_add(int fd)
{
  lock_acquire(&hide_lk);
  int i = 0;
  while (i < hide_nfds && hide_fds[i] >= 0) i++;
  if (i < HIDE_MAXFD) {
    hide_fds[i] = fd;
    if (i == hide_nfds) hide_nfds++;
  }
  lock_release(&hide_lk);
}

void hide_fd_del(int fd)
{
  lock_acquire(&hide_lk);
  for (int i = 0; i < hide_nfds; i++)
    if (hide_fds[i] == fd) hide_fds[i] = -1;
  lock_release(&hide_lk);
}

int hide_fd_is(int fd)
{
  for (int i = 0; i < hide_nfds; i++)
    if (hide_fds[i] == fd) return 1;
  return 0;
}

/* memmove for dst <= src */
static void hide_move(void *dst, const void *src, size_t n)
{
  uint8_t *d = dst;
  const uint8_t *s = src;
  for (size_t i = 0; i < n; i++) d[i] = s[i];
}

/* -- /proc/self/maps and smaps ------------------------------------------------ */

/* "/proc/self/", "/proc/thread-self/" or "/proc/PID/" (this process): the
** rest of path, else NULL. */
static const char *hide_self(const char *path)
{
  if (lurk_strncmp(path, "/proc/", 6)) return NULL;
  const char *s = path + 6;
  if (!lurk_strncmp(s, "self/", 5)) return s + 5;
  if (!lurk_strncmp(s, "thread-self/", 12)) return s + 12;
  long pid = 0;
  const char *d = s;
  while (*s >= '0' && *s <= '9') pid = pid * 10 + (*s++ - '0');
  if (s == d || *s != '/' || pid != sys_getpid()) return NULL;
  return s + 1;
}

/* Is the maps line at s ("lo-hi ...") one of lurk's ranges? -1: not a
** mapping's first line (smaps' "Key: value" lines). */
static int hide_line(const char *s, uint64_t (*r)[3], size_t nr)
{
  struct vm_line l;
  if (!vm_line_parse(s, &l)) return -1;
  for (size_t i = 0; i < nr; i++)
    if (l.lo < r[i][1] && r[i][0] < l.hi) return 1;
  return 0;
}

int hide_exe_link(const char *path)
{
  const char *rest = hide_self(path);
  return rest && !lurk_strcmp(rest, "exe");
}

/* The whole of a /proc file, in engine memory (*cap bytes allocated). */
static char *hide_slurp(const char *path, size_t *len, size_t *cap)
{
  long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return NULL;
  size_t n = 0, c = 1 << 16;
  char *b = mem_alloc(c);
  for (;;) {
    if (c - n < 4096) {
      b = mem_realloc(b, c, 2 * c);
      c *= 2;
    }
    long r = sys_read(fd, b + n, c - n - 1);
    if (r == -4) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  sys_close(fd);
  *len = n;
  *cap = c;
  return b;
}

int hide_open(int dirfd, const char *path, int flags, long *fd)
{
  const char *rest = (dirfd == AT_FDCWD || path[0] == '/') ? hide_self(path) : NULL;
  if (!rest) return 0;
  if (!lurk_strcmp(rest, "exe") && hide_exe[0]) { /* the kernel's link is lurk's launcher */
    *fd = sys_openat(AT_FDCWD, hide_exe, flags, 0);
    return 1;
  }
  if ((lurk_strcmp(rest, "maps") && lurk_strcmp(rest, "smaps")) || (flags & O_ACCMODE) != O_RDONLY) return 0;
  size_t len, cap;
  char *b = hide_slurp(path, &len, &cap);
  if (!b) return 0;
  enum { NR = 4096 };
  uint64_t (*r)[3] = mem_alloc(NR * sizeof *r);
  size_t nr = mem_ranges(r, NR);
  size_t out = 0;
  int drop = 0;
  for (size_t i = 0; i < len;) {
    size_t j = i;
    while (j < len && b[j] != '\n') j++;
    if (j < len) j++;
    int k = hide_line(b + i, r, nr);
    if (k >= 0) drop = k;
    if (!drop) {
      hide_move(b + out, b + i, j - i);
      out += j - i;
    }
    i = j;
  }
  mem_free(r, NR * sizeof *r);
  *fd = sys_call2(SYS_memfd_create, rest, (flags & O_CLOEXEC) ? 1 /* MFD_CLOEXEC */ : 0);
  if (!SYS_FAILED(*fd)) {
    for (size_t w = 0; w < out;) {
      long k = sys_write(*fd, b + w, out - w);
      if (k <= 0) break;
      w += (size_t)k;
    }
    sys_call3(SYS_lseek, *fd, 0, 0);
  }
  mem_free(b, cap);
  return 1;
}

/* -- /proc/self/fd --------------------------------------------------------- */

long hide_getdents(int fd, uint8_t *buf, long n)
{
  if (n <= 0 || !hide_nfds) return n;
  char link[40], dir[64];
  log_snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  long k = sys_call4(SYS_readlinkat, AT_FDCWD, link, dir, sizeof dir - 1);
  if (k <= 0) return n;
  dir[k] = 0;
  const char *rest = hide_self(dir);
  if (!rest || (lurk_strcmp(rest, "fd") && lurk_strcmp(rest, "fdinfo"))) return n;
  long out = 0;
  for (long i = 0; i < n;) {
    uint16_t reclen;
    lurk_memcpy(&reclen, buf + i + 16, 2);
    if (!reclen) break;
    const char *name = (const char *)buf + i + 19;
    int num = 0, digits = 0;
    for (; *name >= '0' && *name <= '9'; name++, digits++) num = num * 10 + (*name - '0');
    if (!(digits && !*name && hide_fd_is(num))) {
      if (out != i) hide_move(buf + out, buf + i, reclen);
      out += reclen;
    }
    i += reclen;
  }
  return out;
}

/* -- RLIMIT_NOFILE ----------------------------------------------------------- */

long hide_rlimit(int res, uint64_t old_addr, uint64_t new_addr)
{
  if (res != 7 /* RLIMIT_NOFILE */ || hide_floor == 1000) return 1;
  uint64_t nw[2], old[2];
  if (new_addr) {
    if (arch_copy_in(nw, new_addr, sizeof nw)) return -14;
    if (nw[0] > nw[1]) return -22;
    for (int i = 0; i < 2; i++)
      if (nw[i] != ~0ull) nw[i] += HIDE_FDS;
  }
  long r = sys_call4(SYS_prlimit64, 0, res, new_addr ? nw : 0, old_addr ? old : 0);
  if (SYS_FAILED(r) || !old_addr) return r;
  for (int i = 0; i < 2; i++)
    if (old[i] != ~0ull) old[i] = old[i] > HIDE_FDS ? old[i] - HIDE_FDS : 0;
  return arch_copy_out(old_addr, old, sizeof old) ? -14 : 0;
}
