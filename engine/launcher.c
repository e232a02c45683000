/* lurk: the command-line launcher.
** `lurk run [OPTIONS] [SCRIPT [ARGS]] -- PROGRAM [ARGS]` checks the program,
** puts liblurk.so into its environment (LD_PRELOAD, LURK_OPTIONS) and execs
** it. This is an ordinary program: it may use libc freely.
*/
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lurk.h"
#include "attach_client.h"
#include "ctl_client.h"
#include "opt.h"

#define USAGE_EXIT 2

static const char usage_text[] =
  "usage: lurk run [OPTIONS] [SCRIPT [ARGS...]] -- PROGRAM [ARGS...]\n"
  "       lurk repl [OPTIONS] [SCRIPT [ARGS...]] -- PROGRAM [ARGS...]\n"
  "                                 run PROGRAM with a Lua prompt into it\n"
  "       lurk attach [OPTIONS] PID [SCRIPT [ARGS...]]\n"
  "                                 take over the running process PID (every\n"
  "                                 thread, by ptrace) and open a Lua prompt\n"
  "                                 into it, SCRIPT loaded; with -e CODE, run\n"
  "                                 CODE there and return (lurk stays in)\n"
  "       lurk nudge PID CODE       run the Lua chunk CODE in a process started\n"
  "                                 with --ctl (or by lurk repl); print the result\n"
  "       lurk list                 the tool scripts lurk finds, one line each\n"
  "       lurk help [SCRIPT]        this help, or a script's usage header\n"
  "       lurk --help | --version\n"
  "\n"
  "Runs PROGRAM from lurk's code cache, with the Lua tool SCRIPT (a path, or\n"
  "a name looked up along LURK_PATH and in lurk's scripts/ directory; ARGS\n"
  "go to the script). With no script, the null tool runs.\n"
  "\n"
  "  lurk run inscount -- /bin/ls           count the instructions ls runs\n"
  "  lurk run -t strace -t opcodes=5 -- ls  two tools\n"
  "  lurk run -e 'print(#lurk.modules())' -- /bin/true\n"
  "\n"
  "Options (before '--'; after SCRIPT, lurk's own options are still lurk's\n"
  "and every other word is an argument of SCRIPT):\n"
  "  -t TOOL[=A,B..]  also run the tool script TOOL (by name or path) with the\n"
  "                   arguments A, B, ... (repeatable)\n"
  "  -e CODE          also run the Lua chunk CODE (repeatable); scripts, tools\n"
  "                   and chunks run in command-line order\n"
  "  --output FILE    write lurk's output (scripts' print, messages) to FILE\n"
  "                   (default: stderr)\n"
  "  --log LEVEL      error, warn (default), info or debug (or 0-3)\n"
  "  --stats          print engine statistics when the program exits\n"
  "  --ctl            serve the control channel (/tmp/lurk-UID/PID), for\n"
  "                   lurk nudge: one more thread in the program, asleep\n"
  "  --watch          reload a script file when it changes (implies --ctl;\n"
  "                   its handlers replaced, lurk.keep kept; docs/lua-api.md)\n"
  "  --no-follow      do not follow the program into the programs it execs\n"
  "  --no-inline      call every clean-call handler, even those simple enough\n"
  "                   to be inlined or compiled (docs/lua-api.md, Compiled handlers)\n"
  "  --explain        at exit, say for each clean-call handler whether it was\n"
  "                   compiled inline and, if not, the first construct that\n"
  "                   prevented it (file:line)\n"
  "  --far-cache      testing aid: keep the code cache out of rel32 reach of\n"
  "                   the program, so every rip-relative operand is rewritten\n"
  "  --preload        start lurk with LD_PRELOAD instead of at the program's\n"
  "                   first instruction (the default, --early: lurk maps the\n"
  "                   program itself, so ld.so, IFUNC resolvers, constructors\n"
  "                   and static programs are seen): the program's loader and\n"
  "                   its libraries' constructors then run before lurk, static\n"
  "                   programs are refused, and LD_PRELOAD shows in environ\n"
  "  --mangle-fs      testing aid: rewrite the program's fs operands even where\n"
  "                   the CPU has FSGSBASE (without it, lurk always does)\n"
  "  --no-superblocks end every block at its first conditional branch even\n"
  "                   when no tool instruments it (to measure superblocks)\n"
  "  -h, --help       show this help\n"
  "  --version        show the version\n"
  "\n"
  "Exit status: the program's; 2 for a usage error, 1 for a script error, 125\n"
  "when lurk fails, 126/127 when the program cannot be run or found.\n"
  "\n"
  "Environment: LURK_PATH, directories (separated by ':') searched for tool\n"
  "scripts and for modules that scripts require, before lurk's own.\n"
  "See lurk(1) and docs/lua-api.md.\n";

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

