/* strace_spec: dlopen the library named by argv[1], call it, dlclose it. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    int (*f)(void) = (int (*)(void))dlsym(h, "dl_lib_answer");
    printf("answer %d\n", f ? f() : -1);
    fflush(stdout);
    return dlclose(h) != 0;
}
