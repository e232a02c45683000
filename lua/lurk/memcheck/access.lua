--- lurk.memcheck.access: addressability of the program's memory and the
-- check on every memory access.
--
-- The shadow starts from /proc/self/maps (every mapping addressable, the
-- main stack down to its size limit) and follows mmap, munmap, mremap,
-- mprotect and brk. Each instruction that reads or writes memory gets a
-- clean call per memory operand (not for operands addressed from rip or
-- a segment, nor from rsp unless 128 bytes or more below it: globals and
-- TLS are always addressable in this model) whose handler checks that the
-- access is not below the thread's stack pointer and that its bytes are
-- addressable in the shadow. Its fast path is compiled into the block.
--
-- glibc's string functions read past the end of a string (whole vectors
-- within the page; the generic C ones 4 bytes at a time): in libc and
-- ld.so, the reads of string functions (str*, mem*, wcs*, stp*... by
-- symbol) are not checked, except memcpy/mempcpy/memmove/memset, which
-- read exactly their bytes; their writes are (lurk.memcheck.strings
-- checks, at each entry, the bytes the function's definition reads). Elsewhere in libc, vector
-- reads that are partly addressable are accepted (memcheck's
-- --partial-loads-ok). Accesses made while the thread is inside the
-- allocator (glibc's malloc writing its chunk headers into a redzone) are
-- not errors.
local M = {}

local R = require "lurk.memcheck.report"
local heap = require "lurk.memcheck.heap"
local shadow = lurk.shadow
local check, sset = shadow.check, shadow.set
local tonumber, band = tonumber, bit.band

local opts
local nchecks = 0
M.app_maps = {}        -- start -> length: mmaps made outside the allocator

-- Flags of a check site: 1 write, 2 partial loads ok, 4 in libc.
local F_WRITE, F_PARTIAL, F_LIBC = 1, 2, 4

local function classify(addr, b)
  if not b then return "unaddressable" end
  if b.freed then return "use-after-free" end
  if addr < b.user then return "heap-underflow" end
  return "heap-overflow"
end

local function report(ctx, ea, size, fl, bad)
  if band(fl, F_LIBC) ~= 0 and heap.busy(ctx.tid) then return end
  local b = heap.find(bad)
  local pcs, exact = ctx:backtrace(opts.callers)
  R.error(classify(bad, b), { addr = bad, size = size, write = band(fl, F_WRITE) ~= 0, tid = ctx.tid,
                              stack = pcs, exact = exact, block = b })
end

-- An error found at a wrapped call's entry (a string function's read):
-- the stack is the call's.
local function report_call(call, bad, size)
  if heap.busy(call.tid) then return end
  local pcs, exact = call:backtrace(opts.callers)
  local b = heap.find(bad)
  R.error(classify(bad, b), { addr = bad, size = size, write = false, tid = call.tid,
                              stack = pcs, exact = exact, block = b })
end

-- -- The stack below the stack pointer ----------------------------------------
-- Each thread's stack is [lo, hi): the main thread's the [stack] mapping
-- down to its size limit, another thread's the heap block (a stack the
-- program malloc'd) or else the mapping (not the brk heap nor a module's
-- data) that holds its stack pointer. An access to [lo, rsp - 128) while rsp is in [lo, hi) is
-- an error (below-sp): that memory is dead frames (the 128 bytes below rsp
-- are the ABI's red zone). The compiled check compares ea with the
-- thread's lo, kept in a per-thread cell (0 until the thread's first slow
-- path sets it: then every access below rsp takes the slow path once).
local REDZONE = 128
local stk = assert(lurk.perthread(1))
local stacks = {}      -- tid -> { lo, hi }
local main_stack       -- { lo, hi } of the [stack] mapping (from_maps)

-- The stack of the calling thread, found from its stack pointer.
local function stack_of(tid, rsp)
  local t = stacks[tid]
  if t then return t end
  local b = heap.find(rsp)
  if main_stack and rsp >= main_stack[1] and rsp < main_stack[2] then
    t = { main_stack[1], main_stack[2] }
  elseif b and not b.freed and rsp >= b.user and rsp < b.user + b.size then
    t = { b.user, b.user + b.size }          -- a stack the program malloc'd
  elseif lurk.module_at(rsp) then
    t = { 0x7fffffffffff, 0x7fffffffffff }  -- a static array in a module's data
  else
    for line in io.lines("/proc/self/maps") do
      local lo, hi, rest = line:match("^(%x+)%-(%x+) %S+ %S+ %S+ %S+%s*(.*)$")
      lo, hi = tonumber(lo, 16), tonumber(hi, 16)
      -- (in the brk heap but in no block: not a stack we can bound)
      if lo and rsp >= lo and rsp < hi and rest ~= "[heap]" then t = { lo, hi } break end
    end
    -- not in a mapping of its own: no check on this thread
    t = t or { 0x7fffffffffff, 0x7fffffffffff }
  end
  stacks[tid] = t
  stk[1] = t[1]
  return t
