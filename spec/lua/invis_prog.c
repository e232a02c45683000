/* spec/early_spec.lua's invisibility probe: prints what a program can see
** of its own process, one fact per line, for a native run and a run under
** lurk --early to be compared (both under setarch -R, so addresses are the
** kernel's deterministic ones). */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <unistd.h>

static int phdr_cb(struct dl_phdr_info *i, size_t n, void *d)
{
  (void)n; (void)d;
  const char *s = strrchr(i->dlpi_name, '/');
  printf("dl_iterate_phdr: %s\n", s ? s + 1 : (*i->dlpi_name ? i->dlpi_name : "(main)"));
  return 0;
}

static void file(const char *what, const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f) { printf("%s: cannot open\n", what); return; }
  char buf[65536];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  printf("%s:", what);
  for (size_t i = 0; i < n; i++) putchar(buf[i] ? buf[i] : '|');
  putchar('\n');
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv, char **envp)
{
  free(malloc(100)); /* the heap exists */
  /* the initial stack: addresses (deterministic under setarch -R) and layout */
  printf("argv %p envp %p (argv + argc + 1: %s)\n", (void *)argv, (void *)envp,
         envp == argv + argc + 1 ? "yes" : "no");
  char **e = envp;
  while (*e) e++;
  Elf64_auxv_t *av = (Elf64_auxv_t *)(e + 1);
  for (int i = 0; i < argc; i++) printf("argv[%d] %p %s\n", i, (void *)argv[i], argv[i]);
  for (int i = 0; envp[i]; i++) printf("envp[%d] %p %s\n", i, (void *)envp[i], envp[i]);
  for (; av->a_type != AT_NULL; av++) {
    unsigned long v = av->a_un.a_val;
    switch (av->a_type) {
    case AT_EXECFN: printf("auxv %2lu %#lx %s\n", av->a_type, v, (char *)v); break;
    case AT_PLATFORM: printf("auxv %2lu %#lx %s\n", av->a_type, v, (char *)v); break;
    case AT_RANDOM: printf("auxv %2lu %#lx (random bytes)\n", av->a_type, v); break;
    default: printf("auxv %2lu %#lx\n", av->a_type, v);
    }
  }
  /* /proc/self/auxv holds the same vector */
  FILE *f = fopen("/proc/self/auxv", "r");
  Elf64_auxv_t kv[64];
  size_t nk = f ? fread(kv, sizeof kv[0], 64, f) : 0;
  if (f) fclose(f);
  av = (Elf64_auxv_t *)(e + 1);
  size_t same = 0;
  while (same < nk && kv[same].a_type == av[same].a_type && kv[same].a_un.a_val == av[same].a_un.a_val) same++;
  printf("/proc/self/auxv equals the stack's: %s\n", same == nk && nk ? "yes" : "no");
  file("cmdline", "/proc/self/cmdline");
  file("environ", "/proc/self/environ");
  file("comm", "/proc/self/comm");
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;
  printf("exe %s\n", exe);
  /* names in /proc/self/maps, sorted and unique */
  f = fopen("/proc/self/maps", "r");
  char line[4096], *names[512];
  int nn = 0;
  while (f && fgets(line, sizeof line, f) && nn < 512) {
    char *p = strchr(line, '/');
    if (!p) p = strchr(line, '[');
    if (!p) continue;
    p[strcspn(p, "\n")] = 0;
    int dup = 0;
    for (int i = 0; i < nn; i++) dup |= !strcmp(names[i], p);
    if (!dup) names[nn++] = strdup(p);
  }
  if (f) fclose(f);
  qsort(names, nn, sizeof names[0], cmp);
  for (int i = 0; i < nn; i++) printf("maps: %s\n", names[i]);
  dl_iterate_phdr(phdr_cb, NULL);
  DIR *d = opendir("/proc/self/fd");
  struct dirent *de;
  char *fds[256];
  int nf = 0;
  while (d && (de = readdir(d)) && nf < 256)
    if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d)) fds[nf++] = strdup(de->d_name);
  if (d) closedir(d);
  qsort(fds, nf, sizeof fds[0], cmp);
  printf("fds:");
  for (int i = 0; i < nf; i++) printf(" %s", fds[i]);
  printf("\n");
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  printf("nofile %lu %lu\n", (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
  return 0;
}
