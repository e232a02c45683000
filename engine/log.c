/* lurk: output and a small printf (no locale, no malloc, no stdio). */
#include "log.h"
#include "../arch/x86_64/syscall.h"

int log_level = LOG_WARN;
int log_fd = 2;

/* -- Formatter --------------------------------------------------------- */

struct fmtbuf { char *p; size_t n, len; };

static void fb_putc(struct fmtbuf *b, char c)
{
  if (b->len + 1 < b->n) b->p[b->len] = c;
  b->len++;
}

static void fb_num(struct fmtbuf *b, uint64_t v, unsigned base, int neg,
                   int width, char pad, int upper)
{
  char tmp[24];
  int i = 0;
  const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do { tmp[i++] = dig[v % base]; v /= base; } while (v);
  if (neg) tmp[i++] = '-';
  for (int w = i; w < width; w++) fb_putc(b, pad);
  while (i) fb_putc(b, tmp[--i]);
}

int log_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
  struct fmtbuf b = { buf, n, 0 };
  for (; *fmt; fmt++) {
    if (*fmt != '%') { fb_putc(&b, *fmt); continue; }
    fmt++;
    char pad = ' ';
    int width = 0, lng = 0, left = 0;
    if (*fmt == '-') { left = 1; fmt++; }
    if (*fmt == '0') { pad = '0'; fmt++; }
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l' || *fmt == 'z') { lng = 1; fmt++; }
    switch (*fmt) {
    case 'd': case 'i': {
      int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
      fb_num(&b, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad, 0);
      break;
    }
    case 'u': fb_num(&b, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, 0, width, pad, 0); break;
    case 'x': case 'X':
      fb_num(&b, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, 0, width, pad, *fmt == 'X');
      break;
    case 'p': fb_putc(&b, '0'); fb_putc(&b, 'x'); fb_num(&b, (uint64_t)va_arg(ap, void *), 16, 0, 0, ' ', 0); break;
    case 'c': fb_putc(&b, (char)va_arg(ap, int)); break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s) s = "(null)";
      int len = (int)lurk_strlen(s);
      if (!left) for (int w = len; w < width; w++) fb_putc(&b, ' ');
      while (*s) fb_putc(&b, *s++);
      if (left) for (int w = len; w < width; w++) fb_putc(&b, ' ');
      break;
    }
    case '%': fb_putc(&b, '%'); break;
    default: fb_putc(&b, '%'); fb_putc(&b, *fmt); break;
    }
  }
  if (n) buf[b.len < n ? b.len : n - 1] = 0;
  return (int)b.len;
}

int log_snprintf(char *buf, size_t n, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = log_vsnprintf(buf, n, fmt, ap);
  va_end(ap);
  return r;
}

/* -- Output ------------------------------------------------------------
** Scripts' output (print, io.write to lurk's output) goes through one
** buffer, written out when full, at a newline when lurk's output is a
** terminal, and by log_flush (exit, fork, exec, errors). The engine's own
** messages (log_write) flush it first, so everything lurk prints comes out
** in the order it was produced. log_busy guards the buffer: scripts only
** append under the Lua lock, but an engine message may come from another
** thread, or from lurk's signal handler on this one (which never waits
** for it: it writes its message unbuffered). */

#define LOG_BUFSIZE 65536
static char log_buf[LOG_BUFSIZE];
static size_t log_len;
static int log_busy;
int log_bufmode = LOG_BUF_FULL;
int log_sync_app;

/* Write all of s to lurk's output now, retrying short writes and EINTR. */
static void log_raw(const char *s, size_t n)
{
  while (n) {
    long r = sys_write(log_fd, s, n);
    if (r == -4) continue; /* EINTR */
    if (r <= 0) return;
    s += r;
    n -= (size_t)r;
  }
}

static int log_trylock(void) { return !__atomic_exchange_n(&log_busy, 1, __ATOMIC_ACQUIRE); }
static void log_unlock(void) { __atomic_store_n(&log_busy, 0, __ATOMIC_RELEASE); }

static void log_drain(void)
{
  if (log_len) log_raw(log_buf, log_len);
  log_len = 0;
}

static int log_has_nl(const char *s, size_t n)
{
  while (n--)
    if (*s++ == '\n') return 1;
  return 0;
}

void log_out(const char *s, size_t n)
{
  while (!log_trylock()) __builtin_ia32_pause();
  if (log_bufmode == LOG_BUF_NO || n >= LOG_BUFSIZE) {
    log_drain();
    log_raw(s, n);
  } else {
    if (log_len + n > LOG_BUFSIZE) log_drain();
    lurk_memcpy(log_buf + log_len, s, n);
    log_len += n;
    if (log_bufmode == LOG_BUF_LINE && log_has_nl(s, n)) log_drain();
  }
  log_unlock();
}

void log_flush(void)
{
  if (!__atomic_load_n(&log_len, __ATOMIC_RELAXED)) return;
  while (!log_trylock()) __builtin_ia32_pause();
  log_drain();
  log_unlock();
}

/* fork: the buffer empty and free on both sides (held across the call). */
void log_fork_prepare(void)
{
  while (!log_trylock()) __builtin_ia32_pause();
  log_drain();
}

void log_fork_finish(void) { log_unlock(); }

void log_write(const char *s, size_t n)
{
  int locked = log_trylock(); /* busy: a signal came in the middle of log_out */
  if (locked) log_drain();
  log_raw(s, n);
  if (locked) log_unlock();
}

void log_vprintf(const char *fmt, va_list ap)
{
  char buf[1024];
  int n = log_vsnprintf(buf, sizeof buf, fmt, ap);
  log_write(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
}

void log_printf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  log_vprintf(fmt, ap);
  va_end(ap);
}

/* Print "lurk: <msg>" and end the process with status 125 (lurk itself
** failed, the convention of env(1) and timeout(1)). */
void log_fatal(const char *fmt, ...)
{
  va_list ap;
  log_write("lurk: ", 6);
  va_start(ap, fmt);
  log_vprintf(fmt, ap);
  va_end(ap);
  log_write("\n", 1);
  sys_exit_group(125);
  __builtin_unreachable();
}

void lurk_panic(const char *file, int line, const char *msg)
{
  log_fatal("internal error at %s:%d: %s", file, line, msg);
}
