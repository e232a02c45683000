// CFLAGS: -O2 -rdynamic -ldl
/* Programs that look at their own code addresses must see the original ones:
 * label addresses (&&label) used as a dispatch table, function pointers
 * compared with dlsym() results, return addresses compared with the address
 * right after the call (from C and read straight off the stack in asm),
 * dladdr() of return addresses (including one inside libc), backtrace(), and
 * the bytes of the program's own code. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <stdlib.h>
#include <stddef.h>

/* asm helpers:
 *   asm_call_get_ra: calls get_ra() (C), returns what it returned
 *   asm_ret_site:    the address right after that call
 *   asm_peek_ra:     returns [rsp] at entry, i.e. its own return address
 *   known_bytes:     fixed machine code, read back as data */
__asm__(
    ".text\n"
    ".globl asm_call_get_ra\n .type asm_call_get_ra,@function\n"
    "asm_call_get_ra:\n"
    "  sub $8, %rsp\n"
    "  call get_ra\n"
    ".globl asm_ret_site\n"
    "asm_ret_site:\n"
    "  add $8, %rsp\n"
    "  ret\n"
    ".size asm_call_get_ra, .-asm_call_get_ra\n"
    ".globl asm_peek_ra\n .type asm_peek_ra,@function\n"
    "asm_peek_ra:\n"
    "  mov (%rsp), %rax\n"
    "  ret\n"
    ".size asm_peek_ra, .-asm_peek_ra\n"
    ".globl known_bytes\n .type known_bytes,@function\n"
    "known_bytes:\n"
    "  xor %eax, %eax\n"      /* 31 c0 */
    "  inc %eax\n"            /* ff c0 */
    "  lea 41(%rax), %eax\n"  /* 8d 40 29 */
    "  ret\n"                 /* c3 */
    ".globl known_bytes_end\n"
    "known_bytes_end:\n"
    ".size known_bytes, .-known_bytes\n");
void *asm_call_get_ra(void);
void *asm_peek_ra(void);
int known_bytes(void);
extern const char asm_ret_site[], known_bytes_end[];

__attribute__((noinline, used)) void *get_ra(void)
{
    return __builtin_extract_return_addr(__builtin_return_address(0));
}

__attribute__((noinline)) void *c_caller(void)
{
    void *ra = get_ra();
    __asm__ volatile("" ::: "memory");      /* keep it a real call, not a tail call */
    return ra;
}

static const char *sym_of(const void *addr, ptrdiff_t *off)
{
    Dl_info di;
    if (!dladdr(addr, &di) || !di.dli_sname) { *off = -1; return "?"; }
    *off = (const char *)addr - (const char *)di.dli_saddr;
    return di.dli_sname;
}

static const char *libname(const void *addr)
{
    Dl_info di;
    if (!dladdr(addr, &di) || !di.dli_fname) return "?";
    const char *s = strrchr(di.dli_fname, '/');
    return s ? s + 1 : di.dli_fname;
}

static const char *cmp_ra_lib;
static int cmp_int(const void *a, const void *b)
{
    if (!cmp_ra_lib) cmp_ra_lib = libname(__builtin_return_address(0));
    return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) int level3(char *out, size_t n)
{
    void *frames[16];
    int k = backtrace(frames, 16);
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < k && i < 4; i++) {
        ptrdiff_t off;
        const char *s = sym_of(frames[i], &off);
        used += (size_t)snprintf(out + used, n - used, "%s%s", i ? " <- " : "", s);
    }
    return k;
}
__attribute__((noinline)) int level2(char *out, size_t n) { int r = level3(out, n); __asm__ volatile(""); return r + 1; }
__attribute__((noinline)) int level1(char *out, size_t n) { int r = level2(out, n); __asm__ volatile(""); return r + 1; }

static int dispatch(const unsigned char *prog)
{
    /* GCC idiom: table of label offsets relative to a base label */
    static const int offs[] = { &&op_inc - &&op_inc, &&op_dbl - &&op_inc, &&op_neg - &&op_inc, &&op_end - &&op_inc };
    void *const abs_table[] = { &&op_inc, &&op_dbl, &&op_neg, &&op_end };
    int acc = 1, mism = 0;
    for (int i = 0; i < 4; i++)
        if ((char *)&&op_inc + offs[i] != (char *)abs_table[i]) mism++;
    if (mism) printf("label table mismatch: %d\n", mism);
#define NEXT goto *(void *)((char *)&&op_inc + offs[*prog++])
    NEXT;
op_inc: acc += 1; NEXT;
op_dbl: acc *= 2; NEXT;
op_neg: acc = -acc; NEXT;
op_end: return acc;
}

int main(void)
{
    /* return addresses */
    void *ra = asm_call_get_ra();
    printf("return address == asm_ret_site: %s\n", ra == (void *)asm_ret_site ? "yes" : "NO");
    ptrdiff_t off;
    const char *s = sym_of(c_caller(), &off);
    printf("return address of get_ra() from c_caller is in: %s (offset %s)\n", s, off > 0 ? "> 0" : "<= 0");
    void *peek = asm_peek_ra();
    s = sym_of(peek, &off);
    printf("[rsp] at entry of asm_peek_ra is in: %s\n", s);

    /* function pointers vs dlsym */
    void *self = dlopen(NULL, RTLD_NOW);
    printf("dlsym(level1) == level1: %s, dlsym(main) == main: %s\n",
           dlsym(self, "level1") == (void *)level1 ? "yes" : "NO",
           dlsym(self, "main") == (void *)main ? "yes" : "NO");
    printf("dlsym(RTLD_DEFAULT, qsort) == qsort: %s\n",
           dlsym(RTLD_DEFAULT, "qsort") == (void *)qsort ? "yes" : "NO");
    printf("dladdr(main): %s in %s\n", sym_of((void *)main, &off), strcmp(libname((void *)main), "codeaddr") == 0 ? "codeaddr" : libname((void *)main));
    printf("dladdr(printf): in %s\n", libname((void *)printf));

    /* callback from libc: where does it return to? */
    int arr[50];
    for (int i = 0; i < 50; i++) arr[i] = (i * 37) % 50;
    qsort(arr, 50, sizeof arr[0], cmp_int);
    printf("qsort comparator returns into: %s (sorted: %d..%d)\n", cmp_ra_lib, arr[0], arr[49]);

    /* backtrace through our own frames */
    char bt[256];
    int depth = level1(bt, sizeof bt);
    printf("backtrace: %s (depth >= 5: %s)\n", bt, depth >= 5 ? "yes" : "no");

    /* computed goto through label addresses */
    static const unsigned char prog[] = { 0, 1, 1, 0, 2, 1, 0, 3 };
    printf("computed goto: %d\n", dispatch(prog));

    /* reading our own code */
    static const unsigned char expect[] = { 0x31, 0xc0, 0xff, 0xc0, 0x8d, 0x40, 0x29, 0xc3 };
    size_t len = (size_t)(known_bytes_end - (const char *)known_bytes);
    printf("code bytes of known_bytes (%zu): %s, call -> %d\n", len,
           len == sizeof expect && memcmp((const void *)known_bytes, expect, sizeof expect) == 0 ? "as written" : "DIFFERENT",
           known_bytes());
    unsigned sum = 0;
    for (const unsigned char *b = (const unsigned char *)(void *)dispatch; b < (const unsigned char *)(void *)dispatch + 64; b++) sum += *b;
    printf("first 64 code bytes of dispatch read fine (sum %s 0)\n", sum ? "!=" : "==");
    return 0;
}