end

-- A below-sp error at ea (the access's first byte below rsp - 128), or nil.
local function below_sp(ctx, ea, size, rsp)
  local t = stack_of(ctx.tid, rsp)
  local lim = rsp - REDZONE
  if rsp < t[1] or rsp >= t[2] or ea >= lim or ea + size <= t[1] then return nil end
  return ea < t[1] and t[1] or ea
end

local function report_below(ctx, bad, size, fl, rsp)
  local pcs, exact = ctx:backtrace(opts.callers)
  R.error("below-sp", { addr = bad, size = size, write = band(fl, F_WRITE) ~= 0, tid = ctx.tid,
                        stack = pcs, exact = exact,
                        text = string.format("Address 0x%x is on thread %d's stack, %d bytes below stack pointer",
                                             bad, ctx.tid, rsp - bad) })
end

-- The slow path of every check: below the stack pointer, then the shadow.
local function slow(ctx, ea, size, fl, rsp)
  ea, rsp = tonumber(ea), tonumber(rsp)
  local b = below_sp(ctx, ea, size, rsp)
  if b then return report_below(ctx, b, size, fl, rsp) end
  local bad, good = check(ea, size)
  if bad == nil then return end
  if good > 0 and band(fl, F_PARTIAL) ~= 0 then return end
  report(ctx, ea, size, fl, bad)
end

--- The hot check: one call per memory operand.
-- The per-access handlers. Their first lines are compiled into the block
-- (docs/lua-api.md, Compiled handlers): an access not below the stack
-- pointer (ea under the thread's stack, or within rsp - 128) whose bytes
-- are all addressable in the shadow (no 2-bit state is 0) returns there,
-- with no Lua; anything else reaches `slow`, where the compiled code calls
-- the handler. The shadow of the four-byte groups that hold the access is
-- tested whole first; when a group is only partly addressable (the last
-- bytes of a block whose size is not a multiple of 4, which perl and
-- python strings make common: 4 million slow calls in one perl round),
-- the bytes accessed alone are tested, still compiled, against a mask
-- of their bits, bits(size) * 4^o, o the offset in the group (the
-- compiled subset shifts by constants only, hence the products). One handler
-- per operand size, each with the cases its size can have (the compiler
-- does not drop the others: one handler for every size made lua5.4's code
-- cache 5.7 MB, these 3.x MB).
-- The stack condition, in each: below the thread's stack (whose bottom
-- is below 2^47, the shadow's end), or below 2^47 and not below rsp - 128.
local u8, u16, u32, shr, low, bor, rshift = lurk.u8, lurk.u16, lurk.u32, lurk.shr, lurk.low, bit.bor, bit.rshift

-- (4^o for o in 0..3 is (1 + 3 (o & 1)) (1 + 15 (o >> 1)); 0x1, 0x5 and
-- 0x55, the bits of 1, 2 and 4 bytes, are 12n^2 - 32n + 21 for n = 1, 2, 4.)

-- 1 to 4 bytes: one or two groups.
local function on_access4(ctx, ea, size, fl, rsp)
  if ea < stk[1] or (ea < 0x800000000000 and low(ea, 47) + 128 >= low(rsp, 47)) then
    local o = low(ea, 2)
    if o + size <= 4 then
      local s = u8(shr(ea, 2) + lurk.shadow.offset)
      if s == 0xaa then return end
      local v = band(bor(s, rshift(s, 1)), 0x55)
      if v == 0x55 then return end
      local m = (12 * size * size - 32 * size + 21) * (1 + 3 * band(o, 1)) * (1 + 15 * rshift(o, 1))
      if band(v, m) == m then return end
    else
      local s = u16(shr(ea, 2) + lurk.shadow.offset)
      if s == 0xaaaa then return end
      local v = band(bor(s, rshift(s, 1)), 0x5555)
      if v == 0x5555 then return end
      local m = (12 * size * size - 32 * size + 21) * (1 + 3 * band(o, 1)) * (1 + 15 * rshift(o, 1))
      if band(v, m) == m then return end
    end
  end
  slow(ctx, ea, size, fl, rsp)
end

-- 8 bytes: two groups, or three (read as four) when unaligned.
local function on_access8(ctx, ea, size, fl, rsp)
  if ea < stk[1] or (ea < 0x800000000000 and low(ea, 47) + 128 >= low(rsp, 47)) then
    local o = low(ea, 2)
    if o == 0 then
      local s = u16(shr(ea, 2) + lurk.shadow.offset)
      if s == 0xaaaa or band(bor(s, rshift(s, 1)), 0x5555) == 0x5555 then return end
    else
      local s = u32(shr(ea, 2) + lurk.shadow.offset)
      if s == 0xaaaaaaaa then return end
      local v = band(bor(s, rshift(s, 1)), 0x55555555)
      if v == 0x55555555 then return end
      local m = 0x5555 * (1 + 3 * band(o, 1)) * (1 + 15 * rshift(o, 1))
      if band(v, m) == m then return end
    end
  end
  slow(ctx, ea, size, fl, rsp)
end

-- 16 bytes (xmm): four groups, or five (read as eight) when unaligned.
local function on_access16(ctx, ea, size, fl, rsp)
  if ea < stk[1] or (ea < 0x800000000000 and low(ea, 47) + 128 >= low(rsp, 47)) then
    local g = shr(ea, 2) + lurk.shadow.offset
    local o = low(ea, 2)
    if o == 0 then
      local s = u32(g)
      if s == 0xaaaaaaaa or band(bor(s, rshift(s, 1)), 0x55555555) == 0x55555555 then return end
    else
      local s, t = u32(g), u32(g + 4)
      local v, w = band(bor(s, rshift(s, 1)), 0x55555555), band(bor(t, rshift(t, 1)), 0x55555555)
      if band(v, w) == 0x55555555 then return end
      local p = (1 + 3 * band(o, 1)) * (1 + 15 * rshift(o, 1))
      local m, n = band(0x55555555 * p, 0x55555555), band(p - 1, 0x55)
      if band(v, m) == m and band(w, n) == n then return end
    end
  end
  slow(ctx, ea, size, fl, rsp)
end

-- Any other size: up to 32 bytes in eight groups (ymm, memcpy's loads).
local function on_access(ctx, ea, size, fl, rsp)
  if ea < stk[1] or (ea < 0x800000000000 and low(ea, 47) + 128 >= low(rsp, 47)) then
    if low(ea, 2) + size <= 32 then
      local g = shr(ea, 2) + lurk.shadow.offset
      local s, t = u32(g), u32(g + 4)
      if band(bor(s, rshift(s, 1)), bor(t, rshift(t, 1)), 0x55555555) == 0x55555555 then return end
    end
  end
  slow(ctx, ea, size, fl, rsp)
end

-- 64 bytes (zmm: glibc's AVX-512 memcpy and memset, 0.8 million slow calls
-- a perl round when this size went to on_access): sixteen groups when
-- 4-aligned; else called.
local function on_access64(ctx, ea, size, fl, rsp)
  if low(ea, 2) == 0 and (ea < stk[1] or (ea < 0x800000000000 and low(ea, 47) + 128 >= low(rsp, 47))) then
    local g = shr(ea, 2) + lurk.shadow.offset
    local a, b, c, d = u32(g), u32(g + 4), u32(g + 8), u32(g + 12)
    local v = band(bor(a, rshift(a, 1)), bor(b, rshift(b, 1)), bor(c, rshift(c, 1)), bor(d, rshift(d, 1)))
    if band(v, 0x55555555) == 0x55555555 then return end
  end
  slow(ctx, ea, size, fl, rsp)
end
local HANDLER = { [1] = on_access4, [2] = on_access4, [4] = on_access4, [8] = on_access8, [16] = on_access16,
                  [64] = on_access64 }
M.on_access = on_access

--- A rep string instruction: nothing when rcx is 0; movs/stos/lods the
-- whole rcx * size bytes (forward: the direction flag is clear in
-- compiled code), cmps/scas (they may stop early) the first element.
-- Compiled for the common short ones (struct copies and clears: 64 and 80
-- bytes, 1.4 million slow calls a perl round before): n bytes, n a
-- multiple of 4 up to 96 at a 4-aligned address, tested exactly by 16-byte
-- windows from both ends (overlapping in the middle); the rest is called.
local function on_rep(ctx, ea, size, fl, rcx, whole, rsp)
  if rcx == 0 then return end
  if rcx < 256 and (ea < stk[1] or (ea < 0x800000000000 and low(ea, 47) + 128 >= low(rsp, 47))) then
    local n = size
    if whole == 1 then n = size * low(rcx, 8) end
    if low(ea, 2) == 0 and low(n, 2) == 0 and n <= 96 then
      local g = shr(ea, 2) + lurk.shadow.offset
      local q = shr(n, 2)
      if n == 4 then
        local s = u8(g)
        if band(bor(s, rshift(s, 1)), 0x55) == 0x55 then return end
      elseif n <= 16 then
        local s, t = u16(g), u16(g + q - 2)
        if band(bor(s, rshift(s, 1)), bor(t, rshift(t, 1)), 0x5555) == 0x5555 then return end
      else
        local s, t = u32(g), u32(g + q - 4)
        local v = band(bor(s, rshift(s, 1)), bor(t, rshift(t, 1)))
        if n > 32 then
          s, t = u32(g + 4), u32(g + q - 8)
          v = band(v, bor(s, rshift(s, 1)), bor(t, rshift(t, 1)))
        end
        if n > 64 then
          s, t = u32(g + 8), u32(g + q - 12)
          v = band(v, bor(s, rshift(s, 1)), bor(t, rshift(t, 1)))
        end
        if band(v, 0x55555555) == 0x55555555 then return end
      end
    end
  end
  if whole == 1 then size = size * rcx end
  slow(ctx, ea, size, fl, rsp)
end

--- An operand addressed from rsp with a constant displacement past the
-- red zone ([rsp - 200]): below the stack pointer whenever it runs.
local function on_rsp_below(ctx, ea, size, fl, rsp)
  slow(ctx, ea, size, fl, rsp)
end

-- -- Instrumentation ---------------------------------------------------------

local fn_kind = {}     -- function start -> "string" | "copy" | "other"
local function libc_kind(pc)
  local s = lurk.sym(pc, false)
  if not s or not s.addr then return "other" end
  local k = fn_kind[s.addr]
  if k then return k end
  local name = (s.name or ""):gsub("^_+", "")
  if name:match("^mem[pm]?[co]?[pv]") or name:match("^memset") or name:match("^wmemset") then
    k = "copy"     -- memcpy, mempcpy, memmove, memset: exactly their bytes
  elseif name:match("^str") or name:match("^mem") or name:match("^wcs") or name:match("^wmem")
         or name:match("^stp") or name:match("^raw") or name:match("^bcmp") or name:match("^[r]?index$") then
    k = "string"   -- read past the terminator (vectors, 4-byte unrolled loops)
  else
    k = "other"
  end
  fn_kind[s.addr] = k
  return k
end

-- libc and ld.so (which has its own string functions): { lo, hi } pairs
local runtime = {}
local function in_libc(pc)
  for _, r in ipairs(runtime) do if pc >= r[1] and pc < r[2] then return true end end
  return false
end

local function instrument(bb)
  local libc = in_libc(bb.pc)
  local kind = libc and libc_kind(bb.pc)
  for i, ins in ipairs(bb) do
    if ins.reads_memory or ins.writes_memory then
      local k = 0
      for _, op in ipairs(ins.all_operands) do
        if op.kind == "mem" then
          k = k + 1
          local base = op.base
          local rsp_below = base == "rsp" and not op.index and not op.agen and not op.seg and k <= 2
                            and op.disp < -REDZONE
          if rsp_below then
            nchecks = nchecks + 1
            bb:call_before(i, on_rsp_below, k == 1 and "ea" or "ea" .. k, k == 1 and "size" or "size" .. k,
                           op.write and F_WRITE or 0, "rsp")
          elseif not op.agen and base ~= "rsp" and base ~= "rip" and not op.seg and k <= 2
             and not (ins.mnemonic:match("^v?p?gather") or ins.mnemonic:match("scatter")) then
            local bytes = op.size / 8
            local fl = op.write and F_WRITE or 0
            local skip = false
            if libc then
              fl = fl + F_LIBC
              if not op.write then
                if kind == "string" then skip = true end
                if bytes >= 16 or ins.mask then fl = fl + F_PARTIAL end
              end
            end
            if ins.mask and not op.write then fl = bit.bor(fl, F_PARTIAL) end
            if ins.mask and op.write then skip = true end
            if bytes == 0 then skip = true end
            if not skip then
              nchecks = nchecks + 1
              local ea, sz = k == 1 and "ea" or "ea" .. k, k == 1 and "size" or "size" .. k
              if ins.rep then
                local whole = ins.mnemonic:match("cmps") or ins.mnemonic:match("scas")
                bb:call_before(i, on_rep, ea, sz, fl, "rcx", whole and 0 or 1, "rsp")
              else
                bb:call_before(i, HANDLER[bytes] or on_access, ea, sz, fl, "rsp")
              end
            end
          end
        end
      end
    end
  end
end

-- -- Mappings ------------------------------------------------------------------

local PROT_NONE = 0
local brk_cur

local function on_syscall(e)
  local r = e.result
  if type(r) ~= "number" or (r < 0 and r > -4096) then return end
  local n, a = e.name, e.args
  if n == "mmap" then
    sset(r, tonumber(a[2]), tonumber(a[3]) % 8 == PROT_NONE and "noaccess" or "defined")
    -- the program's own mappings are leak roots; the allocator's are heap
    if not heap.busy(e.tid) then M.app_maps[r] = tonumber(a[2]) end
  elseif n == "munmap" then
    sset(tonumber(a[1]), tonumber(a[2]), "noaccess")
    M.app_maps[tonumber(a[1])] = nil
  elseif n == "mremap" then
    local old, olen, nlen = tonumber(a[1]), tonumber(a[2]), tonumber(a[3])
    if r ~= old then sset(old, olen, "noaccess") sset(r, nlen, "defined")
    elseif nlen > olen then sset(r + olen, nlen - olen, "defined")
    else sset(r + nlen, olen - nlen, "noaccess") end
  elseif n == "mprotect" then
    sset(tonumber(a[1]), tonumber(a[2]), tonumber(a[3]) % 8 == PROT_NONE and "noaccess" or "defined")
  elseif n == "brk" then
    if brk_cur and r > brk_cur then sset(brk_cur, r - brk_cur, "defined")
    elseif brk_cur and r < brk_cur then sset(r, brk_cur - r, "noaccess") end
    brk_cur = r
  elseif n == "shmat" then
    sset(r, 1, "defined") -- XXX: size unknown without shmctl; the first page's byte only
  end
end

-- The initial state: every mapping addressable; the main stack down to
-- its size limit (it grows on faults, which raise no event; a limit
-- above 4 GiB or unlimited counts as 8 MiB).
local function from_maps()
  local STACK = 8 * 1024 * 1024
  local f = io.open("/proc/self/limits")
  if f then
    local lim = tonumber(f:read("*a"):match("Max stack size%s+(%d+)"))
    f:close()
    if lim and lim < 2 ^ 32 then STACK = lim end   -- (unlimited: 8 MiB, fewer checks)
  end
  for line in io.lines("/proc/self/maps") do
    local lo, hi, perm, rest = line:match("^(%x+)%-(%x+) (%S+) %S+ %S+ %S+%s*(.*)$")
    if lo then
      lo, hi = tonumber(lo, 16), tonumber(hi, 16)
      local sh = tonumber(shadow.offset)
      if not (lo >= sh and hi <= sh + tonumber(shadow.app_end) / 4) and hi <= tonumber(shadow.app_end) then
        if rest == "[stack]" then
          sset(hi - STACK, STACK, "defined")
          main_stack = { hi - STACK, hi }
        elseif perm:sub(1, 3) ~= "---" then sset(lo, hi - lo, "defined") end
        if rest == "[heap]" then brk_cur, M.heap_lo, M.heap_hi0 = hi, lo, hi end
      end
    end
  end
end

function M.start(o)
  opts = o
  assert(shadow.set(0, 0, "noaccess")) -- reserve now: nil, msg if the kernel refuses
  from_maps()
  local function runtime_mod(m)
    if m.name:match("^libc%.so") or m.name:match("^ld%-linux") then runtime[#runtime + 1] = { m.base, m["end"] } end
  end
  for _, m in ipairs(lurk.modules()) do runtime_mod(m) end
  lurk.on("module_load", runtime_mod) -- (with --early, libc is mapped after this)
  lurk.on("syscall_post", on_syscall)
  if not opts.no_access then
    lurk.on("bb", instrument)
    require("lurk.memcheck.strings").start(opts, report_call)
  end
end

function M.checks() return nchecks end

return M
