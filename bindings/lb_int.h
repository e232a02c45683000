/* lurk: what the binding files share (not seen by the engine).
** Conventions (STYLE #13): exports are static lb_<obj>_<verb>(lua_State *),
** arguments checked with luaL_check*, programmer errors raise, environmental
** failures return nil, message[, errno].
*/
#ifndef LURK_LB_INT_H
#define LURK_LB_INT_H
#include <lauxlib.h>
#include <lua.h>
#include "lb.h"

/* -- State (lb_state.c) ------------------------------------------------ */
extern lua_State *lb_L;       /* the one state; NULL before lb_start */
/* Message handler for lua_pcall: the error with a Lua traceback. */
int lb_traceback(lua_State *L);
/* Report the error on top of the stack ("lurk: <msg>") and end the
** process with status 1, after flushing the scripts' files. */
LURK_NORETURN void lb_fail(lua_State *L);
/* Call the function below nargs arguments with the traceback handler;
** an error ends the run through lb_fail. */
void lb_call(lua_State *L, int nargs, int nresults);

/* -- Files and the environment (lb_util.c) ------------------------------ */
/* Load the Lua file at path as a chunk named chunkname. Pushes the function
** (0) or an error message (LUA_ERRFILE, LUA_ERRSYNTAX, ...). */
int lb_loadfile(lua_State *L, const char *path, const char *chunkname);
/* Message for a -errno value (glibc's words for the common ones). */
const char *lb_strerror(long err);
/* Create the metatable registered as name, with the metamethods in mm, and
** leave it on the stack (the caller adds the rest and pops it). */
void lb_class(lua_State *L, const char *name, const luaL_Reg *mm);
/* v as "0x..." in buf (addresses in messages and __tostring); returns buf. */
const char *lb_hex(char buf[24], uint64_t v);
/* Push nil, "<what>: <strerror>", errno and return 3 (liolib's shape). */
int lb_fileresult(lua_State *L, const char *what, long err);
/* The environment the program started with (os.getenv). */
void lb_env_capture(char **envp);
const char *lb_env_get(const char *name, size_t n);

/* End the process the way os.exit does: the exit handlers (once), the
** scripts' files flushed, exit_group(status). */
LURK_NORETURN void lb_exit(lua_State *L, int status);

/* -- FFI and 64-bit values (lb_ffi.c) ----------------------------------- */
/* Create the internal ffi module, the 64-bit helpers and package.loaded.ffi
** (without ffi.C and ffi.load). Before lb_open_lurk. */
void lb_ffi_open(lua_State *L);
/* Push the internal (full) ffi module. */
void lb_ffi_get(lua_State *L);
/* Push v: a number when it is exact as one (|v| <= 2^53), else a uint64_t
** (lb_ffi_push_u64) or int64_t (lb_ffi_push_i64) cdata. */
void lb_ffi_push_u64(lua_State *L, uint64_t v);
void lb_ffi_push_i64(lua_State *L, int64_t v);
void lb_ffi_push_u64cdata(lua_State *L, uint64_t v); /* always a uint64_t cdata */
/* The value at i as 64 bits: an integer number (negative ones as two's
** complement; up to 2^64) or a 64-bit integer cdata. 0 if it is neither. */
int lb_ffi_to_u64(lua_State *L, int i, uint64_t *out);
/* The same, raising "bad argument #i ... (integer expected ...)". */
uint64_t lb_ffi_check_u64(lua_State *L, int i);

/* -- Libraries ---------------------------------------------------------- */
/* require, package.{loaded,preload,path,searchpath}, loadfile, dofile;
** path: directories separated by ':' (opt.path), may be NULL. */
void lb_open_package(lua_State *L, const char *path);
void lb_open_io(lua_State *L);       /* io (lb_io.c) */
void lb_open_os(lua_State *L);       /* os (lb_os.c) */
void lb_open_lurk(lua_State *L);     /* the lurk module (lb_lurk.c) */
/* Add on/off/thread_data/events/stages to the lurk table on top. */
void lb_event_open(lua_State *L);
/* Add decode to the lurk table on top; the insn metatable (lb_insn.c). */
void lb_insn_open(lua_State *L);
void lb_asm_open(lua_State *L);
struct insn;
/* The insn object at index i (raises if it is not one); push a copy of in. */
struct insn *lb_toinsn(lua_State *L, int i);
void lb_insn_push(lua_State *L, const struct insn *in);
/* Add the bb object, clean calls and write to the lurk table on top (lb_bb.c). */
void lb_bb_open(lua_State *L);
/* Events (lb_event.c) for the binding files that raise their own: take
** the Lua lock, push a new event table with room for n fields, fill it,
** lb_fire (runs ev's handlers with the table on top, pops it), unlock. */
void lb_lock(void);
/* lb_lock for Lua run for app thread t at app pc (waits out lurk.stop). */
struct lurk_thread;
void lb_lock_app(struct lurk_thread *t, uint64_t pc);
void lb_unlock(void);
lua_State *lb_event_new(int n);
void lb_fire(lua_State *L, int ev);
/* lb_fire for syscall event ev of call nr: only the handlers whose `only`
** takes nr (lurk.on's option) run. */
void lb_fire_sc(lua_State *L, int ev, long nr);
/* Inlined clean calls (lb_inl.c): set up (after lb_bb_open); inline the
** call of handler fn (stack index, id hid) with site s's arguments into p
** at (at, after) and return 1, or return 0 (emit the call); fold the
** threads' counters into Lua (before any Lua runs: lb_lock does it). */
struct cc_site;
struct bb_plan;
void lb_inl_open(lua_State *L);
int lb_inl_plan(lua_State *L, int fn, uint32_t hid, const struct cc_site *s, struct bb_plan *p,
                unsigned at, int after);
