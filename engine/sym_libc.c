/* lurk: the libc functions elfutils, libiberty and zlib need, defined
** hidden inside liblurk.so so that their allocations never reach the app.
**
** libelf, libdw (engine/sym*), the demangler and zlib are linked statically
** into liblurk.so. Their calls to malloc & co bind here, not to the app's
** malloc (which the interrupted app thread may hold the lock of). The same
** for the libc functions that would call the app's malloc behind our back:
** tsearch/tfind/tdelete/tdestroy (glibc allocates tree nodes), qsort (glibc
** may allocate a merge buffer), strdup/strndup. The list of what is left
** (libc symbols liblurk.so imports) is spec/imports/allowlist.txt.
*/
#include <stddef.h>
#include <stdint.h>
#include "mem.h"

#define LIBC __attribute__((visibility("hidden")))

/* -- Allocation --------------------------------------------------------------- */

/* Every block starts 16 bytes after a header {total bytes of the mapping,
** offset of the user pointer from it}; mem_free needs the total back. */
struct sym_hdr { size_t total, off; };

static void *libc_alloc(size_t n, size_t align)
{
  if (align < 16) align = 16;
  if (n > ((size_t)1 << 46)) return NULL;
  size_t total = n + align + sizeof(struct sym_hdr);
  uint8_t *base = mem_alloc(total);
  uintptr_t u = ((uintptr_t)base + sizeof(struct sym_hdr) + align - 1) & ~(uintptr_t)(align - 1);
  struct sym_hdr *h = (struct sym_hdr *)u - 1;
  h->total = total;
  h->off = u - (uintptr_t)base;
  return (void *)u;
}

static size_t libc_usable(void *p)
{
  struct sym_hdr *h = (struct sym_hdr *)p - 1;
  return h->total - h->off;
}

LIBC void *malloc(size_t n) { return libc_alloc(n, 16); }

LIBC void *calloc(size_t k, size_t n)
{
  if (n && k > (size_t)-1 / n) return NULL;
  return libc_alloc(k * n, 16); /* mem_alloc zeroes */
}

LIBC void free(void *p)
{
  if (!p) return;
  struct sym_hdr *h = (struct sym_hdr *)p - 1;
  mem_free((uint8_t *)p - h->off, h->total);
}

LIBC void *realloc(void *p, size_t n)
{
  if (!p) return malloc(n);
  if (!n) { free(p); return NULL; }
  size_t have = libc_usable(p);
  if (n <= have && n > have / 2) return p;
  void *q = malloc(n);
  if (q) { lurk_memcpy(q, p, have < n ? have : n); free(p); }
  return q;
}

LIBC void *reallocarray(void *p, size_t k, size_t n)
{
  if (n && k > (size_t)-1 / n) return NULL;
  return realloc(p, k * n);
}

LIBC int posix_memalign(void **out, size_t align, size_t n)
{
  if (align & (align - 1) || align < sizeof(void *)) return 22; /* EINVAL */
  void *p = libc_alloc(n, align);
  if (!p) return 12; /* ENOMEM */
  *out = p;
  return 0;
}

LIBC void *aligned_alloc(size_t align, size_t n) { return libc_alloc(n, align); }

LIBC char *strdup(const char *s)
{
  size_t n = lurk_strlen(s) + 1;
  char *d = malloc(n);
  if (d) lurk_memcpy(d, s, n);
  return d;
}

LIBC char *strndup(const char *s, size_t max)
{
  size_t n = 0;
  while (n < max && s[n]) n++;
  char *d = malloc(n + 1);
  if (d) { lurk_memcpy(d, s, n); d[n] = 0; }
  return d;
}

/* -- qsort: heapsort, in place, no allocation ----------------------------------- */

typedef int (*libc_cmp)(const void *, const void *);

static void libc_swap(uint8_t *a, uint8_t *b, size_t n)
{
  while (n--) { uint8_t t = *a; *a++ = *b; *b++ = t; }
}

static void libc_sift(uint8_t *v, size_t root, size_t n, size_t w, libc_cmp cmp)
{
  for (;;) {
    size_t c = 2 * root + 1;
    if (c >= n) return;
    if (c + 1 < n && cmp(v + c * w, v + (c + 1) * w) < 0) c++;
    if (cmp(v + root * w, v + c * w) >= 0) return;
    libc_swap(v + root * w, v + c * w, w);
    root = c;
  }
}

LIBC void qsort(void *base, size_t n, size_t w, libc_cmp cmp)
{
  uint8_t *v = base;
  if (n < 2 || !w) return;
  for (size_t i = n / 2; i-- > 0;) libc_sift(v, i, n, w, cmp);
  for (size_t end = n - 1; end > 0; end--) {
    libc_swap(v, v + end * w, w);
    libc_sift(v, 0, end, w, cmp);
  }
}

