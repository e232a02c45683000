/* lurk: the modules (ELF files, and the vdso) mapped in the app.
** Found at takeover in /proc/self/maps, then followed through the app's
** mmap of a file with PROT_EXEC and its munmap; each change raises
** module_load / module_unload. Records are never freed, so a pointer from
** mod_find stays valid (its fields do not change) after an unload.
*/
#ifndef LURK_MOD_H
#define LURK_MOD_H
#include "lurk.h"

struct mod_info {
  const char *path;        /* as /proc/self/maps names it ("[vdso]" for the vdso) */
  uint64_t base, end;      /* [lowest mapped address, end of the highest segment) */
  uint64_t entry;          /* e_entry, relocated for ET_DYN */
  uint64_t text_lo, text_hi; /* the executable segment seen first: its unmapping unloads */
  int main;                /* the program itself (entry == AT_ENTRY) */
  int loaded;
  uint64_t relro;          /* start of its PT_GNU_RELRO, relocated (0: none) */
  int pending;             /* --early: module_load waits for its relocation */
};

/* At takeover, before the scripts run (so lurk.modules() sees them at a
** script's top level): record the modules already mapped (lurk's own
** library excepted). No event. */
void mod_scan(void);
/* --early: every mapping there is now is lurk's (its launcher, their
** libraries): noted as engine memory (mem.h), never an app module. */
void mod_host_begin(void);
/* --early: the modules of the program lurk mapped itself (ldr.h): those in
** spans (the program, its interpreter) and the vdso; entry is AT_ENTRY. */
void mod_scan_app(uint64_t entry, uint64_t (*spans)[2], size_t n);
/* At takeover (after thr_main and init): raise module_load for each module
** mod_scan found, in address order. */
void mod_init(void);
/* The app's mmap returned addr for (len, prot, flags, fd, off). */
void mod_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off);
/* The app unmapped [addr, addr+len). */
void mod_munmap(uint64_t addr, uint64_t len);
/* The app's mprotect: under --early, a module ld.so mapped is announced
** (module_load) when ld.so has relocated it, which it ends by making the
** module's RELRO read-only; until then its IFUNC resolvers and GOT are
** not usable (lurk.symbols calls resolvers). */
void mod_mprotect(uint64_t addr, uint64_t len, int prot);
/* The program's entry point (AT_ENTRY), once mod_scan or mod_scan_app ran. */
uint64_t mod_entry(void);
/* The loaded module holding pc, or NULL. */
const struct mod_info *mod_find(uint64_t pc);
/* Up to max loaded modules in address order into out; returns how many
** there are (may be more than max). */
size_t mod_list(const struct mod_info **out, size_t max);
/* The module lock, for fork: held across it like the other engine locks,
** released on both sides. Never held while an event is raised. */
void mod_lock(void);
void mod_unlock(void);

#endif
