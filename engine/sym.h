/* lurk: symbols, line tables, demangling and call stacks of the app's
** modules (elfutils' libelf/libdw and libiberty's demangler behind this
** header; nothing of theirs shows through it).
**
** Everything is loaded lazily, per module, on the first question about it,
** and kept: a run that never asks pays nothing. Names and file names
** returned stay valid for the rest of the run. All calls take the symbol
** lock; none may be made from lurk's signal handler.
*/
#ifndef LURK_SYM_H
#define LURK_SYM_H
#include "lurk.h"

struct mod_info;
struct arch_mctx;

/** Kinds of symbol. */
enum { SYM_FUNC = 1, SYM_OBJECT = 2, SYM_IFUNC = 3 };

/** One symbol of a loaded module (addresses are run-time addresses). */
struct sym_entry {
  const struct mod_info *mod;
  const char *name;       /**< demangled (the mangled name when it is not mangled) */
  const char *mangled;    /**< as in the ELF symbol table */
  uint64_t addr, size;    /**< for an IFUNC: addr is the implementation that runs */
  uint64_t resolver;      /**< IFUNC only: the resolver's address */
  int kind;               /**< SYM_FUNC, SYM_OBJECT, SYM_IFUNC */
  int global;             /**< GLOBAL or WEAK binding */
};

/** What a pc is (sym_lookup). */
struct sym_info {
  const struct mod_info *mod;  /**< NULL: the pc is in no module */
  struct sym_entry sym;        /**< sym.name NULL: no symbol covers the pc */
  uint64_t offset;             /**< pc - sym.addr */
  const char *file;            /**< from DWARF line tables, or NULL */
  int line;                    /**< 0 when unknown */
};

/**
 * @brief Symbolize pc: module, covering symbol, file:line.
 * @param lines nonzero to look file:line up (loads the DWARF of the module).
 * @return 0 when pc is in no module, 1 otherwise.
 */
int sym_lookup(uint64_t pc, struct sym_info *out, int lines);

/**
 * @brief Call fn for each symbol matching pattern, until it returns nonzero.
 * @param pattern "MODULE!NAME" or "NAME"; each part a glob (* ? [...]);
 *        MODULE matches the module's file name or, with a '/', its path.
 * @param funcs_only nonzero for functions (FUNC, IFUNC) only.
 * Modules are searched main program first, then in address order; within
 * a module, in address order. Names match mangled or demangled.
 * @return the number of calls made.
 */
size_t sym_match(const char *pattern, int funcs_only, int (*fn)(void *ud, const struct sym_entry *e),
                 void *ud);
/* (fn runs with the symbol lock held: it must not call back into sym.) */

/** The next function symbol of m at or after index *i (start at 0), in
 *  address order, into e; *i moves past it. 0 when there is none left. */
int sym_module_next(const struct mod_info *m, size_t *i, struct sym_entry *e);

/**
 * @brief The module's address-taken code: run-time addresses in its
 *        executable segments that its relocations write somewhere
 *        (R_X86_64_RELATIVE addends; R_X86_64_64, GLOB_DAT and JUMP_SLOT
 *        of symbols it defines) and, in a non-PIE executable, the
 *        8-byte-aligned words of its data sections that point there
 *        (function-pointer initialisers, which need no relocation).
 *        Read from the file's section headers: works for stripped files.
 * @param out set to the sorted array (kept for the run; do not free).
 * @return the count (0 when the file cannot be read).
 */
size_t sym_module_addr_taken(const struct mod_info *m, const uint64_t **out);

/**
 * @brief Walk the app's call stack from a register context.
 * @param m the app's registers (rsp, rbp, ... as saved in the thread block).
 * @param pc the app pc the registers belong to (frame 1).
 * @param out pcs, innermost first: out[0] = pc, then return addresses.
 * @param exact NULL, or per frame: 1 when out[i] is the pc of the next
 *        instruction to run (frame 1, a signal trampoline, and the frame
 *        the signal interrupted),
 *        0 for a return address (symbolize out[i] - 1 for the call's line).
 * @return how many frames were written (at most max).
 * CFI (.eh_frame, else .debug_frame) of the module holding each pc; frame
 * pointers where a module has no CFI for it. App memory is read with the
 * non-faulting copy, so a corrupt stack ends the walk instead of faulting.
 */
unsigned sym_backtrace(const struct arch_mctx *m, uint64_t pc, uint64_t *out, uint8_t *exact, unsigned max);

/** Statistics for tests and --stats: modules loaded so far. */
unsigned sym_loaded_count(void);

#endif