/* Refuse what lurk cannot run as the kernel would: setuid/setgid programs,
** and static ones with --preload (LD_PRELOAD cannot reach them). */
static void check_program(const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0) { fprintf(stderr, "lurk: %s: %s\n", path, strerror(errno)); exit(127); }
  if (S_ISDIR(st.st_mode)) { fprintf(stderr, "lurk: %s: Is a directory\n", path); exit(126); }
  if (access(path, X_OK) != 0) { fprintf(stderr, "lurk: %s: %s\n", path, strerror(errno)); exit(126); }
  if (st.st_mode & (S_ISUID | S_ISGID)) {
    fprintf(stderr, "lurk: %s is setuid/setgid: lurk cannot give it the privileges the kernel "
            "would (not supported yet)\n", path);
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
    if (!interp && !opt.early) {
      fprintf(stderr, "lurk: %s is statically linked: --preload injects with LD_PRELOAD, which "
              "cannot reach static programs; run it without --preload\n", path);
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

/* -- Scripts ---------------------------------------------------------- */

/* The scripts to run, one entry each in command-line order, already
** encoded for LURK_OPTIONS (opt.h); joined into `scripts` at the end. */
static struct { char *s; size_t len, cap; } entries[512];
static int nentries, cur_entry = -1, reserved_entry = -1;
static char *scripts;

static void scripts_put(const char *s, size_t n)
{
  typeof(entries[0]) *e = &entries[cur_entry];
  if (e->len + n + 1 > e->cap) {
    e->cap = (e->len + n + 1) * 2;
    e->s = realloc(e->s, e->cap);
  }
  memcpy(e->s + e->len, s, n);
  e->len += n;
  e->s[e->len] = 0;
}

/* One field of a script: the bytes that separate fields and options cannot
** travel in LURK_OPTIONS, so they are refused. */
static void scripts_field(const char *s, size_t n, int first)
{
  for (size_t k = 0; k < n; k++)
    if (s[k] == OPT_SEP || s[k] == OPT_SCRIPT_SEP || s[k] == OPT_FIELD_SEP)
      usage_error("a script argument contains a control byte (0x1d-0x1f): '%s'", s);
  if (!first) scripts_put((char[]){ OPT_FIELD_SEP }, 1);
  scripts_put(s, n);
}

/* Start a new entry of kind 'f' (file) or 'e' (chunk); the reserved one
** (the positional SCRIPT, whose arguments come later) if asked. */
static void scripts_begin(char kind, int reserved)
{
  if (reserved) cur_entry = reserved_entry;
  else {
    if (nentries == (int)(sizeof entries / sizeof entries[0])) usage_error("too many scripts%s", "");
    cur_entry = nentries++;
  }
  scripts_put(&kind, 1);
}

static void scripts_reserve(void)
{
  if (nentries == (int)(sizeof entries / sizeof entries[0])) usage_error("too many scripts%s", "");
  reserved_entry = nentries++;
}

/* Join the entries (empty ones: a reserved entry never filled) into `scripts`. */
static void scripts_join(void)
{
  size_t n = 1;
  for (int i = 0; i < nentries; i++) n += entries[i].len + 1;
  char *p = calloc(n, 1);
  for (int i = 0; i < nentries; i++) {
    if (!entries[i].len) continue;
    if (*p) p[strlen(p)] = OPT_SCRIPT_SEP;
    strcat(p, entries[i].s);
  }
  scripts = *p ? p : NULL;
}

/* Is path a directory? */
static int is_dir(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* lurk's home: the directory that holds scripts/ and lua/. Installed
** (bin/lurk, share/lurk/), a build directory inside the source tree
** (build/lurk, ../scripts), or the source tree this lurk was built from
** (LURK_SOURCE_DIR, compiled in). NULL if none has a scripts/ directory. */
static const char *lurk_home(void)
{
  static char *home;
  if (home) return home;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return NULL;
  self[n] = 0;
  *strrchr(self, '/') = 0;
  char cand[3][PATH_MAX + 32];
  snprintf(cand[0], sizeof cand[0], "%s/../share/lurk", self);
  snprintf(cand[1], sizeof cand[1], "%s/..", self);
#ifdef LURK_SOURCE_DIR
  snprintf(cand[2], sizeof cand[2], "%s", LURK_SOURCE_DIR);
#else
  cand[2][0] = 0;
#endif
  for (int i = 0; i < 3; i++) {
    char sub[sizeof cand[0] + 16];
    snprintf(sub, sizeof sub, "%.4096s/scripts", cand[i]);
    if (cand[i][0] && is_dir(sub)) return home = realpath(cand[i], NULL);
  }
  return NULL;
}

/* The directories searched for scripts by name and for modules: LURK_PATH's
** entries (those that exist, made absolute), then lurk's own (lua/ only for
** modules). NULL-terminated; lua_dirs says whether lua/ is included. */
static char **search_dirs(int with_lua)
{
  static char *dirs[2][64];
  char **d = dirs[with_lua];
  if (d[0]) return d;
  int k = 0;
  const char *p = getenv("LURK_PATH");
  while (p && *p && k < 60) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *one = strndup(p, n);
    char *abs = n ? realpath(one, NULL) : NULL;
    if (abs && is_dir(abs)) d[k++] = abs;
    free(one);
    if (!end) break;
    p = end + 1;
  }
  const char *home = lurk_home();
  if (home && with_lua) d[k++] = cat(home, "/lua");
  if (home) d[k++] = cat(home, "/scripts");
  d[k] = NULL;
  return d;
}

/* Find a script: a path if it names one (has a '/', or exists), else NAME
** or NAME.lua in the search directories. Returns its absolute path; a
** script that cannot be found is a usage error. */
static char *find_script(const char *name)
{
  struct stat st;
  if (!*name) usage_error("empty script name%s", "");
  if (strchr(name, '/') || stat(name, &st) == 0) {
    if (stat(name, &st) != 0 || access(name, R_OK) != 0) {
      fprintf(stderr, "lurk: cannot open script '%s': %s\n", name, strerror(errno));
      exit(USAGE_EXIT);
    }
    if (!S_ISREG(st.st_mode)) { fprintf(stderr, "lurk: script '%s' is not a file\n", name); exit(USAGE_EXIT); }
    return realpath(name, NULL);
  }
  char **d = search_dirs(0);
  for (int i = 0; d[i]; i++)
    for (int ext = 0; ext < 2; ext++) {
      char buf[PATH_MAX * 4];
      snprintf(buf, sizeof buf, "%s/%s%s", d[i], name, ext ? ".lua" : "");
      if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, R_OK) == 0) return strdup(buf);
    }
  fprintf(stderr, "lurk: cannot find script '%s' (looked for %s and %s.lua in", name, name, name);
  for (int i = 0; d[i]; i++) fprintf(stderr, "%s %s", i ? "," : "", d[i]);
  fprintf(stderr, "%s)\n", d[0] ? "" : " no directory: LURK_PATH is unset and lurk's scripts/ is missing");
  exit(USAGE_EXIT);
}

