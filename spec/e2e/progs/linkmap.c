// CFLAGS: -O2 -ldl
/* What the program sees loaded in its address space: the dynamic linker's
 * list of objects (dl_iterate_phdr), the file-backed mappings named in
 * /proc/self/maps, and both again after dlopen/dlclose of libm.  Natively
 * that is only the program and its own libraries. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <dlfcn.h>
#include <link.h>

static int cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    int *n = data;
    const char *name = info->dlpi_name, *slash = strrchr(name, '/');
    printf(" %s", (*n)++ == 0 ? "<main>" : slash ? slash + 1 : name[0] ? name : "<unnamed>");
    return 0;
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void show(const char *when)
{
    int n = 0;
    printf("%s: dl_iterate_phdr:", when);
    dl_iterate_phdr(cb, &n);
    printf(" (%d)\n", n);

    char *names[256], line[4096];
    int k = 0;
    FILE *m = fopen("/proc/self/maps", "r");
    while (m && fgets(line, sizeof line, m) && k < 256) {
        char *path = strchr(line, '/');
        if (!path) continue;
        path[strcspn(path, "\n")] = 0;
        const char *base = strrchr(path, '/') + 1;
        int dup = 0;
        for (int i = 0; i < k; i++) if (!strcmp(names[i], base)) dup = 1;
        if (!dup) names[k++] = strdup(base);
    }
    if (m) fclose(m);
    qsort(names, (size_t)k, sizeof names[0], cmpstr);
    printf("%s: mapped files:", when);
    for (int i = 0; i < k; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

int main(void)
{
    show("start");
    void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
    double (*cosine)(double) = h ? (double (*)(double))dlsym(h, "cos") : 0;
    printf("dlopen(libm): %s, cos(0) = %.1f\n", h ? "ok" : dlerror(), cosine ? cosine(0.0) : -1.0);
    show("after dlopen");
    if (h) dlclose(h);
    show("after dlclose");
    return 0;
}
