--- lurk.memcheck.heap: memcheck's heap layer. Every glibc and libstdc++
-- allocator entry is wrapped (lurk.wrap): the size asked for is enlarged
-- by redzones before the call, the pointer handed back moved past the
-- left one after it, and the shadow set (redzones unaddressable). free
-- and delete keep the block in a delayed-free quarantine (the call is
-- skipped) and, once the quarantine holds more than its budget, hand the
-- oldest block to glibc instead (the call's argument is replaced). Heap
-- misuse is found here: invalid, double and mismatched frees, realloc of
-- a freed block.
--
--   local heap = require "lurk.memcheck.heap"
--   heap.start(opts)           -- opts.redzone, opts.quarantine, opts.alloc_depth
--   heap.find(addr)            --> block, or nil (for reports)
--   heap.busy(tid)             --> true while tid is inside an allocator
--
-- A block: { user, size, left, right, kind = "malloc"|"new"|"new[]",
-- alloc = pcs, free = pcs or false, freed = bool }; its chunk starts at
-- user - left. Live blocks are such tables; freed ones are records (below)
-- that heap.find and the reports get as tables.
local M = {}

local R = require "lurk.memcheck.report"
local shadow = lurk.shadow
local sset = shadow.set
local tonumber, floor, max, min = tonumber, math.floor, math.max, math.min

local opts
local RZ
-- Maps by user pointer. An entry that goes is set to false, not nil: the
-- allocator hands the same addresses out again and again, and a key set
-- to nil leaves its node dead, so new keys used the free nodes up and the
-- table was rehashed whole (100,000 keys) every few tens of thousands of
-- frees: lj_tab_set and the rehash were 30% of a malloc/free loop. Kept,
-- the key's node is reused; a table holds the addresses ever used.
local blocks = {}          -- user pointer -> live block | false
local qmap = {}            -- user pointer -> its record in the quarantine ring Q | false
local history = {}         -- user pointer -> its record in hist (given back to glibc) | false
-- Freed blocks are records in FFI rings, not tables: the quarantine (Q,
-- oldest first, doubled when full) and the history of the last HIST_MAX
-- blocks given back to glibc (double-free and realloc-of-freed reports
-- once a block has left the quarantine). A table per freed block kept
-- 200,000 of them alive, marked by every collection: a malloc/free pair
-- cost 8.5 us and 136 MB of Lua heap for 64 live blocks. A record is made
-- into a block table again only for a report (quar_block, hist_block).
local ffi = require "ffi"
ffi.cdef[[ struct lurk_mc_rec { double user, size; int32_t left, right, alloc, free; uint8_t kind; }; ]]
local HIST_MAX = 100000
local hcap = 1024          -- grows to HIST_MAX (4 MB, not made up front)
local hist = ffi.new("struct lurk_mc_rec[?]", hcap)
local hist_n, hist_next = 0, 0
local qcap, qhead, qn, qbytes = 1024, 0, 0, 0
local Q = ffi.new("struct lurk_mc_rec[?]", qcap)
local KIND = { malloc = 0, new = 1, ["new[]"] = 2 }
local KIND_NAME = { [0] = "malloc", "new", "new[]" }
local depth = {}           -- tid -> allocator calls in flight
local maxsize, maxleft = 0, 16
local stats = { allocs = 0, frees = 0, bytes = 0 }
M.blocks, M.stats = blocks, stats

function M.busy(tid) local d = depth[tid] return d ~= nil and d > 0 end

-- -- Blocks ------------------------------------------------------------------

-- Stacks are interned in the engine (call:stackid: an id per distinct
-- stack, no table per call); the pcs table of an id is made once, on its
-- first sight, and shared by every block allocated or freed there (the
-- garbage collector marks it once, not once per block).
local stacks = {}          -- stack id -> pcs
local stack_id = {}        -- pcs -> stack id
local lstack = lurk.stack
local function stack_of(call)
  local id = call:stackid(opts.alloc_depth)
  local s = stacks[id]
  if not s then s = lstack(id) stacks[id], stack_id[s] = s, id end
  return s
end

-- A freed block's table from its record r.
local function rec_block(r)
  return { user = r.user, size = r.size, left = r.left, right = r.right, kind = KIND_NAME[r.kind],
           alloc = stacks[r.alloc] or false, free = stacks[r.free] or false, freed = true }
end
-- The block freed at user, in the quarantine or in the history, or nil.
local function quar_block(user)
  local i = qmap[user]
  return i and rec_block(Q[i])
end
local function hist_block(user)
  local i = history[user]
  return i and rec_block(hist[i])
end

-- state: the user area's ("defined" unless --uninit, where malloc's
-- memory is "undefined" and calloc's "defined"); false: left as it is.
local function add_block(base, left, size, kind, alloc, state)
  local user = base + left
  -- (freed and free made now, so that a free does not grow the table: 8
  -- fields fill its 8 hash slots; a ninth, as base was, doubled them to 16,
  -- 448 bytes a block, and the quarantine and the history hold 200,000)
  local b = { user = user, size = size, left = left, right = left > 0 and RZ or 0,
              kind = kind, alloc = alloc, freed = false, free = false }
  qmap[user], history[user] = false, false
  blocks[user] = b
  if size > maxsize then maxsize = size end
  if left > maxleft then maxleft = left end
  if left > 0 then sset(base, left, "noaccess") end
  if state ~= false then sset(user, size, state or (opts.uninit and "undefined" or "defined")) end
  if b.right > 0 then sset(user + size, b.right, "noaccess") end
  stats.allocs, stats.bytes = stats.allocs + 1, stats.bytes + size
  return b
end

-- A freed block's chunk goes back to glibc (its memory is glibc's again:
-- addressable; glibc's own code and tcache read it later), its record
-- into the history.
local function release(user, size, left, right, kind, alloc, free)
  sset(user - left, left + size + right, "defined")
  local i = hist_next
  if i == hcap and hcap < HIST_MAX then -- (not wrapped yet: the records are 0..i-1)
    local h2 = ffi.new("struct lurk_mc_rec[?]", min(2 * hcap, HIST_MAX))
    ffi.copy(h2, hist, hcap * ffi.sizeof("struct lurk_mc_rec"))
    hist, hcap = h2, min(2 * hcap, HIST_MAX)
  end
  local h = hist[i]
  if hist_n == HIST_MAX then
    local u = h.user
    if history[u] == i then history[u] = false end
  else
    hist_n = hist_n + 1
  end
  h.user, h.size, h.left, h.right, h.kind, h.alloc, h.free = user, size, left, right, kind, alloc, free
  history[user] = i
  hist_next = (i + 1) % HIST_MAX
end

--- The block whose user area, redzones or freed area hold addr, else nil.
function M.find(addr)
  addr = tonumber(addr)
  local a = addr - addr % 16
  local lim = a - max(maxsize + RZ, 64)
  local under
  -- a block starting above addr whose left redzone holds it
  for u = a + 16, a + maxleft, 16 do
    local b = blocks[u] or quar_block(u) or hist_block(u)
    if b and addr >= u - b.left then under = b break end
  end
  for u = a, lim, -16 do
    local b = blocks[u] or quar_block(u)
    if b then
      if addr < u + b.size + b.right or (b.size == 0 and addr == u) then return b end
      break
    end
  end
  return under
end

-- -- Quarantine -------------------------------------------------------------

-- Live block b, freed at stack free (pcs), into the quarantine.
local function quarantine_push(b, free)
  if qn == qcap then -- twice the ring, oldest first from 0
    local q = ffi.new("struct lurk_mc_rec[?]", 2 * qcap)
    for k = 0, qn - 1 do
      local i = (qhead + k) % qcap
      q[k] = Q[i]
      if qmap[q[k].user] == i then qmap[q[k].user] = k end
    end
    Q, qcap, qhead = q, 2 * qcap, 0
  end
  local i = (qhead + qn) % qcap
  local r = Q[i]
  r.user, r.size, r.left, r.right, r.kind = b.user, b.size, b.left, b.right, KIND[b.kind]
  r.alloc, r.free = b.alloc and stack_id[b.alloc] or -1, free and stack_id[free] or -1
  blocks[b.user], qmap[b.user] = false, i
  qn, qbytes = qn + 1, qbytes + b.size
end

-- Once over budget (bytes, or blocks: a quarantine of small blocks costs
-- far more in bookkeeping than in bytes), the oldest quarantined block
-- leaves it (release): its chunk's start, else nil.
local function quarantine_pop()
  if (qbytes <= opts.quarantine and qn <= opts.quarantine_blocks) or qn == 0 then return nil end
  local i = qhead
  local r = Q[i]
  local user, size, left = r.user, r.size, r.left
  qhead, qn, qbytes = (i + 1) % qcap, qn - 1, qbytes - size
  if qmap[user] == i then qmap[user] = false end
  release(user, size, left, r.right, r.kind, r.alloc, r.free)
  return user - left
end

-- -- Per-thread state --------------------------------------------------------

local threads = {}
local function thr(tid)
  local t = threads[tid]
  if not t then t = { } threads[tid] = t depth[tid] = 0 end
  return t
end

local function enter(call)
  local tid = call.tid
  local t = thr(tid)
  local d = depth[tid] + 1
  depth[tid] = d
  return t, d
end

local function leave(call)
  local tid = call.tid
  depth[tid] = depth[tid] - 1
  return threads[tid]
end

local EXPECT = { free = "malloc", delete = "new", ["delete[]"] = "new[]" }
local FREE_NAME = { malloc = "malloc", new = "operator new", ["new[]"] = "operator new[]" }

local function heap_error(kind, call, b, text, addr)
  local pcs, exact = call:backtrace(opts.callers)
  R.error(kind, { addr = addr, tid = call.tid, stack = pcs, exact = exact, block = b, text = text })
end

-- The mapping that holds address a, from /proc/self/maps: lo, hi.
local function mapping_of(a)
  for line in io.lines("/proc/self/maps") do
    local lo, hi = line:match("^(%x+)%-(%x+) ")
    lo, hi = tonumber(lo, 16), tonumber(hi, 16)
    if lo and a >= lo and a < hi then return lo, hi end
  end
end

-- Is p in the calling thread's stack or in a module's data (an invalid
-- free, not a block from before lurk took over)? The stack is the mapping
-- that holds sp (not a guess around sp: a thread's stack may lie right
-- below a malloc arena).
local function not_heap(p, call)
  local lo, hi = mapping_of(tonumber(call.sp))
  if lo and p >= lo and p < hi then return true end
  local m = lurk.module_at(p)
  return m ~= nil
end

-- free(p) of block b (not freed): into quarantine; the call frees the
-- oldest block once over budget, else it is skipped. Returns true if the
-- call was skipped.
local function do_free(call, b, argi)
  stats.frees = stats.frees + 1
  sset(b.user, b.size, "noaccess")
  quarantine_push(b, stack_of(call))
  local chunk = quarantine_pop()
  if chunk then
    call.args[argi] = chunk
    return false
  end
  call:skip()
  return true
end

-- -- free and delete -----------------------------------------------------------

local function free_wrap(fkind)
  return {
    pre = function(call)
      local _, d = enter(call)
      if d > 1 then return end
      local p = tonumber(call.args[1])
      if p == 0 then return end
      local b = blocks[p]
      if b then
        if b.kind ~= EXPECT[fkind] then
          heap_error("mismatched-free", call, b,
                     string.format("%s of a block allocated by %s", fkind == "free" and "free()" or
                                   "operator " .. fkind, FREE_NAME[b.kind]), p)
        end
        if do_free(call, b, 1) then leave(call) end
        return
      end
      b = quar_block(p) or hist_block(p)
      if b then
        heap_error("double-free", call, b, nil, p)
        call:skip()
        leave(call)
        return
      end
      local inside = M.find(p)
      if (inside and not inside.freed) or not_heap(p, call) then
        heap_error("invalid-free", call, inside and not inside.freed and inside or nil, nil, p)
        call:skip()
        leave(call)
      end
      -- else a block from before lurk took over: glibc frees it
    end,
    post = function(call) leave(call) end,
  }
end

-- -- Allocators ----------------------------------------------------------------

-- Left redzone for alignment al: at least RZ, a multiple of al.
local function left_for(al)
  if al <= RZ then return RZ end
  return al
end

local function pow2(x) return x > 0 and x == 2 ^ floor(math.log(x) / math.log(2) + 0.5) end

-- An allocator: prep(call, t) sets t.n (size), t.left and adjusts the
-- arguments (returns false to leave the call alone); post registers the
-- block at ret + left.
local function alloc_wrap(kind, prep, result, defined)
  return {
    pre = function(call)
      local t, d = enter(call)
      if d > 1 then return end
      t.pass = not prep(call, t)
      if not t.pass then t.stack = stack_of(call) end
    end,
    post = function(call)
      local t = leave(call)
      if depth[call.tid] > 0 or t.pass then return end
      local r = call.ret
      if r == nil then return end
      r = tonumber(r)
      if result then result(call, t, r) return end
      if r == 0 then return end
      local b = add_block(r, t.left, t.n, kind, t.stack, defined and "defined" or nil)
      call.ret = b.user
    end,
  }
end

local BIG = 2 ^ 46

local function size_arg(i)
  return function(call, t)
    local n = tonumber(call.args[i])
    if n >= BIG then return false end
    t.n, t.left = n, RZ
    call.args[i] = n + 2 * RZ
    return true
  end
end

local function aligned(ial, isz)
  return function(call, t)
    local al, n = tonumber(call.args[ial]), tonumber(call.args[isz])
    if n >= BIG or not pow2(al) then return false end
    t.n, t.left = n, left_for(al)
    call.args[isz] = n + t.left + RZ
    return true
  end
end

local function calloc_prep(call, t)
  local a, b = tonumber(call.args[1]), tonumber(call.args[2])
  local n = a * b
  if n >= BIG then return false end
  t.n, t.left = n, RZ
  call.args[1], call.args[2] = 1, n + 2 * RZ
  return true
end

local function valloc_prep(call, t)
  local n = tonumber(call.args[1])
  if n >= BIG then return false end
  t.n, t.left = n, 4096
  call.args[1] = n + 4096 + RZ
  return true
end

local function pvalloc_prep(call, t)
  local n = tonumber(call.args[1])
  if n >= BIG then return false end
  n = n == 0 and 4096 or floor((n + 4095) / 4096) * 4096
  t.n, t.left = n, 4096
  call.args[1] = n + 4096 + RZ
  return true
end

local function posix_memalign_prep(call, t)
  local al, n = tonumber(call.args[2]), tonumber(call.args[3])
  if n >= BIG or not pow2(al) or al % 8 ~= 0 then return false end
  t.n, t.left, t.pp = n, left_for(al), tonumber(call.args[1])
  call.args[3] = n + t.left + RZ
  return true
end

local function posix_memalign_result(call, t, rc)
  if rc ~= 0 then return end
  local pp = ffi.cast("uint64_t *", t.pp)
  local base = tonumber(pp[0])
  local b = add_block(base, t.left, t.n, "malloc", t.stack)
  pp[0] = b.user
end

-- realloc(p, n) and reallocarray(p, a, b): isz the size argument(s).
local function realloc_wrap(array)
  return {
    pre = function(call)
      local t, d = enter(call)
      if d > 1 then return end
      local args = call.args
      local p = tonumber(args[1])
      local n
      if array then n = tonumber(args[2]) * tonumber(args[3]) else n = tonumber(args[2]) end
      t.pass, t.old = false, nil
      if n >= BIG then t.pass = true return end
      local b = blocks[p]
      if p ~= 0 and not b then
        b = quar_block(p) or hist_block(p)
        if b then
          heap_error("realloc-freed", call, b, nil, p)
          call:skip(0)
          leave(call)
          return
        end
        t.n, t.left, t.unknown = n, 0, true -- a block from before lurk took over
        t.stack = stack_of(call)
        return
      end
      t.unknown = false
      if b and n == 0 then -- glibc frees p and returns NULL
        stats.frees = stats.frees + 1
        sset(b.user, b.size, "noaccess")
        quarantine_push(b, stack_of(call))
        call:skip(0)
        leave(call)
        return
      end
      t.stack = stack_of(call)
      t.n = n
      if b then
        t.old, t.left = b, b.left
        args[1] = b.user - b.left
      else
        t.left = RZ
      end
      if array then args[2], args[3] = 1, n + t.left + RZ
      else args[2] = n + t.left + RZ end
    end,
    post = function(call)
      local t = leave(call)
      if depth[call.tid] > 0 or t.pass then return end
      local r = call.ret
      if r == nil then return end
      r = tonumber(r)
      if r == 0 then return end -- failed: the old block stays
      local old = t.old
      local b
      if old then
        stats.frees = stats.frees + 1
        blocks[old.user] = false
        if r ~= old.user - old.left then
          -- (the new block first: it takes the old one's definedness)
          b = add_block(r, t.left, t.n, old.kind, t.stack)
          if opts.uninit then shadow.copy(b.user, old.user, min(old.size, t.n)) end
          release(old.user, old.size, old.left, old.right, KIND[old.kind], stack_id[old.alloc] or -1,
                  stack_id[t.stack] or -1)
        else
          if t.n < old.size then sset(old.user + t.n, old.size - t.n + old.right, "defined") end
          b = add_block(r, t.left, t.n, old.kind, t.stack, not opts.uninit and "defined" or false)
          if opts.uninit and t.n > old.size then sset(old.user + old.size, t.n - old.size, "undefined") end
        end
      else
        b = add_block(r, t.left, t.n, "malloc", t.stack, t.unknown and "defined" or nil)
      end
      if t.unknown then b.right = 0 end
      call.ret = b.user
    end,
  }
end

-- malloc_usable_size(p): our blocks' size (glibc's would read the redzone).
local usable = {
  pre = function(call)
    local p = tonumber(call.args[1])
    local b = blocks[p]
    if b then call:skip(b.size) elseif qmap[p] then call:skip(0) end
  end,
}

local LIBC, CXX = "libc.so.6!", "libstdc++.so.6!"
local function entries()
  local list = {
    { LIBC .. "malloc", alloc_wrap("malloc", size_arg(1)) },
    { LIBC .. "calloc", alloc_wrap("malloc", calloc_prep, nil, true) },
    { LIBC .. "realloc", realloc_wrap(false) },
    { LIBC .. "reallocarray", realloc_wrap(true) },
    { LIBC .. "free", free_wrap("free") },
    { LIBC .. "memalign", alloc_wrap("malloc", aligned(1, 2)) },
    { LIBC .. "aligned_alloc", alloc_wrap("malloc", aligned(1, 2)) },
    { LIBC .. "posix_memalign", alloc_wrap("malloc", posix_memalign_prep, posix_memalign_result) },
    { LIBC .. "valloc", alloc_wrap("malloc", valloc_prep) },
    { LIBC .. "pvalloc", alloc_wrap("malloc", pvalloc_prep) },
    { LIBC .. "malloc_usable_size", usable },
  }
  for _, n in ipairs({ "_Znwm", "_ZnwmRKSt9nothrow_t" }) do
    list[#list + 1] = { CXX .. n, alloc_wrap("new", size_arg(1)) }
  end
  for _, n in ipairs({ "_Znam", "_ZnamRKSt9nothrow_t" }) do
    list[#list + 1] = { CXX .. n, alloc_wrap("new[]", size_arg(1)) }
  end
  for _, n in ipairs({ "_ZnwmSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t" }) do
    list[#list + 1] = { CXX .. n, alloc_wrap("new", aligned(2, 1)) }
  end
  for _, n in ipairs({ "_ZnamSt11align_val_t", "_ZnamSt11align_val_tRKSt9nothrow_t" }) do
    list[#list + 1] = { CXX .. n, alloc_wrap("new[]", aligned(2, 1)) }
  end
  for _, n in ipairs({ "_ZdlPv", "_ZdlPvm", "_ZdlPvRKSt9nothrow_t", "_ZdlPvSt11align_val_t",
                       "_ZdlPvmSt11align_val_t", "_ZdlPvSt11align_val_tRKSt9nothrow_t" }) do
    list[#list + 1] = { CXX .. n, free_wrap("delete") }
  end
  for _, n in ipairs({ "_ZdaPv", "_ZdaPvm", "_ZdaPvRKSt9nothrow_t", "_ZdaPvSt11align_val_t",
                       "_ZdaPvmSt11align_val_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t" }) do
    list[#list + 1] = { CXX .. n, free_wrap("delete[]") }
  end
  -- glibc code that walks freed chunks outside the calls above: counted
  -- as inside the allocator (their reads of quarantined memory are fine).
  -- __malloc_arena_thread_freeres: at a thread's exit, glibc 2.36 frees
  -- the thread's tcache there (tcache_thread_shutdown is inlined, no
  -- symbol), blocks that malloc's wrapper never returned.
  local busy = {
    pre = function(call) enter(call) end,
    post = function(call) leave(call) end,
  }
  for _, n in ipairs({ "tcache_thread_shutdown", "malloc_trim", "mallinfo", "mallinfo2", "malloc_stats",
                       "malloc_info", "__libc_freeres", "__malloc_arena_thread_freeres" }) do
    list[#list + 1] = { LIBC .. n, busy }
  end
  return list
end

function M.start(o)
  opts = o
  RZ = o.redzone
  maxleft = RZ
  local done = {}
  for _, e in ipairs(entries()) do
    local a = lurk.addr(e[1])
    local key = a and tostring(a)
    if not (key and done[key]) then
      if key then done[key] = true end
      lurk.wrap(e[1], e[2])
    end
  end
end

--- Live blocks (a list), for the leak scan.
function M.live()
  local t = {}
  for _, b in pairs(blocks) do if b then t[#t + 1] = b end end
  return t
end


return M