/* Directories of the scripts given on the command line: searched first by
** require, so a script finds the modules next to it. */
static char *script_dirs[64];
static int n_script_dirs;

static void add_script_dir(const char *path)
{
  char *dir = strdup(path);
  *strrchr(dir, '/') = 0;
  for (int i = 0; i < n_script_dirs; i++)
    if (!strcmp(script_dirs[i], dir)) { free(dir); return; }
  if (n_script_dirs < 64) script_dirs[n_script_dirs++] = dir;
}

/* A script file with its display name and argv-style arguments; in the
** reserved place (the positional SCRIPT) if reserved. */
static void add_script_entry(const char *name, int argc, char **argv, int reserved)
{
  char *path = find_script(name);
  add_script_dir(path);
  scripts_begin('f', reserved);
  scripts_field(path, strlen(path), 1);
  scripts_field(name, strlen(name), 0);
  for (int k = 0; k < argc; k++) scripts_field(argv[k], strlen(argv[k]), 0);
  free(path);
}

/* -t TOOL[=A,B,...]: the tool's arguments are split at commas (as luajit's
** -jCMD=arg,arg), so an argument cannot contain one. */
static void add_tool(const char *spec)
{
  const char *eq = strchr(spec, '=');
  char *name = eq ? strndup(spec, (size_t)(eq - spec)) : strdup(spec);
  char *args[256];
  int n = 0;
  if (eq && eq[1]) {
    char *copy = strdup(eq + 1);
    for (char *a = copy;; ) {
      char *c = strchr(a, ',');
      if (c) *c = 0;
      if (n == 256) usage_error("too many arguments for tool '%s'", name);
      args[n++] = a;
      if (!c) break;
      a = c + 1;
    }
  }
  add_script_entry(name, n, args, 0);
}

static void add_script_at(const char *name, int argc, char **argv)
{
  add_script_entry(name, argc, argv, 1);
}

static void add_eval(const char *code)
{
  scripts_begin('e', 0);
  scripts_field(code, strlen(code), 1);
  scripts_field("(command line)", 14, 0);
}

/* The module search path for require, as option "path": the scripts'
** directories, LURK_PATH, lurk's lua/ and scripts/. */
static char *module_path(void)
{
  char **d = search_dirs(1);
  size_t n = 1;
  for (int i = 0; i < n_script_dirs; i++) n += strlen(script_dirs[i]) + 1;
  for (int i = 0; d[i]; i++) n += strlen(d[i]) + 1;
  char *p = calloc(n, 1);
  for (int i = 0; i < n_script_dirs; i++) {
    if (*p) strcat(p, ":");
    strcat(p, script_dirs[i]);
  }
  for (int i = 0; d[i]; i++) {
    int dup = 0;
    for (int j = 0; j < n_script_dirs; j++) dup |= !strcmp(script_dirs[j], d[i]);
    if (dup) continue;
    if (*p) strcat(p, ":");
    strcat(p, d[i]);
  }
  return p;
}