/* -- tsearch family: an AVL tree ---------------------------------------------------
** Nodes start with the key pointer, as glibc's do: elfutils reads the result
** of tsearch/tfind as `*(T **)node`. */

struct tnode { const void *key; struct tnode *l, *r; int h; };

static int tn_h(const struct tnode *n) { return n ? n->h : 0; }
static void tn_fix(struct tnode *n)
{
  int a = tn_h(n->l), b = tn_h(n->r);
  n->h = (a > b ? a : b) + 1;
}

static struct tnode *tn_rot(struct tnode *n, int right)
{
  struct tnode *c = right ? n->l : n->r;
  if (right) { n->l = c->r; c->r = n; }
  else { n->r = c->l; c->l = n; }
  tn_fix(n);
  tn_fix(c);
  return c;
}

static struct tnode *tn_balance(struct tnode *n)
{
  tn_fix(n);
  int d = tn_h(n->l) - tn_h(n->r);
  if (d > 1) {
    if (tn_h(n->l->l) < tn_h(n->l->r)) n->l = tn_rot(n->l, 0);
    return tn_rot(n, 1);
  }
  if (d < -1) {
    if (tn_h(n->r->r) < tn_h(n->r->l)) n->r = tn_rot(n->r, 1);
    return tn_rot(n, 0);
  }
  return n;
}

/* Insert key below n unless present; *found: the node holding it. */
static struct tnode *tn_insert(struct tnode *n, const void *key, libc_cmp cmp, struct tnode **found)
{
  if (!n) {
    n = malloc(sizeof *n);
    if (!n) { *found = NULL; return NULL; }
    n->key = key;
    n->l = n->r = NULL;
    n->h = 1;
    *found = n;
    return n;
  }
  int c = cmp(key, n->key);
  if (c == 0) { *found = n; return n; }
  struct tnode *k = tn_insert(c < 0 ? n->l : n->r, key, cmp, found);
  if (!k) return n; /* out of memory: unchanged */
  if (c < 0) n->l = k;
  else n->r = k;
  return tn_balance(n);
}

LIBC void *tsearch(const void *key, void **root, libc_cmp cmp)
{
  if (!root) return NULL;
  struct tnode *found = NULL;
  struct tnode *r = tn_insert(*root, key, cmp, &found);
  if (r) *root = r;
  return found;
}

LIBC void *tfind(const void *key, void *const *root, libc_cmp cmp)
{
  if (!root) return NULL;
  struct tnode *n = *root;
  while (n) {
    int c = cmp(key, n->key);
    if (!c) return n;
    n = c < 0 ? n->l : n->r;
  }
  return NULL;
}

static struct tnode *tn_popmin(struct tnode *n, struct tnode **min)
{
  if (!n->l) { *min = n; return n->r; }
  n->l = tn_popmin(n->l, min);
  return tn_balance(n);
}

/* Remove key below n; *parent_key: the key of the removed node's parent
** (what tdelete returns), *hit: whether it was there. */
static struct tnode *tn_delete(struct tnode *n, const void *key, libc_cmp cmp, struct tnode *parent,
                               struct tnode **par_out, int *hit)
{
  if (!n) return NULL;
  int c = cmp(key, n->key);
  if (c < 0) n->l = tn_delete(n->l, key, cmp, n, par_out, hit);
  else if (c > 0) n->r = tn_delete(n->r, key, cmp, n, par_out, hit);
  else {
    *hit = 1;
    *par_out = parent;
    struct tnode *l = n->l, *r = n->r;
    free(n);
    if (!r) return l;
    struct tnode *m;
    r = tn_popmin(r, &m);
    m->l = l;
    m->r = r;
    return tn_balance(m);
  }
  return tn_balance(n);
}

LIBC void *tdelete(const void *key, void **root, libc_cmp cmp)
{
  if (!root || !*root) return NULL;
  struct tnode *par = NULL;
  int hit = 0;
  *root = tn_delete(*root, key, cmp, NULL, &par, &hit);
  if (!hit) return NULL;
  /* glibc returns the parent node, or an unspecified non-null pointer
  ** when the root was deleted. */
  return par ? (void *)par : (void *)root;
}

static void tn_destroy(struct tnode *n, void (*fr)(void *))
{
  while (n) {
    struct tnode *r = n->r;
    tn_destroy(n->l, fr);
    if (fr) fr((void *)n->key);
    free(n);
    n = r;
  }
}

LIBC void tdestroy(void *root, void (*fr)(void *)) { tn_destroy(root, fr); }

typedef enum { preorder, postorder, endorder, leaf } VISIT;

