/* lurk: the control channel's client, in the launcher: `lurk nudge PID
** CODE` and the prompt of `lurk repl` (libedit for line editing, history
** and completion). An ordinary program: it may use libc freely.
*/
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dlfcn.h>
#include <editline/readline.h>
#include "ctl.h"
#include "ctl_client.h"

static volatile sig_atomic_t cc_sigint;

static void cc_on_sigint(int sig) { (void)sig; cc_sigint = 1; }

/* -- Messages --------------------------------------------------------------- */

static int cc_write(int fd, const void *p, size_t n)
{
  const char *b = p;
  while (n) {
    ssize_t r = send(fd, b, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

static int cc_send(int fd, int kind, const char *p, size_t n)
{
  uint32_t len = (uint32_t)n + 1;
  unsigned char h[5] = { len, len >> 8, len >> 16, len >> 24, (unsigned char)kind };
  return cc_write(fd, h, 5) || cc_write(fd, p, n) ? -1 : 0;
}

/* Read n bytes; ctrl-C meanwhile sends an interrupt (once per press). */
static int cc_read(int fd, void *p, size_t n)
{
  char *b = p;
  while (n) {
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    if (poll(&pf, 1, -1) < 0) {
      if (errno != EINTR) return -1;
      if (cc_sigint) {
        cc_sigint = 0;
        if (cc_send(fd, CTL_INTR, "", 0)) return -1;
      }
      continue;
    }
    ssize_t r = read(fd, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

/* One message: its type, and its payload in *out (malloc'ed, NUL-ended). */
static int cc_recv(int fd, char **out, size_t *n)
{
  unsigned char h[5];
  if (cc_read(fd, h, 4)) return -1;
  uint32_t len = h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  if (len == 0 || len > CTL_MAX) return -1;
  if (cc_read(fd, h + 4, 1)) return -1;
  char *s = malloc(len);
  if (cc_read(fd, s, len - 1)) { free(s); return -1; }
  s[len - 1] = 0;
  *out = s;
  *n = len - 1;
  return h[4];
}

/* Send a request and print what comes back until its end: CTL_OUT to
** stdout, the results to stdout, an error to stderr. Returns the final
** type (CTL_OK, CTL_ERR, CTL_MORE) or -1 when the connection is lost. */
static int cc_request(int fd, int kind, const char *p, size_t n, char **result)
{
  if (cc_send(fd, kind, p, n)) return -1;
  for (;;) {
    char *s;
    size_t len;
    int k = cc_recv(fd, &s, &len);
    if (k < 0) return -1;
    if (k == CTL_OUT) {
      fwrite(s, 1, len, stdout);
      fflush(stdout);
      free(s);
      continue;
    }
    if (result) { *result = s; return k; }
    if (k == CTL_OK && len) printf("%s\n", s);
    else if (k == CTL_ERR) fprintf(stderr, "%s\n", s);
    fflush(stdout);
    free(s);
    return k;
  }
}

static void cc_path(char *buf, size_t n, long pid)
{
  char dir[64];
  snprintf(dir, sizeof dir, CTL_DIR_FMT, (unsigned)geteuid());
  snprintf(buf, n, "%s/%ld", dir, pid);
}

/* Connect to pid's channel; -1 with errno on failure. */
static int cc_connect(long pid)
{
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  cc_path(a.sun_path, sizeof a.sun_path, pid);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static void cc_connect_error(long pid)
{
  char path[108];
  cc_path(path, sizeof path, pid);
  if (errno == ENOENT)
    fprintf(stderr, "lurk: pid %ld has no control channel (no %s): start it with "
            "'lurk run --ctl' or 'lurk repl'\n", pid, path);
  else if (errno == ECONNREFUSED)
    fprintf(stderr, "lurk: pid %ld does not serve %s (the process has ended?)\n", pid, path);
  else
    fprintf(stderr, "lurk: cannot connect to %s: %s\n", path, strerror(errno));
}

static void cc_signals(void)
{
  struct sigaction sa = { .sa_handler = cc_on_sigint }; /* no SA_RESTART: poll returns */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

/* -- lurk nudge ------------------------------------------------------------- */

int ctl_client_nudge(long pid, const char *code)
{
  int fd = cc_connect(pid);
  if (fd < 0) { cc_connect_error(pid); return 1; }
  cc_signals();
  int k = cc_request(fd, CTL_NUDGE, code, strlen(code), NULL);
  close(fd);
  if (k < 0) { fprintf(stderr, "lurk: pid %ld closed its control channel\n", pid); return 1; }
  return k == CTL_OK ? 0 : 1;
}

int ctl_client_alive(long pid)
{
  int fd = cc_connect(pid);
  if (fd < 0) return 0;
  char *s = NULL;
  int k = cc_request(fd, CTL_NUDGE, "return true", 11, &s);
  close(fd);
  int ok = k == CTL_OK && s && !strcmp(s, "true");
  free(s);
  return ok;
}

/* -- lurk repl -------------------------------------------------------------- */

static int cc_fd = -1;

/* libedit, loaded when a prompt opens: linked in, it (and libtinfo, libbsd,
** libmd) would be mapped and relocated at every `lurk run`. Its readline
** API, through the pointers dlsym gives (variables too). */
static struct {
  char *(*readline)(const char *);
  void (*using_history)(void);
  void (*stifle_history)(int);
  int (*read_history)(const char *);
  int (*write_history)(const char *);
  int (*add_history)(const char *);
  const char **readline_name, **basic_word_break_characters;
  rl_completion_func_t **attempted_completion_function;
  rl_compentry_func_t **completion_entry_function;
  int *completion_append_character, *attempted_completion_over;
} ed;

/* Load libedit into ed; 0, or -1 with the reason printed. */
static int cc_ed_load(void)
{
  void *h = dlopen(LURK_EDIT_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) { fprintf(stderr, "lurk: the prompt needs %s: %s\n", LURK_EDIT_SONAME, dlerror()); return -1; }
#define ED(field, name) if (!(*(void **)&ed.field = dlsym(h, name))) goto missing
  ED(readline, "readline"); ED(using_history, "using_history"); ED(stifle_history, "stifle_history");
  ED(read_history, "read_history"); ED(write_history, "write_history"); ED(add_history, "add_history");
  ED(readline_name, "rl_readline_name");
  ED(basic_word_break_characters, "rl_basic_word_break_characters");
  ED(attempted_completion_function, "rl_attempted_completion_function");
  ED(completion_entry_function, "rl_completion_entry_function");
  ED(completion_append_character, "rl_completion_append_character");
  ED(attempted_completion_over, "rl_attempted_completion_over");
#undef ED
  return 0;
missing:
  fprintf(stderr, "lurk: %s lacks a readline function: %s\n", LURK_EDIT_SONAME, dlerror());
  return -1;
}

/* libedit's completion: ask the target for the word's completions. */
static char *cc_none(const char *t, int s) { (void)t; (void)s; return NULL; }

static char **cc_complete(const char *text, int start, int end)
{
  (void)start; (void)end;
  *ed.attempted_completion_over = 1;
  char *s;
  if (cc_fd < 0 || cc_request(cc_fd, CTL_COMPLETE, text, strlen(text), &s) != CTL_OK) return NULL;
  size_t n = 0, cap = 8;
  char **m = malloc(cap * sizeof *m);
  m[n++] = NULL; /* the common prefix, below */
  for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
    if (n + 2 > cap) m = realloc(m, (cap *= 2) * sizeof *m);
    m[n++] = strdup(line);
  }
  free(s);
  if (n == 1) { free(m); return NULL; }
  size_t common = strlen(m[1]);
  for (size_t i = 2; i < n; i++) {
    size_t j = 0;
    while (j < common && m[i][j] == m[1][j]) j++;
    common = j;
  }
  m[0] = strndup(m[1], common);
  m[n] = NULL;
  return m;
}

static const char cc_help[] =
  "Lua in the target process (LuaJIT, with the lurk module; docs/lua-api.md).\n"
  "  EXPR            evaluate and print its values (tables, insns, addresses with symbols)\n"
  "  STATEMENTS      run them; an incomplete chunk continues on the next line\n"
  "  %load FILE      run a script file in the target (as lurk run would)\n"
  "  %reload [FILE]  load again the scripts loaded so far (or FILE): their handlers\n"
  "                  are removed, lurk.keep kept, the code cache flushed\n"
  "  .help           this help\n"
  "  .detach         every thread back to native execution (lurk.detach()), then\n"
  "                  as ctrl-D\n"
  "  ctrl-D, .exit   leave the prompt; the program runs on to its end and lurk\n"
  "                  exits with its status (the instrumentation stays); under\n"
  "                  lurk attach, ctrl-D is .detach and .exit leaves lurk in\n"
  "  ctrl-C          interrupt the evaluation in progress (the program is not signalled)\n"
  "  TAB             complete names of lurk's API and of live values' fields\n"
  "Try: lurk.modules()  lurk.threads()  lurk.stats()  lurk.sym(ADDR)\n"
  "     n = 0; lurk.on('syscall_pre', function() n = n + 1 end)\n";

int ctl_client_eof_detach;

static const char *cc_history_file(void)
{
  static char buf[PATH_MAX];
  const char *h = getenv("LURK_HISTORY");
  if (h) return h;
  const char *home = getenv("HOME");
  if (!home) return NULL;
  snprintf(buf, sizeof buf, "%s/.lurk_history", home);
  return buf;
}

static char *cc_trim(char *s)
{
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = 0;
  return s;
}

int ctl_client_repl(long pid, const char *what)
{
  if (cc_ed_load()) return 1;
  cc_fd = cc_connect(pid);
  if (cc_fd < 0) { cc_connect_error(pid); return 1; }
  cc_signals();
  *ed.readline_name = "lurk";
  *ed.attempted_completion_function = cc_complete;
  *ed.completion_entry_function = cc_none;
  *ed.basic_word_break_characters = " \t\n\"'`@$><=;|&{(,+-*/%^~#[]";
  *ed.completion_append_character = 0;
  const char *hist = cc_history_file();
  ed.using_history();
  ed.stifle_history(1000);
  if (hist) ed.read_history(hist);
  printf("lurk repl: pid %ld (%s). .help for help; ctrl-D %s.\n", pid, what,
         ctl_client_eof_detach ? "detaches lurk (.exit leaves it attached)" : "leaves the prompt, the program goes on");
  char *chunk = NULL;
  int lost = 0;
  for (;;) {
    cc_sigint = 0;
    char *line = ed.readline(chunk ? ">> " : "lurk> ");
    if (!line && ctl_client_eof_detach && !chunk) line = strdup(".detach"); /* lurk attach: ctrl-D */
    if (!line) { printf("\n"); break; }
    if (!chunk) {
      char *t = cc_trim(line);
      if (!*t) { free(line); continue; }
      if (!strcmp(t, ".help")) { ed.add_history(t); fputs(cc_help, stdout); free(line); continue; }
      if (!strcmp(t, ".detach")) {
        static const char code[] = "return lurk.detach()";
        if (cc_request(cc_fd, CTL_NUDGE, code, sizeof code - 1, NULL) < 0) lost = 1;
        free(line);
        break;
      }
      if (!strcmp(t, ".exit") || !strcmp(t, ".quit")) { free(line); break; }
      int reload = !strncmp(t, "%reload", 7) && (t[7] == ' ' || !t[7]);
      if (reload || (!strncmp(t, "%load", 5) && (t[5] == ' ' || !t[5]))) {
        ed.add_history(t);
        char *f = cc_trim(t + (reload ? 7 : 5)), *abs = *f ? realpath(f, NULL) : NULL;
        if (reload && !*f) abs = strdup(""); /* every script loaded so far */
        else if (reload && abs) { /* "@PATH": reload PATH (it must be loaded already) */
          char *a = malloc(strlen(abs) + 2);
          sprintf(a, "@%s", abs);
          free(abs);
          abs = a;
        }
        if (!abs) fprintf(stderr, "%s: %s: %s\n", reload ? "%reload" : "%load", *f ? f : "(no file)",
                          *f ? strerror(errno) : "usage: %load FILE");
        else if (cc_request(cc_fd, CTL_LOAD, abs, strlen(abs), NULL) < 0) lost = 1;
        free(abs);
        free(line);
        if (lost) break;
        continue;
      }
    }
    if (chunk) {
      char *c = malloc(strlen(chunk) + strlen(line) + 2);
      sprintf(c, "%s\n%s", chunk, line);
      free(chunk);
      chunk = c;
    } else {
      chunk = strdup(line);
    }
    free(line);
    int k = cc_request(cc_fd, CTL_EVAL, chunk, strlen(chunk), NULL);
    if (k < 0) { lost = 1; break; }
    if (k == CTL_MORE) continue;
    ed.add_history(chunk);
    free(chunk);
    chunk = NULL;
  }
  free(chunk);
  if (hist) ed.write_history(hist);
  if (lost) fprintf(stderr, "lurk: the control channel closed (the program has ended or exec'd)\n");
  close(cc_fd);
  cc_fd = -1;
  return 0;
}
