// CFLAGS: -O2 -ldl
/* The process image as the program sees it: auxiliary vector entries
 * (AT_ENTRY is _start, AT_PHDR is the executable's program headers, AT_BASE is
 * the dynamic loader, AT_EXECFN is the exec'd path), /proc/self/exe and
 * /proc/self/maps naming the executable.  (The list of loaded objects is
 * checked separately by linkmap.c.) */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <limits.h>
#include <link.h>
#include <elf.h>
#include <sys/auxv.h>

extern char _start[];

struct objs { int n; uintptr_t main_phdr; int main_phnum; uintptr_t ld_base; };

static int cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct objs *o = data;
    if (o->n == 0) { o->main_phdr = (uintptr_t)info->dlpi_phdr; o->main_phnum = info->dlpi_phnum; }
    if (strstr(info->dlpi_name, "ld-linux")) o->ld_base = info->dlpi_addr;
    o->n++;
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    printf("AT_PAGESZ=%lu AT_UID==getuid: %s AT_EUID==geteuid: %s AT_GID==getgid: %s AT_SECURE=%lu\n",
           getauxval(AT_PAGESZ), getauxval(AT_UID) == getuid() ? "yes" : "no",
           getauxval(AT_EUID) == geteuid() ? "yes" : "no", getauxval(AT_GID) == getgid() ? "yes" : "no",
           getauxval(AT_SECURE));
    printf("AT_ENTRY == _start: %s\n", getauxval(AT_ENTRY) == (uintptr_t)_start ? "yes" : "no");
    printf("AT_PHENT=%lu AT_FLAGS=%lu AT_CLKTCK=%lu\n", getauxval(AT_PHENT), getauxval(AT_FLAGS), getauxval(AT_CLKTCK));
    printf("AT_HWCAP=%#lx AT_HWCAP2=%#lx AT_PLATFORM=%s\n", getauxval(AT_HWCAP), getauxval(AT_HWCAP2),
           getauxval(AT_PLATFORM) ? (const char *)getauxval(AT_PLATFORM) : "(none)");
    printf("AT_RANDOM present: %s, AT_SYSINFO_EHDR present: %s\n", getauxval(AT_RANDOM) ? "yes" : "no",
           getauxval(AT_SYSINFO_EHDR) ? "yes" : "no");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN == argv[0]: %s\n", execfn && strcmp(execfn, argv[0]) == 0 ? "yes" : "no");

    struct objs o = { 0 };
    dl_iterate_phdr(cb, &o);
    printf("AT_PHDR == main object's phdr: %s, AT_PHNUM matches: %s\n",
           getauxval(AT_PHDR) == o.main_phdr ? "yes" : "no", (int)getauxval(AT_PHNUM) == o.main_phnum ? "yes" : "no");
    printf("AT_BASE == ld.so load address: %s\n", o.ld_base && getauxval(AT_BASE) == o.ld_base ? "yes" : "no");

    char exe[PATH_MAX], real0[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n >= 0) exe[n] = 0;
    printf("/proc/self/exe == realpath(argv[0]): %s\n",
           n > 0 && realpath(argv[0], real0) && strcmp(exe, real0) == 0 ? "yes" : "no");

    FILE *m = fopen("/proc/self/maps", "r");
    char line[4096];
    int exe_maps = 0, exe_x = 0, stack = 0, vdso = 0;
    while (m && fgets(line, sizeof line, m)) {
        if (n > 0 && strstr(line, exe)) { exe_maps++; if (strstr(line, " r-xp ")) exe_x++; }
        if (strstr(line, "[stack]")) stack++;
        if (strstr(line, "[vdso]")) vdso++;
    }
    if (m) fclose(m);
    printf("/proc/self/maps: executable mapped: %s (one r-xp: %s), [stack]: %d, [vdso]: %d\n",
           exe_maps > 0 ? "yes" : "no", exe_x == 1 ? "yes" : "no", stack, vdso);
    return 0;
}
