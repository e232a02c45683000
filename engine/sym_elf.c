/* lurk: a module's ELF file and its symbols (libelf), its separate debug
** file, IFUNC resolution and demangling (libiberty).
**
** Files are opened and mapped with raw syscalls and handed to libelf with
** elf_memory; libdwfl (which reads /proc with stdio) is not used.
*/
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <demangle.h>
#include <elfutils/libdwelf.h>
#include "sym_int.h"
#include "mod.h"
#include "mem.h"
#include "log.h"
#include "../arch/arch.h"
#include "../arch/x86_64/syscall.h"

#define SYM_DEBUGDIR "/usr/lib/debug"

/* -- Files ------------------------------------------------------------------------ */

/* Map path read-only (private) and open it with libelf; 0 or -1. */
static int elf_open_file(const char *path, struct sym_file *f)
{
  long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return -1;
  struct stat st;
  long r = sys_call2(SYS_fstat, fd, &st);
  if (SYS_FAILED(r) || !S_ISREG(st.st_mode) || st.st_size < (long)sizeof(Elf64_Ehdr)) {
    sys_close(fd);
    return -1;
  }
  /* Writable private pages: libelf may convert data in place (it is told
  ** the image is ELF_C_READ_MMAP_PRIVATE); the file never changes. */
  long p = sys_mmap(0, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  sys_close(fd);
  if (SYS_FAILED(p)) return -1;
  Elf *e = elf_memory((char *)p, st.st_size);
  if (!e || elf_kind(e) != ELF_K_ELF || gelf_getclass(e) != ELFCLASS64) {
    if (e) elf_end(e);
    sys_munmap(p, st.st_size);
    return -1;
  }
  f->map = (void *)p;
  f->len = st.st_size;
  f->elf = e;
  return 0;
}

/* The vdso has no file: copy its image out of memory. */
static int elf_open_mem(uint64_t lo, uint64_t hi, struct sym_file *f)
{
  size_t n = hi - lo;
  void *p = mem_map(n, PROT_READ | PROT_WRITE);
  if (!p) return -1;
  if (arch_copy_in(p, lo, n)) { mem_unmap(p, n); return -1; }
  Elf *e = elf_memory(p, n);
  if (!e || elf_kind(e) != ELF_K_ELF) { if (e) elf_end(e); mem_unmap(p, n); return -1; }
  f->map = p;
  f->len = n;
  f->elf = e;
  return 0;
}

static int elf_has_section(Elf *e, Elf64_Word type)
{
  Elf_Scn *s = NULL;
  GElf_Shdr sh;
  while ((s = elf_nextscn(e, s)))
    if (gelf_getshdr(s, &sh) && sh.sh_type == type) return 1;
  return 0;
}

/* The NT_GNU_BUILD_ID bytes of e, or 0 bytes. */
static ssize_t elf_build_id(Elf *e, const void **id)
{
  ssize_t n = dwelf_elf_gnu_build_id(e, id);
  return n > 0 ? n : 0;
}

/* Copy s (n bytes) to d at *k, within cap. */
static void elf_cat(char *d, size_t *k, size_t cap, const char *s, size_t n)
{
  if (*k + n >= cap) n = *k < cap ? cap - 1 - *k : 0;
  lurk_memcpy(d + *k, s, n);
  *k += n;
  d[*k] = 0;
}

/* Try path as m's debug file: it must be an ELF file with a symbol table
** or DWARF, and carry the same build id when the module has one. */
static int elf_try_debug(struct sym_mod *sm, const char *path, const void *id, ssize_t idn)
{
  struct sym_file f;
  if (lurk_strcmp(path, sm->mod->path) == 0 || elf_open_file(path, &f)) return -1;
  const void *did;
  ssize_t dn = elf_build_id(f.elf, &did);
  if ((idn && (dn != idn || lurk_memcmp(id, did, idn))) ||
      !(elf_has_section(f.elf, SHT_SYMTAB) || elf_has_section(f.elf, SHT_PROGBITS))) {
    elf_end(f.elf);
    sys_munmap(f.map, f.len);
    return -1;
  }
  sm->dbg = f;
  LOG(LOG_DEBUG, "sym: %s: debug file %s\n", sm->mod->path, path);
  return 0;
}

/* Find the separate debug file: by build id under /usr/lib/debug/.build-id,
** then by .gnu_debuglink next to the file, in .debug/, and under
** /usr/lib/debug/<dir>/ (gdb's order). */
static void elf_find_debug(struct sym_mod *sm)
{
  static const char hex[] = "0123456789abcdef";
  char path[4096];
  size_t k;
  const void *id;
  ssize_t idn = elf_build_id(sm->main.elf, &id);
  if (idn >= 2) {
    const uint8_t *b = id;
    k = 0;
    elf_cat(path, &k, sizeof path, SYM_DEBUGDIR "/.build-id/", sizeof SYM_DEBUGDIR "/.build-id/" - 1);
    char h[3] = { hex[b[0] >> 4], hex[b[0] & 15], '/' };
    elf_cat(path, &k, sizeof path, h, 3);
    for (ssize_t i = 1; i < idn; i++) {
      char x[2] = { hex[b[i] >> 4], hex[b[i] & 15] };
      elf_cat(path, &k, sizeof path, x, 2);
    }
    elf_cat(path, &k, sizeof path, ".debug", 6);
    if (!elf_try_debug(sm, path, id, idn)) return;
  }
  GElf_Word crc;
  const char *link = dwelf_elf_gnu_debuglink(sm->main.elf, &crc);
  if (!link || !*link || sm->mod->path[0] != '/') return;
  const char *slash = sm->mod->path;
  for (const char *p = sm->mod->path; *p; p++)
    if (*p == '/') slash = p;
  size_t dirn = (size_t)(slash - sm->mod->path) + 1, ln = lurk_strlen(link);
  const char *dirs[3][2] = { { "", "" }, { "", ".debug/" }, { SYM_DEBUGDIR, "" } };
  for (int i = 0; i < 3; i++) {
    k = 0;
    elf_cat(path, &k, sizeof path, dirs[i][0], lurk_strlen(dirs[i][0]));
    elf_cat(path, &k, sizeof path, sm->mod->path, dirn);
    elf_cat(path, &k, sizeof path, dirs[i][1], lurk_strlen(dirs[i][1]));
    elf_cat(path, &k, sizeof path, link, ln);
    if (!elf_try_debug(sm, path, id, idn)) return;
  }
}

/* -- Symbols --------------------------------------------------------------------- */

struct elf_vec { struct sym_sym *v; size_t n, cap; };

static void elf_push(struct elf_vec *v, const struct sym_sym *s)
{
  if (v->n == v->cap) {
    size_t nc = v->cap ? v->cap * 2 : 256;
    v->v = mem_realloc(v->v, v->cap * sizeof *v->v, nc * sizeof *v->v);
    v->cap = nc;
  }
  v->v[v->n++] = *s;
}

/* name without a symbol version ("memcpy@@GLIBC_2.14" in a .symtab): a
** copy, kept for the run, or name itself. */
static const char *elf_unversioned(const char *name)
{
  size_t n = 0;
  while (name[n] && name[n] != '@') n++;
  if (!name[n] || !n) return name;
  char *c = mem_alloc(n + 1);
  lurk_memcpy(c, name, n);
  return c;
}

/* Append the defined function and object symbols of e's tables of type. */
static void elf_read_syms(Elf *e, Elf64_Word type, struct elf_vec *out)
{
  Elf_Scn *scn = NULL;
  GElf_Shdr sh;
  while ((scn = elf_nextscn(e, scn))) {
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize) continue;
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d) continue;
    size_t n = sh.sh_size / sh.sh_entsize;
    for (size_t i = 1; i < n; i++) {
      GElf_Sym s;
      if (!gelf_getsym(d, (int)i, &s)) break;
      int t = GELF_ST_TYPE(s.st_info), b = GELF_ST_BIND(s.st_info);
      if (s.st_shndx == SHN_UNDEF || s.st_shndx == SHN_ABS || !s.st_name) continue;
      struct sym_sym y = { 0 };
      if (t == STT_FUNC) y.kind = SYM_FUNC;
      else if (t == STT_GNU_IFUNC) y.kind = SYM_IFUNC;
      else if (t == STT_OBJECT && s.st_size) y.kind = SYM_OBJECT;
      else continue;
      y.name = elf_strptr(e, sh.sh_link, s.st_name);
      if (!y.name || !*y.name) continue;
      y.name = elf_unversioned(y.name);
      y.off = s.st_value;
      y.size = s.st_size;
      y.global = b == STB_GLOBAL || b == STB_WEAK || b == STB_GNU_UNIQUE;
      y.dyn = type == SHT_DYNSYM;
      elf_push(out, &y);
    }
  }
}