/* One of lurk's own options at argv[*i] (before end): applied, and 1; 0 if
** it is not one. An option that takes a value takes the next word. */
static int run_option(char **argv, int *i, int end)
{
  const char *a = argv[*i], *val = NULL;
  const char *eq = a[0] == '-' && a[1] == '-' ? strchr(a, '=') : NULL;
  size_t klen = eq ? (size_t)(eq - a) : strlen(a);
#define TAKES(name) (klen == strlen(name) && !strncmp(a, name, klen))
#define VALUE() (eq ? eq + 1 : (*i + 1 < end ? argv[++*i] : (usage_error("option '%s' needs a value", a), "")))
  if (TAKES("--output")) { val = VALUE(); opt.output = val; }
  else if (TAKES("--log")) { val = VALUE(); opt.log_level = parse_level(val); }
  else if (TAKES("--stats") && !eq) opt.stats = 1;
  else if (TAKES("--ctl") && !eq) opt.ctl = 1;
  else if (TAKES("--watch") && !eq) opt.ctl = opt.watch = 1;
  else if (TAKES("-e")) { val = VALUE(); add_eval(val); }
  else if (TAKES("-t")) { val = VALUE(); add_tool(val); }
  else if (TAKES("--no-follow") && !eq) opt.follow = 0;
  else if (TAKES("--far-cache") && !eq) opt.far_cache = 1;
  else if (TAKES("--no-superblocks") && !eq) opt.superblocks = 0;
  else if (TAKES("--early") && !eq) opt.early = 1;
  else if (TAKES("--preload") && !eq) opt.early = 0;
  else if (TAKES("--mangle-fs") && !eq) opt.mangle_fs = 1;
  else if (TAKES("--no-inline") && !eq) opt.inline_calls = 0;
  else if (TAKES("--explain") && !eq) opt.explain = 1;
  else return 0;
#undef TAKES
#undef VALUE
  return 1;
}

static int is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

static int repl_start(char *prog, char **argv, char **env);

/* The app's environment is the launcher's, but for $_, which the shell set
** to the command it ran (lurk): what it would have said running prog. */
static void fix_underscore(char **env, const char *prog)
{
  for (size_t j = 0; env[j]; j++) {
    if (strncmp(env[j], "_=", 2)) continue;
    char *a = realpath(env[j] + 2, NULL), *b = realpath("/proc/self/exe", NULL);
    if (a && b && !strcmp(a, b)) env[j] = cat("_=", prog);
    free(a);
    free(b);
  }
}

/* --early: this process becomes the app. liblurk.so, loaded here, maps the
** program itself and runs it from its first instruction (engine/inj.c). A
** "#!" script becomes its interpreter with the script's path, as the kernel
** does it (4 levels at most). */
static int early_boot(char *path, char *execfn, char **argv, char **env)
{
  long nargs = 0;
  while (argv[nargs]) nargs++;
  char **args = calloc((size_t)nargs + 1, sizeof *args);
  memcpy(args, argv, (size_t)nargs * sizeof *args);
  char *prog = path;
  for (int depth = 0; depth < 5; depth++) {
    char line[256];
    int fd = open(prog, O_RDONLY | O_CLOEXEC);
    ssize_t r = fd < 0 ? -1 : read(fd, line, sizeof line - 1);
    if (fd >= 0) close(fd);
    if (r < 2 || line[0] != '#' || line[1] != '!') break;
    if (depth == 4) { fprintf(stderr, "lurk: %s: too many levels of #! interpreters\n", path); return 126; }
    line[r] = 0;
    char *s = line + 2, *e = strchr(s, '\n');
    if (e) *e = 0;
    while (*s == ' ' || *s == '\t') s++;
    char *interp = s;
    while (*s && *s != ' ' && *s != '\t') s++;
    char *arg = NULL;
    if (*s) {
      *s++ = 0;
      while (*s == ' ' || *s == '\t') s++;
      char *t = s + strlen(s);
      while (t > s && (t[-1] == ' ' || t[-1] == '\t')) *--t = 0;
      if (*s) arg = s;
    }
    /* argv: interpreter, its argument, the script's path, the rest */
    int extra = arg ? 2 : 1;
    args = realloc(args, ((size_t)nargs + 4) * sizeof *args);
    memmove(args + extra + 1, args + 1, (size_t)(nargs > 0 ? nargs - 1 : 0) * sizeof *args);
    args[0] = strdup(interp);
    if (arg) args[1] = strdup(arg);
    args[extra] = prog;
    nargs = (nargs > 0 ? nargs - 1 : 0) + extra + 1;
    args[nargs] = NULL;
    prog = strdup(interp);
  }
  typedef void boot_fn(const char *, const char *, const char *, char **, char **);
  void *h = dlopen(opt.lib, RTLD_NOW | RTLD_LOCAL);
  boot_fn *boot = h ? (boot_fn *)dlsym(h, "lurk_boot") : NULL;
  if (!boot) {
    fprintf(stderr, "lurk: cannot load %s: %s\n", opt.lib, dlerror());
    return 125;
  }
  size_t olen = opt_format(NULL, 0);
  char *optbuf = malloc(olen + 1);
  opt_format(optbuf, olen + 1);
  fflush(NULL);
  boot(optbuf, prog, execfn, args, env);
  return 125;
}

