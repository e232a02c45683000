--- lurk.memcheck.uninit: uninitialised values (memcheck --uninit), the
-- first slice: byte-level definedness in memory (the shadow's UNDEFINED
-- and DEFINED states) and in the general registers, reported where
-- Valgrind's memcheck reports them for conditional branches and system
-- calls. docs/decisions.md ("Uninitialised values: the slice built") says
-- what is and is not modelled.
--
-- Memory: malloc/new/realloc growth and the stack a `sub rsp, N` allocates
-- are undefined; calloc, mmap, brk, the initial mappings and whatever the
-- kernel writes (syscall_post, by a table of output buffers) are defined.
-- Registers: one cell per general register in the thread block
-- (lurk.perthread), a mask of its undefined bytes (bit i: byte i). These
-- instructions propagate: mov/movzx/movsx/movsxd between registers and
-- memory, push and pop, rep movs (and movs), memcpy/memmove/mempcpy (by a
-- wrap: glibc copies with vector registers, which are not tracked). Every
-- other instruction that writes a general register makes it defined, and
-- every other store makes its bytes defined: an instruction not modelled
-- can hide an error, never make one up.
-- Checks: a cmp or test whose operands hold an undefined byte, when a
-- jcc, cmovcc or setcc in the same block reads its flags (reported at that
-- instruction: "Conditional jump or move depends on uninitialised
-- value(s)"); the buffers and paths of system calls ("Syscall param
-- write(buf) points to uninitialised byte(s)").
local M = {}

local R = require "lurk.memcheck.report"
local heap = require "lurk.memcheck.heap"
local shadow = lurk.shadow
local band, bor, bnot, lshift, rshift = bit.band, bit.bor, bit.bnot, bit.lshift, bit.rshift
local u8, u16, shr, low = lurk.u8, lurk.u16, lurk.shr, lurk.low
local tonumber, format = tonumber, string.format

local opts
local vr               -- lurk.perthread(17): [1..16] the registers, [17] stays 0
local ZERO = 17
M.nsites = 0

-- -- Registers -----------------------------------------------------------------
-- name -> { cell, byte offset, bytes }
local REG = {}
do
  local base = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp" }
  local legacy = { a = 1, b = 2, c = 3, d = 4 }
  for i, r in ipairs(base) do
    local s = r:sub(2)                       -- ax, bx, si, bp ...
    REG[r] = { i, 0, 8 }
    REG["e" .. s] = { i, 0, 4 }
    REG[s] = { i, 0, 2 }
    local l = s:sub(1, 1)
    if legacy[l] and s:sub(2) == "x" then
      REG[l .. "l"] = { i, 0, 1 }
      REG[l .. "h"] = { i, 1, 1 }
    else
      REG[s .. "l"] = { i, 0, 1 }            -- sil, dil, bpl, spl
    end
  end
  for n = 8, 15 do
    local i = n + 1
    REG["r" .. n] = { i, 0, 8 }
    REG["r" .. n .. "d"] = { i, 0, 4 }
    REG["r" .. n .. "w"] = { i, 0, 2 }
    REG["r" .. n .. "b"] = { i, 0, 1 }
  end
end

-- Bytes of a register that a write of `bytes` at offset `off` keeps (a
-- 32-bit write zeroes the upper half: keeps nothing).
local function keep_of(off, bytes)
  if bytes >= 4 then return 0 end
  return band(bnot(lshift(lshift(1, bytes) - 1, off)), 0xff)
end

-- The register's bytes as a mask in the cell.
local function mask_of(off, bytes) return lshift(lshift(1, bytes) - 1, off) end

-- -- Reports -------------------------------------------------------------------

local function stack_at(ctx, pc)
  local pcs, exact = ctx:backtrace(opts.callers)
  local p, e = { pc }, { true }
  for i = 2, #pcs do p[i] = pcs[i] e[i] = type(exact) == "table" and exact[i] or false end
  return p, e
end

-- A cmp/test site: { jpc = the flag reader's pc, eq = it reads only ZF,
-- test = the instruction is a test, n = operand bytes, ops = two of
-- { "reg", name64, byte offset, cell } | { "mem" } | { "imm", value } }.
local sites = {}

-- The n bytes of operand o (values, and a mask of the undefined ones).
local function operand_bytes(ctx, o, ea, n)
  local v, u = {}, 0
  if o[1] == "reg" then
    local x = ctx[o[2]]
    for i = 0, n - 1 do v[i] = low(shr(x, 8 * (o[3] + i)), 8) end
    u = band(rshift(low(vr[o[4]], 8), o[3]), lshift(1, n) - 1)
  elseif o[1] == "mem" then
    for i = 0, n - 1 do v[i] = lurk.u8(ea + i) end
    u = shadow.undef_mask(ea, n)
  else
    local x = o[2]
    for i = 0, n - 1 do
      if i < 4 then v[i] = band(rshift(bit.tobit(x), 8 * i), 0xff)
      elseif x < 0 then v[i] = 0xff
      else v[i] = band(rshift(bit.tobit(math.floor(x / 2 ^ 32)), 8 * (i - 4)), 0xff) end
    end
  end
  return v, u
end

-- Is the zero flag of the site's cmp/test defined although an operand
-- byte is not? As memcheck's exact equality: a cmp whose defined bytes
-- already differ, a test where a defined byte pair has a common bit or
-- each undefined byte meets a defined zero byte.
local function zf_defined(ctx, st, ea)
  local n = st.n
  if not st.eq or n > 8 then return false end
  local a, ua = operand_bytes(ctx, st.ops[1], ea, n)
  local b, ub = operand_bytes(ctx, st.ops[2], ea, n)
  local killed = true
  for i = 0, n - 1 do
    local da, db = band(ua, lshift(1, i)) == 0, band(ub, lshift(1, i)) == 0
    if da and db then
      if st.test and band(a[i], b[i]) ~= 0 then return true end
      if not st.test and a[i] ~= b[i] then return true end
    elseif not ((da and a[i] == 0) or (db and b[i] == 0)) then
      killed = false
    end
  end
  return st.test and killed
end

local function report_cond(ctx, site, ea)
  if heap.busy(ctx.tid) then return end
  local st = sites[site]
  if zf_defined(ctx, st, ea) then return end
  local pcs, exact = stack_at(ctx, st.jpc)
  R.error("uninit-cond", { tid = ctx.tid, stack = pcs, exact = exact })
end

-- -- Slow paths (Lua) ------------------------------------------------------------

local function load_slow(ea, size, d, keep, off, sx)
  local m = 0
  if ea < 0x800000000000 then m = shadow.undef_mask(ea, size) end
  if sx > 0 and band(m, lshift(1, size - 1)) ~= 0 then
    m = bor(m, lshift(1, sx) - lshift(1, size))        -- the sign bytes
  end
  vr[d] = bor(band(vr[d], keep), lshift(m, off))
end

local function store_slow(ea, size, s, smask, off)
  if ea >= 0x800000000000 then return end
  if size > 32 then shadow.mark(ea, size, "defined") return end
  local m = rshift(band(vr[s], smask), off)
  if size > 8 then m = 0 end
  shadow.set_mask(ea, size, m)
end

local function cmp_slow(ctx, ea, size, r, m, site)
  local u = band(vr[r], m)
  if u == 0 and ea > 0 and ea < 0x800000000000 and shadow.undef_mask(ea, size) ~= 0 then u = 1 end
  if u ~= 0 then report_cond(ctx, site, ea) end
end

-- -- Compiled handlers -------------------------------------------------------------
-- Their fast paths (the bytes' 4-byte shadow groups all defined, 0xaa, and
-- the registers' cells clear) are compiled into the block; the rest calls
-- the slow paths above.

--- mov/movzx/movsx/pop REG, [ea]: the register's cell d from the loaded
-- bytes (keep: the bytes of d the load leaves, off: where they go, sx:
-- the destination's width when sign-extending, else 0).
local function on_load(ctx, ea, size, d, keep, off, sx)
  local ok = 0
  if ea < 0x800000000000 then
    if low(ea, 2) + size <= 4 then
      if u8(shr(ea, 2) + lurk.shadow.offset) == 0xaa then ok = 1 end
    elseif low(ea, 2) == 0 and size == 8 then
      if u16(shr(ea, 2) + lurk.shadow.offset) == 0xaaaa then ok = 1 end
    end
  end
  if ok == 0 then load_slow(ea, size, d, keep, off, sx) return end
  vr[d] = band(low(vr[d], 8), keep)
end

--- A store of register cell s's bytes smask (at byte off) to [ea, ea +
-- size); s = ZERO for a store of a defined value.
local function on_store(ctx, ea, size, s, smask, off)
  if band(low(vr[s], 8), smask) == 0 and ea < 0x800000000000 then
    if low(ea, 2) + size <= 4 then
      if u8(shr(ea, 2) + lurk.shadow.offset) == 0xaa then return end
    elseif low(ea, 2) == 0 and size == 8 then
      if u16(shr(ea, 2) + lurk.shadow.offset) == 0xaaaa then return end
    end
  end
  store_slow(ea, size, s, smask, off)
end

--- mov/movzx/movsx REG, REG: cell d from cell s (same byte offsets; top:
-- the source's sign byte when sign-extending, ext: the bytes it fills).
local function on_copy(ctx, d, keep, s, smask)
  vr[d] = bor(band(low(vr[d], 8), keep), band(low(vr[s], 8), smask))
end

--- The same, sign-extending (top: the source's sign byte, ext: the bytes
-- it fills).
local function on_copy_sx(ctx, d, keep, s, smask, top, ext)
  local v = band(low(vr[s], 8), smask)
  if band(v, top) ~= 0 then v = bor(v, ext) end
  vr[d] = bor(band(low(vr[d], 8), keep), v)
end

--- An instruction not modelled writes register d: its bytes defined.
local function on_def(ctx, d, keep)
  vr[d] = band(low(vr[d], 8), keep)
end

--- cmp/test of registers (cells r1, r2 masked by m1, m2; ZERO for an
-- immediate) whose flags a jcc/cmov/setcc at jpc reads.
local function on_cmp_rr(ctx, r1, m1, r2, m2, site)
  if bor(band(low(vr[r1], 8), m1), band(low(vr[r2], 8), m2)) == 0 then return end
  report_cond(ctx, site, 0)
end

--- cmp/test of [ea] (size bytes) and a register or immediate.
local function on_cmp_m(ctx, ea, size, r, m, site)
  if band(low(vr[r], 8), m) == 0 and ea < 0x800000000000 then
    if low(ea, 2) + size <= 4 then
      if u8(shr(ea, 2) + lurk.shadow.offset) == 0xaa then return end
    elseif low(ea, 2) == 0 and size == 8 then
      if u16(shr(ea, 2) + lurk.shadow.offset) == 0xaaaa then return end
    end
  end
  cmp_slow(ctx, ea, size, r, m, site)
end

--- sub rsp, N: the N bytes below the old stack pointer are undefined.
local function on_stack_alloc(ctx, rsp, n, skip)
  shadow.mark(rsp - skip - n, n, "undefined")
end

--- rep movs (and movs): the definedness of the source onto the destination.
local function on_movs(ctx, dst, src, size, rcx, rep)
  local n = rep == 1 and size * rcx or size
  if n > 0 then shadow.copy(dst, src, n) end
end

--- rep stos (and stos): the stored register's definedness on every element.
local function on_stos(ctx, dst, size, rcx, rep)
  local n = rep == 1 and size * rcx or size
  if n == 0 then return end
  shadow.mark(dst, n, band(vr[1], lshift(1, size) - 1) ~= 0 and "undefined" or "defined")
end

-- -- System calls --------------------------------------------------------------
-- The memory a system call reads (checked before it) and writes (defined
-- after it). Arguments are e.args / registers: rdi rsi rdx r10 r8 r9.

local function cstr_len(p)
  if p == 0 or p >= 0x800000000000 then return nil end
  local ok, s = pcall(lurk.cstring, p)
  if ok and s then return #s + 1 end
end

-- The buffers and paths a call reads, by its signature (lurk.syscall):
-- "path" a string, "buf" bytes with the length in the next argument.
local sigs = {}
local function sig_of(nr)
  local s = sigs[nr]
  if s == nil then
    local d = lurk.syscall(nr)
    s = false
    if d and d.args then
      for i, k in ipairs(d.args) do
        if k == "path" or k == "buf" then s = s or { name = d.name } s[#s + 1] = { i, k } end
      end
    end
    sigs[nr] = s
  end
  return s
end
M.sig_of = sig_of

local function report_syscall(ctx, name, param, bad)
  if heap.busy(ctx.tid) then return end
  local pcs, exact = ctx:backtrace(opts.callers)
  local b = heap.find(bad)
  if b and (b.freed or bad < b.user or bad >= b.user + b.size) then b = nil end
  R.error("uninit-syscall", { tid = ctx.tid, stack = pcs, exact = exact, addr = bad,
                              title = format("Syscall param %s(%s) points to uninitialised byte(s)", name, param),
                              block = b,
                              text = not b and format("Address 0x%x is on thread %d's stack or in other memory", bad, ctx.tid) or nil })
end

-- Called before each syscall instruction (its registers as arguments).
local function syscall_check(ctx, nr, a1, a2, a3, a4, a5)
  local s = sig_of(tonumber(nr))
  if not s then return end
  local a = { tonumber(a1), tonumber(a2), tonumber(a3), tonumber(a4), tonumber(a5) }
  for _, x in ipairs(s) do
    local i, kind = x[1], x[2]
    local p, n = a[i], nil
    if p and p > 0 and p < 0x800000000000 then
      if kind == "path" then n = cstr_len(p) else n = a[i + 1] end
      if n and n > 0 and n < 2 ^ 40 then
        local bad = shadow.first_undefined(p, n)
        if bad then report_syscall(ctx, s.name, kind == "buf" and "buf" or "filename", tonumber(bad)) end
      end
    end
  end
end

-- Kernel outputs: name -> function(args, result) returning { addr, n } pairs.
local function buf(i, j) return function(a, r) return { { a[i], j == "r" and r or j and a[j] or nil } } end end
local function fixed(i, n) return function(a) return { { a[i], n } } end end
local ioc_sizes = { [0x5401] = 60, [0x5413] = 8, [0x541B] = 4 }
local WRITES = {
  read = buf(2, "r"), pread64 = buf(2, "r"), recvfrom = buf(2, "r"), getdents64 = buf(2, "r"),
  getdents = buf(2, "r"), readlink = buf(2, "r"), readlinkat = buf(3, "r"), getcwd = buf(1, "r"),
  getrandom = buf(1, "r"),
  fstat = fixed(2, 144), stat = fixed(2, 144), lstat = fixed(2, 144), newfstatat = fixed(3, 144),
  statx = fixed(5, 256), statfs = fixed(2, 120), fstatfs = fixed(2, 120),
  pipe = fixed(1, 8), pipe2 = fixed(1, 8), socketpair = fixed(4, 8),
  clock_gettime = fixed(2, 16), gettimeofday = fixed(1, 16), clock_getres = fixed(2, 16),
  uname = fixed(1, 390), sysinfo = fixed(1, 112), times = fixed(1, 32),
  getrlimit = fixed(2, 16), prlimit64 = fixed(4, 16), getrusage = fixed(2, 144),
  wait4 = function(a) return { { a[2], 4 }, { a[4], 144 } } end,
  rt_sigaction = fixed(3, 152), rt_sigprocmask = fixed(3, 8), sigaltstack = fixed(2, 24),
  getresuid = function(a) return { { a[1], 4 }, { a[2], 4 }, { a[3], 4 } } end,
  getresgid = function(a) return { { a[1], 4 }, { a[2], 4 }, { a[3], 4 } } end,
  sched_getaffinity = buf(3, "r"), poll = function(a) return { { a[1], 8 * a[2] } } end,
  ppoll = function(a) return { { a[1], 8 * a[2] } } end,
  select = function(a) return { { a[2], 128 }, { a[3], 128 }, { a[4], 128 }, { a[5], 16 } } end,
  pselect6 = function(a) return { { a[2], 128 }, { a[3], 128 }, { a[4], 128 } } end,
  epoll_wait = function(a, r) return { { a[2], 12 * r } } end,
  epoll_pwait = function(a, r) return { { a[2], 12 * r } } end,
  accept = fixed(2, 128), accept4 = fixed(2, 128), getsockname = fixed(2, 128), getpeername = fixed(2, 128),
  getsockopt = function(a) return { { a[4], 256 }, { a[5], 4 } } end,
  recvmsg = function(a) return { { a[2], 56 } } end,
  futex = nil, getgroups = function(a) return { { a[2], 4 * a[1] } } end,
  capget = fixed(2, 24), sched_getparam = fixed(2, 4), timerfd_gettime = fixed(2, 32),
  ioctl = function(a)
    local req = a[2] % 2 ^ 32
    local n = ioc_sizes[req]
    if not n and band(rshift(req, 30), 2) ~= 0 then n = band(rshift(req, 16), 0x3fff) end
    return { { a[3], n } }
  end,
}

-- readv, preadv, recvmsg: the iovecs the result covers.
local function iov_define(iov, cnt, r)
  local left = r
  for i = 0, cnt - 1 do
    if left <= 0 then break end
    local base, len = tonumber(lurk.u64(iov + 16 * i)), tonumber(lurk.u64(iov + 16 * i + 8))
    local n = len < left and len or left
    shadow.mark(base, n, "defined")
    left = left - n
  end
end

local function on_syscall_post(e)
  local r = e.result
  if type(r) ~= "number" or r < 0 then return end
  local name, a = e.name, e.args
  local t = {}
  for i = 1, 6 do t[i] = tonumber(a[i]) end
  if name == "readv" or name == "preadv" then return iov_define(t[2], t[3], r) end
  if name == "recvmsg" then
    local msg = t[2]
    if msg ~= 0 then iov_define(tonumber(lurk.u64(msg + 16)), tonumber(lurk.u64(msg + 24)), r) end
  end
  local d = lurk.syscall(e.number)
  if d and d.args then
    for i, k in ipairs(d.args) do
      if k == "outbuf" and t[i] and t[i] > 0 and r > 0 then shadow.mark(t[i], r, "defined") end
    end
  end
  local f = WRITES[name]
  if not f then return end
  for _, x in ipairs(f(t, r)) do
    local p, n = x[1], x[2]
    if p and n and p > 0 and n > 0 and p < 0x800000000000 then shadow.mark(p, n, "defined") end
  end
end

-- -- Instrumentation ---------------------------------------------------------------

local function reg_of(op)
  return op and op.kind == "reg" and REG[op.reg]
end

local function writes_flags(ins)
  for _, op in ipairs(ins.all_operands) do
    if op.kind == "reg" and (op.reg == "rflags" or op.reg == "eflags") and op.write then return true end
  end
  return false
end

local function reads_flags(ins)
  local m = ins.mnemonic
  if m == "jmp" or m:match("^j[er]?cxz") or m:match("^loop") then return false end
  return (m:match("^j") or m:match("^cmov") or m:match("^set") or m:match("^fcmov")) ~= nil
end

-- The index among the memory operands ("ea", "ea2"...) of operand j of
-- all_operands (the visible operands come first, in order).
local function mem_index(ins, j)
  local k = 0
  for i, op in ipairs(ins.all_operands) do
    if op.kind == "mem" then k = k + 1 end
    if i == j then return k end
  end
end

local function easpec(k) return k == 1 and "ea" or "ea" .. k end
local function szspec(k) return k == 1 and "size" or "size" .. k end

local COPY = { mov = 0, movzx = 0, movsx = 1, movsxd = 1 }

local EQ = { jz = true, jnz = true, je = true, jne = true, setz = true, setnz = true, sete = true,
             setne = true, cmovz = true, cmovnz = true, cmove = true, cmovne = true }
local NAME64 = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                 "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" }

-- One cmp/test whose flags the reader jins uses.
local function instrument_cmp(bb, i, ins, jins)
  local ops = ins.operands
  local mem, regs, sops = nil, {}, {}
  for j, op in ipairs(ops) do
    if op.kind == "mem" then mem = j sops[#sops + 1] = { "mem" }
    elseif op.kind == "reg" then
      local r = REG[op.reg]
      if not r then return end                  -- a vector register: not tracked
      regs[#regs + 1] = { r[1], mask_of(r[2], r[3]) }
      sops[#sops + 1] = { "reg", NAME64[r[1]], r[2], r[1] }
    elseif op.kind == "imm" then sops[#sops + 1] = { "imm", op.value }
    end
  end
  if #sops ~= 2 then return end
  regs[1] = regs[1] or { ZERO, 0 }
  regs[2] = regs[2] or { ZERO, 0 }
  M.nsites = M.nsites + 1
  local site = #sites + 1
  sites[site] = { jpc = jins.pc, eq = EQ[jins.mnemonic] or false, test = ins.mnemonic == "test",
                  n = ops[1].size / 8, ops = sops }
  if mem then
    if ops[mem].seg then return end
    local k = mem_index(ins, mem)
    bb:call_before(i, on_cmp_m, easpec(k), szspec(k), regs[1][1], regs[1][2], site)
  else
    bb:call_before(i, on_cmp_rr, regs[1][1], regs[1][2], regs[2][1], regs[2][2], site)
  end
end

local function instrument(bb)
  -- flag readers: the cmp/test in this block whose flags they read
  local cmp_for = {}
  local last_writer
  for i, ins in ipairs(bb) do
    if reads_flags(ins) and last_writer and not cmp_for[last_writer] then
      local m = bb[last_writer].mnemonic
      if m == "cmp" or m == "test" then cmp_for[last_writer] = ins end
    end
    if writes_flags(ins) then last_writer = i end
  end
  for i, ins in ipairs(bb) do
    local m = ins.mnemonic
    local ops = ins.operands
    local done = {}                    -- register cells this instruction's handler set
    if cmp_for[i] then instrument_cmp(bb, i, ins, cmp_for[i]) end
    local d, s = reg_of(ops[1]), ops[2]
    if COPY[m] and d and s and s.kind == "mem" and not s.seg and s.size <= 64 then
      local k = mem_index(ins, 2)
      local sx = COPY[m] == 1 and d[3] or 0
      bb:call_before(i, on_load, easpec(k), szspec(k), d[1], keep_of(d[2], d[3]), d[2], sx)
      done[d[1]] = true
    elseif COPY[m] and d and s and s.kind == "reg" and REG[s.reg] then
      local sr = REG[s.reg]
      if sr[2] == d[2] then
        local smask = mask_of(sr[2], sr[3])
        local top, ext = 0, 0
        if COPY[m] == 1 then top = lshift(1, sr[3] - 1) ext = mask_of(0, d[3]) - mask_of(0, sr[3]) end
        if top == 0 then bb:call_before(i, on_copy, d[1], keep_of(d[2], d[3]), sr[1], smask)
        else bb:call_before(i, on_copy_sx, d[1], keep_of(d[2], d[3]), sr[1], smask, top, ext) end
        done[d[1]] = true
      end
    elseif m == "pop" and d and d[3] == 8 then
      bb:call_before(i, on_load, "ea", "size", d[1], 0, 0, 0)      -- (pop's only memory operand)
      done[d[1]] = true
    elseif m == "sub" and ops[1] and ops[1].kind == "reg" and ops[1].reg == "rsp" and ops[2].kind == "imm"
           and ops[2].value > 0 and ops[2].value < 0x100000 then
      -- the red zone's bytes stored before the sub in this block (a
      -- prologue that saves registers there, then allocates) stay
      local keep = 0
      for j = 1, i - 1 do
        for _, op in ipairs(bb[j].all_operands) do
          if op.kind == "mem" and op.write and op.base == "rsp" and not op.index and op.disp < keep then keep = op.disp end
        end
        if bb[j].mnemonic ~= "mov" and bb[j].mnemonic ~= "movq" and bb[j].mnemonic ~= "movaps" then
          for _, op in ipairs(bb[j].all_operands) do
            if op.kind == "reg" and op.write and op.reg == "rsp" then keep = 0 end  -- (rsp moved: start again)
          end
        end
      end
      if ops[2].value + keep > 0 then bb:call_before(i, on_stack_alloc, "rsp", ops[2].value + keep, -keep) end
    end
    -- stores
    if ins.writes_memory then
      if ins.rep or m:match("^movs[bwdq]$") or m:match("^stos[bwdq]$") then
        local rep = ins.rep and 1 or 0
        if m:match("^movs") then
          bb:call_before(i, on_movs, "rdi", "rsi", ins.opsize / 8, "rcx", rep)
        elseif m:match("^stos") then
          bb:call_before(i, on_stos, "rdi", ins.opsize / 8, "rcx", rep)
        end
      else
        local k = 0
        for _, op in ipairs(ins.all_operands) do
          if op.kind == "mem" then
            k = k + 1
            -- (a masked store: all its bytes defined, those it leaves too)
            if op.write and not op.seg and not op.agen and op.size > 0 and k <= 2 then
              local src = (m == "mov" or m == "push") and reg_of(m == "mov" and ops[2] or ops[1])
              if src then
                bb:call_before(i, on_store, easpec(k), szspec(k), src[1], mask_of(src[2], src[3]), src[2])
              else
                bb:call_before(i, on_store, easpec(k), szspec(k), ZERO, 0xff, 0)
              end
            end
          end
        end
      end
    end
    -- registers the instruction writes, not modelled above: defined
    if ins.is_syscall then
      bb:call_before(i, syscall_check, "rax", "rdi", "rsi", "rdx", "r10", "r8")
      for _, r in ipairs({ "rax", "rcx", "r11" }) do bb:call_before(i, on_def, REG[r][1], 0) end
    else
      for _, op in ipairs(ins.all_operands) do
        local r = op.kind == "reg" and op.write and REG[op.reg]
        if r and r[1] ~= 8 and not done[r[1]] then          -- (rsp: its cell is not read)
          done[r[1]] = true
          bb:call_before(i, on_def, r[1], keep_of(r[2], r[3]))
        end
      end
    end
  end
end

-- memcpy/memmove/mempcpy: glibc copies through vector registers, which
-- are not tracked: the destination gets the source's definedness after.
local function copy_wrap()
  local pending = {}
  local w = {
    pre = function(call)
      local a = call.args
      local st = pending[call.tid] or {}
      pending[call.tid] = st
      st[#st + 1] = { tonumber(a[1]), tonumber(a[2]), tonumber(a[3]) }
    end,
    post = function(call)
      local st = pending[call.tid]
      local t = st and table.remove(st)
      if t and t[3] > 0 and t[3] < 2 ^ 40 then shadow.copy(t[1], t[2], t[3]) end
    end,
  }
  for _, n in ipairs({ "memcpy", "memmove", "mempcpy", "__memcpy_chk", "__memmove_chk", "__mempcpy_chk" }) do
    lurk.wrap("libc.so.6!" .. n, w)
  end
end

function M.start(o)
  opts = o
  vr = assert(lurk.perthread(17))
  lurk.on("bb", instrument)
  lurk.on("syscall_post", on_syscall_post)
  copy_wrap()
end

return M