static int elf_sym_cmp(const void *a, const void *b)
{
  const struct sym_sym *x = a, *y = b;
  if (x->off != y->off) return x->off < y->off ? -1 : 1;
  int c = lurk_strcmp(x->name, y->name);
  if (c) return c;
  return (int)y->dyn - (int)x->dyn; /* the .dynsym copy first */
}

extern void qsort(void *, size_t, size_t, int (*)(const void *, const void *));

/* Sort by address and drop the second copy of a symbol (.dynsym and .symtab,
** or the file and its debug file, both list it). */
static void elf_sort_syms(struct sym_mod *sm, struct elf_vec *v)
{
  qsort(v->v, v->n, sizeof *v->v, elf_sym_cmp);
  size_t k = 0;
  for (size_t i = 0; i < v->n; i++) {
    if (k && v->v[k - 1].off == v->v[i].off && !lurk_strcmp(v->v[k - 1].name, v->v[i].name)) {
      if (v->v[i].size > v->v[k - 1].size) v->v[k - 1].size = v->v[i].size;
      continue;
    }
    v->v[k++] = v->v[i];
  }
  sm->syms = v->v;
  sm->nsyms = k;
}

/* -- IFUNC ----------------------------------------------------------------------- */

static int elf_irel_cmp(const void *a, const void *b)
{
  const struct sym_irel *x = a, *y = b;
  return x->addend < y->addend ? -1 : x->addend > y->addend;
}