/* lurk run --early: the app's environment is lurk's (lurk's own variables
** out, $_ as the shell would have set it). */
static int early_start(char *prog, char **argv)
{
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 1, sizeof *env);
  size_t k = 0;
  for (size_t j = 0; j < n; j++)
    if (strncmp(environ[j], "LURK_OPTIONS=", 13) && strncmp(environ[j], "LURK_APP_PRELOAD=", 17))
      env[k++] = environ[j];
  fix_underscore(env, prog);
  return early_boot(prog, prog, argv, env);
}

/* lurk __exec OPTIONS PROG PATH ARGC ARGV... ENVP...: an execve made under
** --early (engine/scall.c exec_early), with lurk's environment empty. */
static int cmd_exec(int argc, char **argv)
{
  if (argc < 4 || LURK_FAILED(opt_parse(argv[0]))) usage_error("__exec is lurk's own command%s", "");
  long nargs = strtol(argv[3], NULL, 10);
  if (nargs < 0 || nargs > argc - 4) usage_error("__exec: bad argument count%s", "");
  char **args = calloc((size_t)nargs + 1, sizeof *args), **env = argv + 4 + nargs;
  memcpy(args, argv + 4, (size_t)nargs * sizeof *args);
  return early_boot(argv[1], argv[2], args, env);
}

/* lurk run, or lurk repl (repl: the program is started with the control
** channel and a prompt opens into it). */
static int cmd_run(int argc, char **argv, int repl)
{
  if (repl) opt.ctl = 1;
  opt.early = 1; /* (the engine's default is 0: liblurk.so under LD_PRELOAD) */
  int dashdash = -1;
  for (int k = 0; k < argc; k++)
    if (!strcmp(argv[k], "--")) { dashdash = k; break; }
  int end = dashdash < 0 ? argc : dashdash;
  for (int k = 0; k < end; k++)
    if (is_help(argv[k])) { fputs(usage_text, stdout); exit(0); }
  if (dashdash < 0) usage_error("missing '--' before the program (lurk run [OPTIONS] [SCRIPT] -- PROGRAM)%s", "");
  if (dashdash == argc - 1) usage_error("missing the program after '--'%s", "");
  /* Options, then SCRIPT and its arguments, among which lurk's own options
  ** are still lurk's: `lurk run strace -e CODE out.txt -- ls`. */
  int script = -1;
  char **sargs = calloc((size_t)argc + 1, sizeof *sargs);
  int nsargs = 0;
  for (int i = 0; i < dashdash; i++) {
    if (run_option(argv, &i, dashdash)) continue;
    if (script < 0 && argv[i][0] == '-' && argv[i][1]) usage_error("unknown option '%s'", argv[i]);
    if (script < 0) {
      script = i;
      scripts_reserve();               /* its place in command-line order */
    } else {
      sargs[nsargs++] = argv[i];
    }
  }
  if (script >= 0) add_script_at(argv[script], nsargs, sargs);
  free(sargs);
  scripts_join();
  if (scripts) opt.scripts = scripts;
  if (scripts || opt.ctl) opt.path = module_path(); /* the channel requires lurk.repl */
  char *prog = resolve(argv[dashdash + 1]);
  opt.lib = find_lib();
  check_program(prog);
  if (opt.output) {
    char *abs = opt.output[0] == '/' ? strdup(opt.output) : NULL;
    if (!abs) { char cwd[PATH_MAX]; if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0; abs = cat(cat(cwd, "/"), opt.output); }
    int fd = open(abs, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { fprintf(stderr, "lurk: cannot open --output file %s: %s\n", abs, strerror(errno)); exit(125); }
    close(fd);
    opt.output = abs;
  }
  if (opt.early) opt.launcher = realpath("/proc/self/exe", NULL);
  if (opt.early && !repl) return early_start(prog, argv + dashdash + 1);
  if (opt.early) return repl_start(prog, argv + dashdash + 1, environ);
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
  size_t olen = opt_format(NULL, 0);
  char *optbuf = malloc(olen + 1);
  opt_format(optbuf, olen + 1);
  env[k++] = cat("LURK_OPTIONS=", optbuf);
  env[k] = NULL;
  if (repl) return repl_start(prog, argv + dashdash + 1, env);
  execve(prog, argv + dashdash + 1, env);
  int err = errno;
  fprintf(stderr, "lurk: %s: %s\n", argv[dashdash + 1], strerror(err));
  return err == ENOENT ? 127 : 126;
}

/* -- repl and nudge ----------------------------------------------------- */

static volatile pid_t repl_pgid;

/* Once the prompt is closed, ctrl-C & co. go to the program, as with lurk run. */
static void repl_forward(int sig) { if (repl_pgid > 0) kill(-repl_pgid, sig); }

/* The program runs in its own process group (ctrl-C at the prompt is the
** prompt's) with stdin from /dev/null (the prompt reads the terminal);
** stdout and stderr stay the terminal's. After the prompt, wait for it and
** end as it did. */
static int repl_start(char *prog, char **argv, char **env)
{
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) { fprintf(stderr, "lurk: fork: %s\n", strerror(errno)); return 125; }
  if (pid == 0) {
    setpgid(0, 0);
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != 0) { dup2(fd, 0); close(fd); }
    if (opt.early) { /* the same start as an exec under --early: lurk __exec */
      size_t na = 0, ne = 0;
      while (argv[na]) na++;
      while (env[ne]) ne++;
      char **v = calloc(na + ne + 8, sizeof *v), count[24], *noenv[1] = { NULL };
      size_t olen = opt_format(NULL, 0), k = 0;
      char *optbuf = malloc(olen + 1);
      opt_format(optbuf, olen + 1);
      snprintf(count, sizeof count, "%zu", na);
      v[k++] = (char *)opt.launcher;
      v[k++] = "__exec";
      v[k++] = optbuf;
      v[k++] = prog;
      v[k++] = prog;
      v[k++] = count;
      for (size_t i = 0; i < na; i++) v[k++] = argv[i];
      for (size_t i = 0; i < ne; i++) v[k++] = env[i];
      execve(opt.launcher, v, noenv);
    } else {
      execve(prog, argv, env);
    }
    int err = errno;
    fprintf(stderr, "lurk: %s: %s\n", argv[0], strerror(err));
    _exit(err == ENOENT ? 127 : 126);
  }
  setpgid(pid, pid);
  repl_pgid = pid;
  /* Wait for the channel: it opens before the program's first instruction. */
  char path[128];
  snprintf(path, sizeof path, "/tmp/lurk-%u/%ld", (unsigned)geteuid(), (long)pid);
  int status, ended = 0;
  for (int i = 0; i < 1000; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid) { ended = 1; break; }
    if (access(path, F_OK) == 0) break;
    usleep(10000);
  }
  if (!ended) {
    if (access(path, F_OK) != 0) fprintf(stderr, "lurk: no control channel at %s after 10 s\n", path);
    else ctl_client_repl(pid, prog);
    struct sigaction sa = { .sa_handler = repl_forward };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    while (waitpid(pid, &status, 0) < 0)
      if (errno != EINTR) { fprintf(stderr, "lurk: waitpid: %s\n", strerror(errno)); return 125; }
  } else {
    fprintf(stderr, "lurk: %s ended before its control channel opened\n", prog);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  int sig = WTERMSIG(status);
  signal(sig, SIG_DFL);
  raise(sig);
  return 128 + sig;
}

