/* lurk: the command-line launcher.
** `lurk run [OPTIONS] [SCRIPT [ARGS]] -- PROGRAM [ARGS]` checks the program,
** puts liblurk.so into its environment (LD_PRELOAD, LURK_OPTIONS) and execs
** it. This is an ordinary program: it may use libc freely.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lurk.h"
#include "opt.h"

#define USAGE_EXIT 2

static const char usage_text[] =
  "usage: lurk run [OPTIONS] [SCRIPT [ARGS...]] -- PROGRAM [ARGS...]\n"
  "       lurk --help | --version\n"
  "\n"
  "Runs PROGRAM from lurk's code cache. With no SCRIPT, the null tool runs:\n"
  "the program is translated and executed without instrumentation.\n"
  "\n"
  "Options:\n"
  "  --output FILE   write lurk's own messages to FILE (default: stderr)\n"
  "  --log LEVEL     error, warn (default), info or debug (or 0-3)\n"
  "  --stats         print engine statistics when the program exits\n"
  "  -e CODE         run the Lua chunk CODE in lurk before the program starts\n"
  "                  (print goes to lurk's output; events arrive with issue #4)\n"
  "  --no-follow     do not follow the program into the programs it execs\n"
  "  --far-cache     testing aid: keep the code cache out of rel32 reach of the\n"
  "                  program, so every rip-relative operand is rewritten\n"
  "  -h, --help      show this help\n"
  "  --version       show the version\n";

static void usage_error(const char *fmt, const char *arg)
{
  fprintf(stderr, "lurk: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'lurk --help' for more information.\n");
  exit(USAGE_EXIT);
}

static int parse_level(const char *s)
{
  static const char *const names[] = { "error", "warn", "info", "debug" };
  for (int i = 0; i < 4; i++)
    if (!strcmp(s, names[i]) || (s[0] == '0' + i && !s[1])) return i;
  usage_error("bad --log level '%s' (error, warn, info, debug)", s);
  return 0;
}

/* Find prog like execvp: a name with a slash as is, else along PATH.
** Returns a malloc'ed path; on failure exits 127/126 with the shell's words. */
static char *resolve(const char *prog)
{
  struct stat st;
  if (strchr(prog, '/')) {
    if (stat(prog, &st) != 0) {
      fprintf(stderr, "lurk: %s: %s\n", prog, strerror(errno));
      exit(errno == ENOENT ? 127 : 126);
    }
    return strdup(prog);
  }
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  char *found_noexec = NULL;
  for (const char *p = path;; ) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)n, n ? p : ".", "/", prog);
    if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(buf, X_OK) == 0) return strdup(buf);
      if (!found_noexec) found_noexec = strdup(buf);
    }
    if (!end) break;
    p = end + 1;
  }
  if (found_noexec) return found_noexec;
  fprintf(stderr, "lurk: %s: command not found\n", prog);
  exit(127);
}

/* Refuse what LD_PRELOAD cannot reach: static and setuid/setgid programs. */
static void check_program(const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0) { fprintf(stderr, "lurk: %s: %s\n", path, strerror(errno)); exit(127); }
  if (S_ISDIR(st.st_mode)) { fprintf(stderr, "lurk: %s: Is a directory\n", path); exit(126); }
  if (access(path, X_OK) != 0) { fprintf(stderr, "lurk: %s: %s\n", path, strerror(errno)); exit(126); }
  if (st.st_mode & (S_ISUID | S_ISGID)) {
    fprintf(stderr, "lurk: %s is setuid/setgid: the loader ignores LD_PRELOAD for it, so lurk "
            "cannot run it (not supported yet)\n", path);
    exit(126);
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return; /* exec will say why */
  unsigned char eh[64];
  if (pread(fd, eh, 64, 0) == 64 && !memcmp(eh, "\177ELF", 4)) {
    uint64_t phoff; uint16_t phentsize, phnum;
    int interp = 0;
    memcpy(&phoff, eh + 32, 8);
    memcpy(&phentsize, eh + 54, 2);
    memcpy(&phnum, eh + 56, 2);
    for (unsigned i = 0; i < phnum; i++) {
      uint32_t type;
      if (pread(fd, &type, 4, (off_t)(phoff + (uint64_t)i * phentsize)) != 4) break;
      if (type == 3) interp = 1; /* PT_INTERP */
    }
    if (!interp) {
      fprintf(stderr, "lurk: %s is statically linked: lurk injects with LD_PRELOAD, which "
              "cannot reach static programs (not supported yet)\n", path);
      close(fd);
      exit(126);
    }
  }
  close(fd);
}