/* Record e's IRELATIVE relocations (ld.so writes resolver(addend) into
** each slot at load: the implementation that the module's own calls run). */
static void elf_read_irel(struct sym_mod *sm, Elf *e)
{
  Elf_Scn *scn = NULL;
  GElf_Shdr sh;
  size_t cap = 0;
  while ((scn = elf_nextscn(e, scn))) {
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize) continue;
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d) continue;
    size_t n = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < n; i++) {
      GElf_Rela r;
      if (!gelf_getrela(d, (int)i, &r)) break;
      if (GELF_R_TYPE(r.r_info) != ARCH_R_IRELATIVE) continue;
      if (sm->nirel == cap) {
        size_t nc = cap ? cap * 2 : 64;
        sm->irel = mem_realloc(sm->irel, cap * sizeof *sm->irel, nc * sizeof *sm->irel);
        cap = nc;
      }
      sm->irel[sm->nirel++] = (struct sym_irel){ (uint64_t)r.r_addend, r.r_offset };
    }
  }
  qsort(sm->irel, sm->nirel, sizeof *sm->irel, elf_irel_cmp);
}

uint64_t sym_elf_ifunc(struct sym_mod *sm, const struct sym_sym *s)
{
  const struct mod_info *m = sm->mod;
  uint64_t resolver = s->off + sm->bias;
  /* 1. A slot of the module's own IRELATIVE relocations, once relocated. */
  size_t lo = 0, hi = sm->nirel;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (sm->irel[mid].addend < s->off) lo = mid + 1;
    else hi = mid;
  }
  for (; lo < sm->nirel && sm->irel[lo].addend == s->off; lo++) {
    uint64_t v;
    if (!arch_copy_in(&v, sm->irel[lo].slot + sm->bias, sizeof v) && v >= m->base && v < m->end &&
        v != resolver)
      return v;
  }
  /* 2. Ask the resolver, as ld.so does (x86-64 glibc resolvers read the
  ** CPU features ld.so recorded; they take no arguments that matter).
  ** Not before ld.so has relocated the module (--early): its GOT is not
  ** filled in yet. */
  if (m->pending) return resolver;
  uint64_t (*fn)(uint64_t, uint64_t) = (uint64_t(*)(uint64_t, uint64_t))resolver;
  uint64_t v = fn(0, 0);
  if (v >= m->base && v < m->end) return v;
  return resolver;
}