static int cmd_nudge(int argc, char **argv)
{
  if (argc >= 1 && is_help(argv[0])) { fputs(usage_text, stdout); return 0; }
  if (argc != 2) usage_error("usage: lurk nudge PID CODE%s", "");
  char *end;
  long pid = strtol(argv[0], &end, 10);
  if (*end || end == argv[0] || pid <= 0) usage_error("bad pid '%s'", argv[0]);
  return ctl_client_nudge(pid, argv[1]);
}

/* -- attach ---------------------------------------------------------------- */

/* s as a Lua string literal (appended to the malloc'ed *out). */
static void lua_quote(char **out, const char *s)
{
  size_t n = strlen(*out), cap = n + strlen(s) * 4 + 3;
  *out = realloc(*out, cap + 1);
  char *d = *out + n;
  *d++ = '"';
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') { *d++ = '\\'; *d++ = (char)*p; }
    else if (*p < 32 || *p >= 127) d += sprintf(d, "\\%03u", *p);
    else *d++ = (char)*p;
  }
  *d++ = '"';
  *d = 0;
}

/* Why an attach was refused: what ptrace's EPERM means here, and what to do. */
static void attach_eperm_advice(long pid)
{
  int scope = -1;
  FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
  if (f) { if (fscanf(f, "%d", &scope) != 1) scope = -1; fclose(f); }
  if (scope >= 1 && scope <= 3)
    fprintf(stderr, "lurk: Yama ptrace_scope is %d (/proc/sys/kernel/yama/ptrace_scope): %s.\n", scope,
            scope == 1 ? "a process may be traced only by its ancestors, and lurk is not one of its"
            : scope == 2 ? "only a process with CAP_SYS_PTRACE may trace"
                         : "nothing may trace until the next boot");
  else
    fprintf(stderr, "lurk: ptrace refused%s: the process belongs to another user, is not dumpable\n"
            "lurk:   (setuid, prctl PR_SET_DUMPABLE 0), or has capabilities lurk lacks.\n",
            scope == 0 ? " (Yama ptrace_scope is 0)" : " (no Yama ptrace_scope here)");
  if (scope == 3) return;
  fprintf(stderr, "lurk: run lurk as the process's user with CAP_SYS_PTRACE, or as root: sudo lurk attach %ld,\n"
          "lurk:   or sudo setcap cap_sys_ptrace+ep \"$(command -v lurk)\"%s\n", pid,
          scope == 1 ? ";\nlurk:   or allow it until the next boot: sudo sysctl kernel.yama.ptrace_scope=0" : "");
}