static void tn_walk(const struct tnode *n, void (*act)(const void *, VISIT, int), int d)
{
  if (!n) return;
  if (!n->l && !n->r) { act(n, leaf, d); return; }
  act(n, preorder, d);
  tn_walk(n->l, act, d + 1);
  act(n, postorder, d);
  tn_walk(n->r, act, d + 1);
  act(n, endorder, d);
}

LIBC void twalk(const void *root, void (*act)(const void *, VISIT, int)) { tn_walk(root, act, 0); }

/* -- Fortified and formatting entry points ---------------------------------------
** elfutils is built with _FORTIFY_SOURCE (its configure adds it): the
** checked copies come here. Formatting goes to lurk's own formatter
** (engine/log.c: %d %u %x %s %c %p, widths), never to libc's stdio. */

#include <stdarg.h>
#include "log.h"

LIBC LURK_NORETURN void __chk_fail(void) { lurk_panic(__FILE__, __LINE__, "buffer overflow in elfutils"); }

LIBC void *__memcpy_chk(void *d, const void *s, size_t n, size_t dn)
{
  if (n > dn) __chk_fail();
  return lurk_memcpy(d, s, n);
}

LIBC void *__mempcpy_chk(void *d, const void *s, size_t n, size_t dn)
{
  if (n > dn) __chk_fail();
  return (uint8_t *)lurk_memcpy(d, s, n) + n;
}

LIBC void *__memset_chk(void *d, int c, size_t n, size_t dn)
{
  if (n > dn) __chk_fail();
  return lurk_memset(d, c, n);
}

LIBC char *__stpcpy_chk(char *d, const char *s, size_t dn)
{
  size_t n = lurk_strlen(s);
  if (n >= dn) __chk_fail();
  lurk_memcpy(d, s, n + 1);
  return d + n;
}

LIBC char *__strcpy_chk(char *d, const char *s, size_t dn)
{
  __stpcpy_chk(d, s, dn);
  return d;
}

LIBC char *__strcat_chk(char *d, const char *s, size_t dn)
{
  size_t k = lurk_strlen(d);
  if (k >= dn) __chk_fail();
  __stpcpy_chk(d + k, s, dn - k);
  return d;
}

extern long pread(int fd, void *buf, size_t n, long off);
LIBC long __pread_chk(int fd, void *buf, size_t n, long off, size_t bn)
{
  if (n > bn) __chk_fail();
  return pread(fd, buf, n, off);
}

LIBC int vsnprintf(char *d, size_t n, const char *fmt, va_list ap) { return log_vsnprintf(d, n, fmt, ap); }

LIBC int __vsnprintf_chk(char *d, size_t n, int flag, size_t dn, const char *fmt, va_list ap)
{
  (void)flag;
  if (n > dn) __chk_fail();
  return log_vsnprintf(d, n, fmt, ap);
}

LIBC int snprintf(char *d, size_t n, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = log_vsnprintf(d, n, fmt, ap);
  va_end(ap);
  return r;
}

LIBC int __snprintf_chk(char *d, size_t n, int flag, size_t dn, const char *fmt, ...)
{
  (void)flag;
  if (n > dn) __chk_fail();
  va_list ap;
  va_start(ap, fmt);
  int r = log_vsnprintf(d, n, fmt, ap);
  va_end(ap);
  return r;
}

/* sprintf into buffers elfutils sized for the result (a path, a number). */
LIBC int __sprintf_chk(char *d, int flag, size_t dn, const char *fmt, ...)
{
  (void)flag;
  va_list ap;
  va_start(ap, fmt);
  int r = log_vsnprintf(d, dn, fmt, ap);
  va_end(ap);
  if (r >= 0 && (size_t)r >= dn) __chk_fail();
  return r;
}

/* -- Fatal paths ------------------------------------------------------------------ */

LIBC LURK_NORETURN void __assert_fail(const char *expr, const char *file, unsigned line, const char *fn)
{
  (void)fn;
  log_printf("lurk: assertion failed in elfutils: %s (%s:%u)\n", expr, file, line);
  lurk_panic(__FILE__, __LINE__, "assertion failed in elfutils");
}

LIBC LURK_NORETURN void abort(void) { lurk_panic(__FILE__, __LINE__, "abort() in elfutils"); }

/* libdw_alloc.c: error (EXIT_FAILURE, errno, "cannot allocate memory") */
LIBC void error(int status, int err, const char *fmt, ...)
{
  (void)err;
  (void)status;
  lurk_panic(__FILE__, __LINE__, fmt);
}

/* libdw's __libdw_debugdir resolves /proc/self/fd/N of the file it was
** opened from, to look for .dwo and alt files next to it. lurk opens every
** file with elf_memory (no fd, N = -1): there is nothing to resolve, and
** glibc's realpath would allocate with the app's malloc. */
LIBC char *realpath(const char *path, char *resolved)
{
  (void)path;
  (void)resolved;
  return NULL;
}