/* -- Address-taken code ------------------------------------------------------------ */

struct elf_taken { uint64_t *v; size_t n, cap; GElf_Phdr x[8]; int nx; };

/* Keep link-time address a if it lies in an executable segment. */
static void taken_add(struct elf_taken *t, uint64_t a)
{
  int in = 0;
  for (int i = 0; i < t->nx && !in; i++) in = a >= t->x[i].p_vaddr && a < t->x[i].p_vaddr + t->x[i].p_memsz;
  if (!in) return;
  if (t->n == t->cap) {
    size_t nc = t->cap ? t->cap * 2 : 256;
    t->v = mem_realloc(t->v, t->cap * sizeof *t->v, nc * sizeof *t->v);
    t->cap = nc;
  }
  t->v[t->n++] = a;
}

/* The targets of e's RELA relocations that name code. */
static void taken_relocs(Elf *e, struct elf_taken *t)
{
  Elf_Scn *scn = NULL;
  GElf_Shdr sh;
  while ((scn = elf_nextscn(e, scn))) {
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize) continue;
    Elf_Data *d = elf_getdata(scn, NULL);
    Elf_Scn *symscn = elf_getscn(e, sh.sh_link);
    Elf_Data *syms = symscn ? elf_getdata(symscn, NULL) : NULL;
    for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
      GElf_Rela r;
      GElf_Sym s;
      if (!gelf_getrela(d, (int)i, &r)) break;
      unsigned type = (unsigned)GELF_R_TYPE(r.r_info);
      if (type == ARCH_R_RELATIVE) taken_add(t, (uint64_t)r.r_addend);
      else if ((type == ARCH_R_ABS64 || type == ARCH_R_GLOB_DAT || type == ARCH_R_JUMP_SLOT) && syms &&
               GELF_R_SYM(r.r_info) && gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &s) &&
               s.st_shndx != SHN_UNDEF && s.st_shndx != SHN_ABS)
        taken_add(t, s.st_value + (type == ARCH_R_ABS64 ? (uint64_t)r.r_addend : 0));
    }
  }
}

/* A non-PIE executable's pointers to code in its data sections (they need
** no relocation): every aligned 8-byte word that points into its text.
** Jump tables in .rodata count too (case labels: a known imprecision). */
static void taken_data(Elf *e, struct elf_taken *t)
{
  size_t shstr;
  if (elf_getshdrstrndx(e, &shstr)) return;
  Elf_Scn *scn = NULL;
  GElf_Shdr sh;
  while ((scn = elf_nextscn(e, scn))) {
    if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || (sh.sh_flags & SHF_EXECINSTR)) continue;
    if (sh.sh_type != SHT_PROGBITS && sh.sh_type != SHT_INIT_ARRAY && sh.sh_type != SHT_FINI_ARRAY &&
        sh.sh_type != SHT_PREINIT_ARRAY)
      continue;
    const char *name = elf_strptr(e, shstr, sh.sh_name);
    if (name && (!lurk_strncmp(name, ".eh_frame", 9) || !lurk_strcmp(name, ".gcc_except_table"))) continue;
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || !d->d_buf) continue;
    uint64_t skip = (8 - (sh.sh_addr & 7)) & 7;
    for (uint64_t k = skip; k + 8 <= d->d_size; k += 8) {
      uint64_t v;
      lurk_memcpy(&v, (const char *)d->d_buf + k, 8);
      taken_add(t, v);
    }
  }
}