void lb_inl_sync(void);
/* Counter slots folded into upvalue uv (1-based) of the function at fn:
** the first, *stripes of them from there (sites take them in turn); -1 when full. */
int lb_inl_uvslot(lua_State *L, int fn, int uv, const char *what, unsigned *stripes);
void lb_hc_open(lua_State *L);
/* A clean-call site (not placed in any block) calling fn(ctx, k). */
uint32_t lb_bb_const_site(lua_State *L, int fn, uint64_t k);
/* Run site s's handler for thread t outside any block, with argument
** values v, t's context as ctx at app pc s->pc; the caller holds the Lua
** lock. Returns the handler's result as a boolean; *newpc: the pc it wrote
** to ctx.pc, or 0. (lb_guard.c) */
int lb_cc_run(struct lurk_thread *t, const struct cc_site *s, const uint64_t *v, uint64_t *newpc);
/* The plan of the bb object at stack index i (raises when expired). */
struct bb_plan *lb_bb_plan(lua_State *L, int i);
/* Add guard to the lurk table on top, guard to the bb methods (lb_guard.c). */
void lb_guard_open(lua_State *L);
/* The FFI callback of clean-call handlers with nargs arguments (lb_bb.c). */
void lb_buf_open(lua_State *L);
void lb_csim_open(lua_State *L);                  /* lurk.cachesim (lb_cachesim.c) */
void *lb_csim_test(lua_State *L, int i);          /* the lurk.cachesim at i, or NULL */
void lb_csim_batch(void *sim, const uint64_t *r, uint64_t n); /* n (address, info) records */
/* The buffer behind a lurk.buffer object at stack index i: id and fields, or -1. */
int lb_buf_info(lua_State *L, int i, unsigned *nfields, uint32_t *site);
/* Hashed counters (lb_hash.c): lurk.hash; the id and miss site of the
** hash at stack index i, or -1; per-thread tables made, retired, forked. */
void lb_hash_open(lua_State *L);
int lb_hash_info(lua_State *L, int i, uint32_t *site);
void lb_hash_thread_init(struct lurk_thread *t);
void lb_hash_retire(struct lurk_thread *t);
void lb_hash_fork_prepare(void);
void lb_hash_fork_child(void);
void lb_buf_thread_exit(struct lurk_thread *t);   /* hand over its records */
void lb_buf_exit(void);                           /* every thread's, at exit */
int lb_hc_plan(lua_State *L, int fn, uint32_t hid, const struct cc_site *s, struct bb_plan *p,
               unsigned at, int after);
void lb_hc_explain(lua_State *L);
struct lurk_thread;
void lb_hc_retire(struct lurk_thread *t);
void lb_hc_fork_prepare(void);  /* the other threads' counter shares, before a fork */
void lb_hc_fork_child(void);    /* ... added to the child's */
/* Add syscall to the lurk table on top (lb_syscall.c). */
void lb_syscall_open(lua_State *L);
/* Add read/cstring to the lurk table on top (lb_mem.c). */
void lb_mem_open(lua_State *L);
/* Add wrap/unwrap/replace to the lurk table on top (lb_wrap.c; after
** lb_bb_open, whose ffi it uses). */
void lb_wrap_open(lua_State *L);
/* Add modules/module_at to the lurk table on top (lb_mod.c). */
void lb_mod_open(lua_State *L);
/* Set a module's fields (path, name, base, size, end, entry, main) in the
** table on top. */
void lb_module_fields(lua_State *L, const struct lb_module *m);
/* Add sampling to the lurk table on top; the sample event's hook (lb_prof.c). */
void lb_prof_open(lua_State *L);
/* Add sym/addr/symbols to the lurk table on top; the module metatable
** (mod:symbols) and ctx:backtrace (lb_sym.c, after lb_bb_open). */
void lb_sym_open(lua_State *L);
struct arch_mctx;
/* Push the app's call stack from registers m at pc (lb_sym.c): a list of
** pcs and a list of exactness flags, at most the count in argument narg
** (default 64); returns 2. ctx:backtrace, call:backtrace, e:backtrace. */
int lb_backtrace_push(lua_State *L, const struct arch_mctx *m, uint64_t pc, int narg);
/* The id of the stack pcs[0..k) (lb_sym.c): 1, 2, ..., equal for equal
** stacks; lurk.stack(id) gives the pcs back. Under the Lua lock. */
uint32_t lb_stack_intern(const uint64_t *pcs, unsigned k);
/* Give the table on top the module metatable (lurk.module). */
void lb_module_setmeta(lua_State *L);
/* The app context of the running clean call, and its pc; NULL outside one. */
struct arch_mctx;
const struct arch_mctx *lb_cc_context(uint64_t *pc);
/* Add threads/stats to the lurk table on top (lb_ctl.c). */
void lb_ctl_open(lua_State *L);
/* Add the shadow table (set/get/check/find/stats) to the lurk table on
** top (lb_shadow.c). */
void lb_shadow_open(lua_State *L);
/* Add now/ppid/mkdir/readlink/dir/kill to the lurk table on top (lb_sys.c). */
void lb_sys_open(lua_State *L);
/* Serve the control channel's requests (engine/ctl.h) from L. */
void lb_ctl_init(lua_State *L);
/* Fire `init` (lb_start, after the scripts). */
void lb_event_init(void);
/* Flush every file the scripts opened for writing. */
void lb_io_flush_all(lua_State *L);

#endif