/* liblurk.so next to the lurk binary, or in ../lib/lurk/. */
static char *find_lib(void)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) { fprintf(stderr, "lurk: cannot find my own path\n"); exit(125); }
  self[n] = 0;
  char *slash = strrchr(self, '/');
  *slash = 0;
  static const char *const rel[] = { "/liblurk.so", "/../lib/lurk/liblurk.so" };
  for (int i = 0; i < 2; i++) {
    char buf[PATH_MAX + 32];
    snprintf(buf, sizeof buf, "%s%s", self, rel[i]);
    if (access(buf, R_OK) == 0) return realpath(buf, NULL);
  }
  fprintf(stderr, "lurk: cannot find liblurk.so next to %s\n", self);
  exit(125);
}

static char *cat(const char *a, const char *b)
{
  char *s = malloc(strlen(a) + strlen(b) + 1);
  strcpy(s, a);
  strcat(s, b);
  return s;
}

extern char **environ;

static int cmd_run(int argc, char **argv)
{
  int i = 0, dashdash = -1;
  for (int k = 0; k < argc; k++)
    if (!strcmp(argv[k], "--")) { dashdash = k; break; }
  if (dashdash < 0) usage_error("missing '--' before the program%s", "");
  if (dashdash == argc - 1) usage_error("missing the program after '--'%s", "");
  for (; i < dashdash && argv[i][0] == '-'; i++) {
    const char *a = argv[i], *val = NULL;
    const char *eq = strchr(a, '=');
    size_t klen = eq ? (size_t)(eq - a) : strlen(a);
#define TAKES(name) (klen == strlen(name) && !strncmp(a, name, klen))
#define VALUE() (eq ? eq + 1 : (i + 1 < dashdash ? argv[++i] : (usage_error("option '%s' needs a value", a), "")))
    if (TAKES("--output")) { val = VALUE(); opt.output = val; }
    else if (TAKES("--log")) { val = VALUE(); opt.log_level = parse_level(val); }
    else if (TAKES("--stats") && !eq) opt.stats = 1;
    else if (TAKES("-e")) { val = VALUE(); opt.eval = val; }
    else if (TAKES("--no-follow") && !eq) opt.follow = 0;
    else if (TAKES("--far-cache") && !eq) opt.far_cache = 1;
    else usage_error("unknown option '%s'", a);
  }
  if (i < dashdash)
    usage_error("tool scripts are not supported yet (got '%s'); run the null tool with "
                "'lurk run -- PROGRAM'", argv[i]);
  char *prog = resolve(argv[dashdash + 1]);
  check_program(prog);
  opt.lib = find_lib();
  if (opt.output) {
    char *abs = opt.output[0] == '/' ? strdup(opt.output) : NULL;
    if (!abs) { char cwd[PATH_MAX]; if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0; abs = cat(cat(cwd, "/"), opt.output); }
    int fd = open(abs, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { fprintf(stderr, "lurk: cannot open --output file %s: %s\n", abs, strerror(errno)); exit(125); }
    close(fd);
    opt.output = abs;
  }
  /* Build the environment: LD_PRELOAD where the app had it (or last), then
  ** the app's own value aside, then the options. liblurk.so undoes this. */
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 4, sizeof *env);
  size_t k = 0;
  const char *app_preload = NULL;
  for (size_t j = 0; j < n; j++) {
    if (!strncmp(environ[j], "LURK_OPTIONS=", 13) || !strncmp(environ[j], "LURK_APP_PRELOAD=", 17))
      continue;
    if (!strncmp(environ[j], "_=", 2)) {
      /* The shell set $_ to the command it ran: lurk. Say what it would
      ** have said running the program itself. */
      char *a = realpath(environ[j] + 2, NULL), *b = realpath("/proc/self/exe", NULL);
      if (a && b && !strcmp(a, b)) { env[k++] = cat("_=", prog); continue; }
    }
    if (!strncmp(environ[j], "LD_PRELOAD=", 11) && !app_preload) {
      app_preload = environ[j] + 11;
      env[k++] = cat(cat(cat("LD_PRELOAD=", opt.lib), *app_preload ? ":" : ""), app_preload);
    } else {
      env[k++] = environ[j];
    }
  }
  if (!app_preload) env[k++] = cat("LD_PRELOAD=", opt.lib);
  else env[k++] = cat("LURK_APP_PRELOAD=", app_preload);
  char optbuf[8192];
  opt_format(optbuf, sizeof optbuf);
  env[k++] = cat("LURK_OPTIONS=", optbuf);
  env[k] = NULL;
  execve(prog, argv + dashdash + 1, env);
  int err = errno;
  fprintf(stderr, "lurk: %s: %s\n", argv[dashdash + 1], strerror(err));
  return err == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
  if (argc < 2) usage_error("missing command%s", "");
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) { fputs(usage_text, stdout); return 0; }
  if (!strcmp(argv[1], "--version")) { printf("lurk " LURK_VERSION "\n"); return 0; }
  if (!strcmp(argv[1], "run")) return cmd_run(argc - 2, argv + 2);
  if (argv[1][0] == '-') usage_error("unknown option '%s'", argv[1]);
  usage_error("unknown command '%s' (try 'lurk run -- PROGRAM')", argv[1]);
  return USAGE_EXIT;
}
