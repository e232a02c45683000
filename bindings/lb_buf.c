/* lurk: record buffers (lurk.buffer). A compiled handler appends records
** of 64-bit fields to its thread's buffer with a few stores; when the
** buffer is full, at thread exit and at exit, the records are handed to a
** Lua function in one batch, as a `const int64_t *` and a count. A called
** handler appends to the same buffer, so the batches are the same either
** way. Per thread: gs:TLS_HC_BUF (next record, end, base), memory mapped
** on the thread's first record.
*/
#include <lauxlib.h>
#include <lua.h>
#include "lb_int.h"
#include "../arch/arch.h"
#include "../engine/hc.h"
#include "../engine/mem.h"
#include "../engine/thr.h"

#define LB_BUF "lurk.buffer"
#define LB_BUFS "lurk.buffers" /* registry: id -> { object, flush function } */

extern int arch_tls_ready;

struct lb_buf {
  uint32_t id;              /* 0..HC_NBUF-1 */
  uint32_t nfields;
  uint32_t cap;             /* records a thread's buffer holds */
  uint32_t site;            /* clean-call site of the full path */
  void *sink;               /* a lurk.cachesim taking the batches, or NULL: the Lua function */
};

static struct lb_buf *lb_bufs[HC_NBUF];
static unsigned lb_nbufs;

static struct lb_buf *lb_tobuf(lua_State *L, int i) { return luaL_checkudata(L, i, LB_BUF); }

/* Hand thread t's records of buffer b to its Lua function, and empty it. */
static void lb_buf_hand(lua_State *L, struct lb_buf *b, struct lurk_thread *t)
{
  uint64_t base = t->tls.hc_buf[b->id].base, ptr = t->tls.hc_buf[b->id].ptr;
  if (!base || ptr == base) return;
  uint64_t n = (ptr - base) / (8 * b->nfields);
  t->tls.hc_buf[b->id].ptr = base; /* a record the callback makes goes in again */
  if (b->sink) {
    lb_csim_batch(b->sink, (const uint64_t *)base, n);
    return;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, LB_BUFS);
  lua_rawgeti(L, -1, (int)b->id + 1);
  lua_rawgeti(L, -1, 2);
  lua_pushnumber(L, (lua_Number)base);
  lua_pushnumber(L, (lua_Number)n);
  lua_pushinteger(L, t->tid);
  lb_call(L, 3, 0);
  lua_pop(L, 2);
}

/* The calling thread's buffer b, mapped on first use. */
static void lb_buf_ready(struct lb_buf *b, struct lurk_thread *t)
{
  if (t->tls.hc_buf[b->id].base) return;
  size_t bytes = (size_t)b->cap * 8 * b->nfields;
  uint8_t *m = mem_alloc(bytes);
  t->tls.hc_buf[b->id].base = t->tls.hc_buf[b->id].ptr = (uint64_t)m;
  t->tls.hc_buf[b->id].end = (uint64_t)m + bytes;
}

/* The full path of compiled code (a clean call, argument: the buffer id):
** hand over the records, or map the buffer. */
static int lb_buf_full(lua_State *L)
{
  uint32_t id = (uint32_t)luaL_checkinteger(L, 2);
  struct lb_buf *b = id < lb_nbufs ? lb_bufs[id] : NULL;
  if (!b) return 0;
  struct lurk_thread *t = thr_self();
  lb_buf_ready(b, t);
  lb_buf_hand(L, b, t);
  return 0;
}

/* buf(v1, ..., vn): append one record (a called handler). */
static int lb_buf_call(lua_State *L)
{
  struct lb_buf *b = lb_tobuf(L, 1);
  if (lua_gettop(L) - 1 != (int)b->nfields)
    luaL_error(L, "a record of this buffer has %d fields, got %d", (int)b->nfields, lua_gettop(L) - 1);
  if (!arch_tls_ready) luaL_error(L, "lurk.buffer: no thread runs yet");
  struct lurk_thread *t = thr_self();
  lb_buf_ready(b, t);
  if (t->tls.hc_buf[b->id].ptr + 8 * b->nfields > t->tls.hc_buf[b->id].end) lb_buf_hand(L, b, t);
  uint64_t *r = (uint64_t *)t->tls.hc_buf[b->id].ptr;
  for (unsigned i = 0; i < b->nfields; i++)
    if (!lb_ffi_to_u64(L, (int)i + 2, &r[i])) luaL_argerror(L, (int)i + 2, "integer expected (a number or a 64-bit cdata)");
  t->tls.hc_buf[b->id].ptr += 8 * b->nfields;
  return 0;
}