/* lurk attach [OPTIONS] PID [SCRIPT [ARGS]]: take the process over, then
** load the scripts and chunks (in command-line order) through the control
** channel, so that their output and errors come back here; then the prompt,
** unless a chunk (-e) was given. */
static int cmd_attach(int argc, char **argv)
{
  long pid = 0;
  int script = -1;
  char **sargs = calloc((size_t)argc + 1, sizeof *sargs);
  int nsargs = 0;
  for (int k = 0; k < argc; k++)
    if (is_help(argv[k])) { fputs(usage_text, stdout); exit(0); }
  for (int i = 0; i < argc; i++) {
    if (run_option(argv, &i, argc)) continue;
    if ((script < 0 || !pid) && argv[i][0] == '-' && argv[i][1]) usage_error("unknown option '%s'", argv[i]);
    if (!pid) {
      char *end;
      pid = strtol(argv[i], &end, 10);
      if (*end || end == argv[i] || pid <= 0) usage_error("bad pid '%s' (lurk attach PID [SCRIPT...])", argv[i]);
    } else if (script < 0) {
      script = i;
      scripts_reserve();
    } else {
      sargs[nsargs++] = argv[i];
    }
  }
  if (!pid) usage_error("missing the pid (lurk attach PID [SCRIPT...])%s", "");
  if (script >= 0) add_script_at(argv[script], nsargs, sargs);
  free(sargs);
  opt.ctl = 1;
  opt.path = module_path();
  opt.lib = find_lib();
  if (opt.output) {
    char *abs = opt.output[0] == '/' ? strdup(opt.output) : NULL;
    if (!abs) { char cwd[PATH_MAX]; if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0; abs = cat(cat(cwd, "/"), opt.output); }
    opt.output = abs;
  }
  char comm[64] = "?", path[128];
  snprintf(path, sizeof path, "/proc/%ld/comm", pid);
  FILE *cf = fopen(path, "r");
  if (cf) { if (fgets(comm, sizeof comm, cf)) comm[strcspn(comm, "\n")] = 0; fclose(cf); }
  /* Under lurk already, with a channel that answers: talk to it. (The
  ** socket of an engine just detached may still be there, closing.) */
  snprintf(path, sizeof path, "/tmp/lurk-%u/%ld", (unsigned)geteuid(), pid);
  if (access(path, F_OK) != 0 || kill((pid_t)pid, 0) != 0 || !ctl_client_alive(pid)) {
    size_t olen = opt_format(NULL, 0);
    char *optbuf = malloc(olen + 1);
    opt_format(optbuf, olen + 1);
    struct attach_result res;
    int r = attach_client(pid, opt.lib, optbuf, &res);
    free(optbuf);
    if (r != ATTACH_OK) {
      fprintf(stderr, "lurk: %s\n", res.err);
      if (r == ATTACH_EPERM) attach_eperm_advice(pid);
      return 125;
    }
    if (opt.log_level >= 2)
      fprintf(stderr, "lurk: attached to pid %ld: %d thread%s in %.1f ms (all stopped after %.1f ms)%s\n", pid,
              res.nthreads, res.nthreads == 1 ? "" : "s", res.total_us / 1000.0, res.stopped_us / 1000.0,
              res.nkept ? "; threads still lurk's from before a detach stay so" : "");
  }
  int status = 0, chunks = 0;
  for (int i = 0; i < nentries; i++) {
    char *e = entries[i].s;
    if (!e || !entries[i].len) continue;
    char *fields[260];
    int nf = 0;
    for (char *p = e + 1, *q; nf < 260; p = q + 1) {
      q = strchr(p, OPT_FIELD_SEP);
      fields[nf++] = p;
      if (!q) break;
      *q = 0;
    }
    char *code;
    if (e[0] == 'e') {
      chunks++;
      code = strdup(fields[0]);
    } else {
      code = strdup("local _ = require('lurk.repl').load(");
      lua_quote(&code, fields[0]);
      for (int k = 2; k < nf; k++) {
        code = realloc(code, strlen(code) + 2);
        strcat(code, ",");
        lua_quote(&code, fields[k]);
      }
      code = realloc(code, strlen(code) + 2);
      strcat(code, ")");
    }
    if (ctl_client_nudge(pid, code)) status = 1;
    free(code);
  }
  if (chunks) return status;
  ctl_client_eof_detach = 1;
  ctl_client_repl(pid, comm);
  return status;
}

/* -- list and help ------------------------------------------------------ */

