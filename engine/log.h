/* lurk: the engine's own output (never the app's stdio) and its logger. */
#ifndef LURK_LOG_H
#define LURK_LOG_H
#include <stdarg.h>
#include "lurk.h"

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_level;
extern int log_fd; /* lurk's output: 2, or the --output file */

void log_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vprintf(const char *fmt, va_list ap);
int log_snprintf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int log_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
/* The engine's messages: written at once, after the scripts' pending output. */
void log_write(const char *s, size_t n);
/* Scripts' output (print, io.write to lurk's output): buffered (log.c). */
void log_out(const char *s, size_t n);
/* Write out the scripts' pending output. */
void log_flush(void);
/* Buffering of log_out: full (64 KiB; the default), line (a terminal), no. */
enum { LOG_BUF_FULL, LOG_BUF_LINE, LOG_BUF_NO };
extern int log_bufmode;
/* lurk's output is the program's stderr (no --output): the dispatcher
** flushes the buffer before each of the program's system calls, so the
** two keep their order (scall.c). */
extern int log_sync_app;
/* Around fork: the buffer is written out and held, then freed on both sides. */
void log_fork_prepare(void);
void log_fork_finish(void);
LURK_NORETURN void log_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#define LOG(level, ...) \
  do { if ((level) <= log_level) log_printf("lurk: " __VA_ARGS__); } while (0)

#endif