/* buf:flush(): hand over the calling thread's records now. */
static int lb_buf_flush(lua_State *L)
{
  struct lb_buf *b = lb_tobuf(L, 1);
  if (arch_tls_ready) lb_buf_hand(L, b, thr_self());
  return 0;
}

static int lb_buf_tostring(lua_State *L)
{
  struct lb_buf *b = lb_tobuf(L, 1);
  lua_pushfstring(L, "lurk.buffer(%d fields, %d records a thread): %p", (int)b->nfields, (int)b->cap, (void *)b);
  return 1;
}

/* lurk.buffer(nfields, fn [, records]): a record buffer; fn(recs, n, tid)
** receives the batches (recs: a const int64_t * cdata, n records of the
** thread tid). fn may be a lurk.cachesim (2 fields), which takes them in C. */
static int lb_lurk_buffer(lua_State *L)
{
  lua_Integer nf = luaL_checkinteger(L, 1);
  luaL_argcheck(L, nf >= 1 && nf <= 8, 1, "1 to 8 fields");
  void *sink = lb_csim_test(L, 2);
  if (sink) luaL_argcheck(L, nf == 2, 1, "a lurk.cachesim takes records of 2 fields (address, info)");
  else luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_Integer cap = luaL_optinteger(L, 3, 8192);
  luaL_argcheck(L, cap >= 1 && cap <= (1 << 24), 3, "1 to 2^24 records");
  if (lb_nbufs == HC_NBUF) {
    lua_pushnil(L);
    lua_pushfstring(L, "at most %d buffers", HC_NBUF);
    return 2;
  }
  struct lb_buf *b = lua_newuserdata(L, sizeof *b);
  b->id = lb_nbufs;
  b->nfields = (uint32_t)nf;
  b->cap = (uint32_t)cap;
  b->sink = sink;
  luaL_getmetatable(L, LB_BUF);
  lua_setmetatable(L, -2);
  /* the batch function: fn(ffi.cast("const int64_t *", base), n) */
  lua_getfield(L, LUA_REGISTRYINDEX, "lurk.buf.wrap");
  if (lua_isnil(L, -1)) {
    static const char wrap[] =
      "local ffi = require 'ffi'\n"
      "local T = ffi.typeof('const int64_t *')\n"
      "return function(fn) return function(base, n, tid) return fn(ffi.cast(T, base), n, tid) end end\n";
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, wrap, sizeof wrap - 1, "=lurk.buffer")) lb_fail(L);
    lua_call(L, 0, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "lurk.buf.wrap");
  }
  lua_pushvalue(L, 2);
  if (sink) lua_remove(L, -2); /* kept as it is (in LB_BUFS, so never collected) */
  else lua_call(L, 1, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LB_BUFS);
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, -4);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, -3);
  lua_rawseti(L, -2, 2);
  lua_rawseti(L, -2, (int)b->id + 1);
  lua_pop(L, 2);
  lua_pushcfunction(L, lb_buf_full);
  b->site = lb_bb_const_site(L, lua_gettop(L), b->id);
  lua_pop(L, 1);
  lb_bufs[lb_nbufs++] = b;
  return 1;
}

int lb_buf_info(lua_State *L, int i, unsigned *nfields, uint32_t *site)
{
  struct lb_buf *b = luaL_testudata(L, i, LB_BUF);
  if (!b) return -1;
  *nfields = b->nfields;
  *site = b->site;
  return (int)b->id;
}

void lb_buf_thread_exit(struct lurk_thread *t)
{
  for (unsigned i = 0; i < lb_nbufs; i++) {
    lb_buf_hand(lb_L, lb_bufs[i], t);
    if (t->tls.hc_buf[i].base) {
      mem_free((void *)t->tls.hc_buf[i].base, (size_t)lb_bufs[i]->cap * 8 * lb_bufs[i]->nfields);
      t->tls.hc_buf[i].base = t->tls.hc_buf[i].ptr = t->tls.hc_buf[i].end = 0;
    }
  }
}

void lb_buf_exit(void)
{
  if (!lb_nbufs) return;
  for (struct lurk_thread *t = thr_list; t; t = t->next)
    for (unsigned i = 0; i < lb_nbufs; i++) lb_buf_hand(lb_L, lb_bufs[i], t);
}

void lb_buf_open(lua_State *L)
{
  static const luaL_Reg mm[] = { { "__call", lb_buf_call }, { "__tostring", lb_buf_tostring }, { NULL, NULL } };
  lb_class(L, LB_BUF, mm);
  lua_newtable(L);
  lua_pushcfunction(L, lb_buf_flush);
  lua_setfield(L, -2, "flush");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LB_BUFS);
  lua_getglobal(L, "lurk");
  lua_pushcfunction(L, lb_lurk_buffer);
  lua_setfield(L, -2, "buffer");
  lua_pop(L, 1);
}