/* The header comment of a script: its leading comment lines (after a #!
** line), without the comment marks. Returns a malloc'ed text, or NULL if
** the file cannot be read. */
static char *script_header(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  size_t cap = 4096, len = 0;
  char *out = malloc(cap), line[4096];
  out[0] = 0;
  int first = 1;
  while (fgets(line, sizeof line, f)) {
    if (first && line[0] == '#' && line[1] == '!') { first = 0; continue; }
    first = 0;
    if (strncmp(line, "--", 2) || !strncmp(line, "--[[", 4)) break;
    const char *t = line + 2;
    while (*t == '-') t++;
    if (*t == ' ') t++;
    size_t n = strlen(t);
    if (len + n + 1 > cap) { cap = (len + n + 1) * 2; out = realloc(out, cap); }
    memcpy(out + len, t, n + 1);
    len += n;
  }
  fclose(f);
  return out;
}

/* The one-line summary of a header: its first sentence, on one line, with
** a leading "NAME: " taken off. */
static char *header_summary(const char *h, const char *name)
{
  char *s = malloc(strlen(h) + 1), *d = s;
  for (const char *p = h; *p; p++) {
    if (*p == '\n' && (p[1] == '\n' || !p[1])) break;        /* end of the paragraph */
    char c = *p == '\n' ? ' ' : *p;
    if (c == ' ' && d > s && d[-1] == ' ') continue;
    *d++ = c;
    if (c == '.' && (p[1] == ' ' || p[1] == '\n' || !p[1])) break;
  }
  *d = 0;
  size_t n = strlen(name);
  if (!strncmp(s, name, n) && s[n] == ':') memmove(s, s + n + 1 + (s[n + 1] == ' '), strlen(s + n + 1) + 1);
  return s;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* lurk list: every NAME.lua in the script directories (LURK_PATH, then
** lurk's scripts/), the first one of a name only, with its summary. */
static int cmd_list(void)
{
  char **d = search_dirs(0);
  char *seen[1024];
  int nseen = 0;
  if (!d[0]) { fprintf(stderr, "lurk: no script directory (LURK_PATH is unset and lurk's scripts/ is missing)\n"); return 1; }
  for (int i = 0; d[i]; i++) {
    DIR *dir = opendir(d[i]);
    if (!dir) continue;
    char *names[1024];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < 1024) {
      size_t len = strlen(e->d_name);
      if (len > 4 && !strcmp(e->d_name + len - 4, ".lua")) names[n++] = strndup(e->d_name, len - 4);
    }
    closedir(dir);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int k = 0; k < n; k++) {
      int dup = 0;
      for (int j = 0; j < nseen; j++) dup |= !strcmp(seen[j], names[k]);
      if (dup || nseen == 1024) continue;
      seen[nseen++] = names[k];
      char path[PATH_MAX * 2];
      snprintf(path, sizeof path, "%s/%s.lua", d[i], names[k]);
      char *h = script_header(path);
      char *sum = h ? header_summary(h, names[k]) : strdup("");
      printf("%-12s %s\n", names[k], *sum ? sum : "(no header comment)");
      free(h);
      free(sum);
    }
  }
  return 0;
}

/* lurk help [SCRIPT]: lurk's help, or the script's header comment. */
static int cmd_help(int argc, char **argv)
{
  if (argc == 0 || !strcmp(argv[0], "run")) { fputs(usage_text, stdout); return 0; }
  if (argc > 1) usage_error("help takes one script name, not '%s'", argv[1]);
  char *path = find_script(argv[0]);
  char *h = script_header(path);
  if (!h) { fprintf(stderr, "lurk: cannot read %s: %s\n", path, strerror(errno)); return 1; }
  if (!*h) printf("%s has no header comment\n", path);
  else fputs(h, stdout);
  free(h);
  free(path);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 2) usage_error("missing command (run, repl, attach, nudge, list or help)%s", "");
  if (is_help(argv[1])) { fputs(usage_text, stdout); return 0; }
  if (!strcmp(argv[1], "--version")) { printf("lurk " LURK_VERSION "\n"); return 0; }
  if (!strcmp(argv[1], "run")) return cmd_run(argc - 2, argv + 2, 0);
  if (!strcmp(argv[1], "repl")) return cmd_run(argc - 2, argv + 2, 1);
  if (!strcmp(argv[1], "nudge")) return cmd_nudge(argc - 2, argv + 2);
  if (!strcmp(argv[1], "__exec")) return cmd_exec(argc - 2, argv + 2);
  if (!strcmp(argv[1], "attach")) return cmd_attach(argc - 2, argv + 2);
  if (!strcmp(argv[1], "list")) {
    if (argc > 2) usage_error("list takes no arguments, not '%s'", argv[2]);
    return cmd_list();
  }
  if (!strcmp(argv[1], "help")) return cmd_help(argc - 2, argv + 2);
  if (argv[1][0] == '-') usage_error("unknown option '%s'", argv[1]);
  usage_error("unknown command '%s' (run, repl, attach, nudge, list or help; try 'lurk run -- PROGRAM')", argv[1]);
  return USAGE_EXIT;
}
