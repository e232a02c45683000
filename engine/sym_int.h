/* lurk: what the sym* files share (not seen outside engine/sym*).
** A struct sym_mod is what lurk knows about one loaded module's ELF file:
** built on the first question about the module, kept for the run. Every
** function here runs with the symbol lock held (sym.c).
*/
#ifndef LURK_SYM_INT_H
#define LURK_SYM_INT_H
#include <elfutils/libdw.h>
#include <gelf.h>
#include "sym.h"

/* A symbol as read from the file: offsets are link-time addresses. */
struct sym_sym {
  uint64_t off, size;
  const char *name;     /* in the mapped string table */
  const char *dem;      /* demangled, or NULL until asked (== name if not mangled) */
  uint8_t kind;         /* SYM_FUNC, SYM_OBJECT, SYM_IFUNC */
  uint8_t global;
  uint8_t dyn;          /* from .dynsym */
};

/* A compile unit's address range (sym_line.c). */
struct sym_cu { uint64_t lo, hi, die; };

/* An IRELATIVE relocation: the slot at `slot` gets resolver(`addend`)'s value. */
struct sym_irel { uint64_t addend, slot; };

/* A file mapped read-only, with its libelf handle. */
struct sym_file { void *map; size_t len; Elf *elf; };

struct sym_mod {
  const struct mod_info *mod;
  struct sym_mod *next;         /* hash chain */
  uint64_t bias;                /* run-time address - link-time address */
  int et_dyn;
  int syms_loaded;              /* sym_elf_syms ran */
  const char *soname;           /* DT_SONAME, or NULL */
  struct sym_file main, dbg;    /* dbg.elf NULL: no separate debug file */
  struct sym_sym *syms;         /* sorted by off */
  size_t nsyms;
  int demangled;                /* every dem filled (sym_match) */
  struct sym_irel *irel;        /* sorted by addend */
  size_t nirel;
  uint64_t *taken;              /* address-taken code (run-time, sorted), once asked */
  size_t ntaken;
  int taken_done;
  /* DWARF (sym_line.c): state 0 untried, 1 loaded, -1 none */
  int dw_state;
  Dwarf *dw;
  struct sym_cu *cus;
  size_t ncus, capcus;
  int cus_full;                 /* cus lists every unit (not only .debug_aranges) */
  /* CFI (sym_unwind.c): state 0 untried, 1 tried */
  int cfi_state;
  Dwarf_CFI *cfi_eh, *cfi_dbg;
  Dwarf *cfi_dw;                /* the Dwarf behind cfi_dbg, when it is not dw */
};

/* sym_elf.c: open the module's file (bias, soname; main.elf NULL if it
** cannot be read), then, on demand, find its debug file and read its
** symbols (a module whose file cannot be read has none). */
void sym_elf_open(struct sym_mod *sm);
void sym_elf_syms(struct sym_mod *sm);
/* Fill sm->taken: the module's address-taken code (sym_module_addr_taken). */
void sym_elf_addr_taken(struct sym_mod *sm);
/* The demangled name of s (computed once). */
const char *sym_elf_demangle(struct sym_sym *s);
/* The run-time address an IFUNC symbol resolves to (resolver if unknown). */
uint64_t sym_elf_ifunc(struct sym_mod *sm, const struct sym_sym *s);

/* sym.c: the symbol lock (every entry point of sym.h takes it). */
void sym_lock(void);
void sym_unlock(void);
/* sym.c: the module record of m, its file opened (on first use); the
** same with its symbols read (and its debug file found). */
struct sym_mod *sym_mod_of(const struct mod_info *m);
struct sym_mod *sym_mod_syms(const struct mod_info *m);
/* Fill e from s of sm. */
void sym_entry_fill(struct sym_mod *sm, struct sym_sym *s, struct sym_entry *e);

/* sym_line.c: file:line of link-time address off; 0 if unknown. */
int sym_line_find(struct sym_mod *sm, uint64_t off, const char **file, int *line);
/* The module's Dwarf (separate debug file first), or NULL. */
Dwarf *sym_line_dwarf(struct sym_mod *sm);

#endif