static int taken_cmp(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

void sym_elf_addr_taken(struct sym_mod *sm)
{
  if (sm->taken_done) return;
  sm->taken_done = 1;
  Elf *e = sm->main.elf;
  size_t nph = 0;
  if (!e || elf_getphdrnum(e, &nph)) return;
  struct elf_taken t = { 0 };
  for (size_t i = 0; i < nph && t.nx < 8; i++) {
    GElf_Phdr ph;
    if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) t.x[t.nx++] = ph;
  }
  taken_relocs(e, &t);
  if (!sm->et_dyn) taken_data(e, &t);
  qsort(t.v, t.n, sizeof *t.v, taken_cmp);
  size_t k = 0;
  for (size_t i = 0; i < t.n; i++)
    if (!k || t.v[k - 1] != t.v[i]) t.v[k++] = t.v[i];
  for (size_t i = 0; i < k; i++) t.v[i] += sm->bias;
  sm->taken = t.v;
  sm->ntaken = k;
  LOG(LOG_DEBUG, "sym: %s: %zu address-taken code addresses\n", sm->mod->path, k);
}

/* DT_SONAME of e (in the mapped image), or NULL. */
static const char *elf_soname(Elf *e)
{
  Elf_Scn *scn = NULL;
  GElf_Shdr sh;
  while ((scn = elf_nextscn(e, scn))) {
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize) continue;
    Elf_Data *d = elf_getdata(scn, NULL);
    for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
      GElf_Dyn dy;
      if (!gelf_getdyn(d, (int)i, &dy) || dy.d_tag == DT_NULL) break;
      if (dy.d_tag == DT_SONAME) return elf_strptr(e, sh.sh_link, dy.d_un.d_val);
    }
  }
  return NULL;
}

/* -- Loading --------------------------------------------------------------------- */

void sym_elf_open(struct sym_mod *sm)
{
  const struct mod_info *m = sm->mod;
  int ok = m->path[0] == '[' ? (lurk_strcmp(m->path, "[vdso]") == 0 && !elf_open_mem(m->base, m->end, &sm->main))
                             : !elf_open_file(m->path, &sm->main);
  if (!ok) {
    LOG(LOG_DEBUG, "sym: %s: cannot read the ELF file\n", m->path);
    return;
  }
  Elf *e = sm->main.elf;
  GElf_Ehdr eh;
  size_t nph = 0;
  uint64_t lo = ~0ull;
  if (gelf_getehdr(e, &eh) && !elf_getphdrnum(e, &nph)) {
    for (size_t i = 0; i < nph; i++) {
      GElf_Phdr ph;
      if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_vaddr & ~4095ull) < lo)
        lo = ph.p_vaddr & ~4095ull;
    }
    sm->et_dyn = eh.e_type == ET_DYN;
  }
  sm->bias = sm->et_dyn && lo != ~0ull ? m->base - lo : 0;
  sm->soname = elf_soname(e);
}

void sym_elf_syms(struct sym_mod *sm)
{
  if (sm->syms_loaded) return;
  sm->syms_loaded = 1;
  Elf *e = sm->main.elf;
  if (!e) return;
  if (sm->mod->path[0] == '/') elf_find_debug(sm);
  struct elf_vec v = { 0 };
  elf_read_syms(e, SHT_DYNSYM, &v);
  elf_read_syms(e, SHT_SYMTAB, &v);
  if (sm->dbg.elf) elf_read_syms(sm->dbg.elf, SHT_SYMTAB, &v);
  elf_sort_syms(sm, &v);
  elf_read_irel(sm, e);
  LOG(LOG_DEBUG, "sym: %s: %zu symbols, bias 0x%lx\n", sm->mod->path, sm->nsyms, (unsigned long)sm->bias);
}

/* -- Demangling ------------------------------------------------------------------ */

extern void free(void *);

const char *sym_elf_demangle(struct sym_sym *s)
{
  if (s->dem) return s->dem;
  s->dem = s->name;
  const char *n = s->name;
  if (n[0] == '_' && (n[1] == 'Z' || n[1] == 'R')) {
    /* Rust v0 (_R...) and legacy (_ZN...17h<hash>E), then C++ (_Z...).
    ** (Not cplus_demangle: its object drags in libiberty's xmalloc.) */
    char *d = rust_demangle(n, DMGL_PARAMS | DMGL_ANSI);
    if (!d) d = cplus_demangle_v3(n, DMGL_PARAMS | DMGL_ANSI);
    if (d) {
      s->dem = lurk_strdup(d);
      free(d);
    }
  }
  return s->dem;
}
