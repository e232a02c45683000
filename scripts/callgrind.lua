--- callgrind: per-function instruction counts with call edges, written in
-- Valgrind's callgrind format (KCachegrind, QCachegrind, callgrind_annotate).
--
--   lurk run callgrind -- ./prog args          # writes callgrind.out.<pid>
--   lurk run callgrind --out prof.cg -- ./prog # or FILE (%p: the pid)
--   callgrind_annotate callgrind.out.4242      # exclusive Ir per function
--   callgrind_annotate --inclusive=yes callgrind.out.4242
--   kcachegrind callgrind.out.4242
--
-- Options: `--out FILE` (or `--out=FILE`, `out=FILE` with -t): where to
-- write; `%p` in the name is the process id. The default is
-- callgrind.out.<pid> in the directory the program is in when it exits.
--
-- The file has one event, Ir (instructions executed), per function and
-- source line (positions: line; lines of code inlined from another file
-- follow an `fi=` line), the function's object (ob=) and file (fl=), and
-- call edges (calls=COUNT, then the caller's line and the inclusive cost
-- of those calls). Sample output (lurk run callgrind -- ./fib, a C
-- program at -O0 computing fib(20); then part of
-- `callgrind_annotate --inclusive=yes callgrind.out.4242`):
--
--   callgrind: 563,744 instructions, 110 functions, 142 call edges: callgrind.out.4242
--
--   563,683 (99.99%)  ???:_start [/tmp/fib]
--   560,494 (99.42%)  fib.c:main [/tmp/fib]
--   481,604 (85.43%)  fib.c:fib [/tmp/fib]
--   111,510 (19.78%)  fib.c:leaf [/tmp/fib]
--
-- How it counts (docs/decisions.md, "callgrind"):
--
-- * Exclusive Ir. Every block gets one clean call (before its last
--   instruction, so a block ending in a call, return or jump passes the
--   branch target and the stack pointer there). The call counts the block
--   once; at exit each block's count is split by the function and line of
--   each of its instructions (lurk.sym, looked up once per instruction when
--   the block is translated). An instruction that no sized symbol covers
--   (stripped code, PLT stubs, the tail of a size-0 assembly symbol) is
--   charged at run time to the function the thread is in: the callee of
--   the innermost call on its shadow stack, named as callgrind names it,
--   `0x<offset in its object, 16 digits>` unless a symbol starts there.
--   A `rep` string instruction counts once per execution, not once per
--   iteration as in Valgrind (scripts/inscount.lua).
-- * Calls. A per-thread shadow stack, kept by the same clean calls: a
--   `call` pushes {callee, stack pointer at entry, the thread's count}; a
--   `ret` pops every frame whose entry stack pointer is at or below its
--   stack pointer; a call or jump pops the frames below the stack pointer
--   first. So a longjmp or an exception pops what it skipped (at the next
--   call, jump or return), with the cost counted up to then. A call's
--   inclusive cost is the thread's count at the return minus at the call.
-- * Tail calls. A jump (direct, indirect or conditional and taken) to the
--   first instruction of a function (of a sized symbol: Valgrind ignores
--   size-0 ones), or into another object, is a call
--   from the jumping function with the same stack pointer as the frame it
--   is in (as callgrind): it returns with that frame. A PLT stub is an
--   unnamed function (`0x...`) that tail-calls the library function, as
--   callgrind writes it with --skip-plt=no.
-- * Recursion. A call of a function already on the thread's stack counts
--   as a call, but its inclusive cost is not added (it is part of the
--   outer call's): a function's inclusive cost, the sum of its incoming
--   edges (as callgrind_annotate --inclusive=yes and KCachegrind add them),
--   is the cost of its outermost calls. callgrind instead keeps recursion
--   levels apart by default (`fib'2`); lurk writes one `fib`.
-- * Threads have their own stacks and counts; their costs are merged in
--   one file (callgrind's default). Calls still in flight at exit are
--   closed with the cost so far. A forked child writes its own file.
--
-- Cost: one clean call per block (about 40 ns) plus a few table updates;
-- bench/README.md has the ratios to native and to valgrind --tool=callgrind.
local callgrind = require "lurk.callgrind"

local out_name
do
  local args, i = { ... }, 1
  while i <= #args do
    local a = args[i]
    local v = a:match("^%-%-out=(.*)$") or a:match("^out=(.*)$")
    if v then out_name = v
    elseif a == "--out" or a == "-o" then
      i = i + 1
      out_name = args[i]
      if not out_name then error("callgrind: --out needs a file name", 0) end
    else
      error(string.format("callgrind: unknown option '%s' (--out FILE)", a), 0)
    end
    i = i + 1
  end
end

local sym, module_at, format = lurk.sym, lurk.module_at, string.format

-- -- Functions -----------------------------------------------------------
-- A function record: fname[id], fobj[id] (module path), ffile[id], fline[id].
local fname, fobj, ffile, fline = {}, {}, {}, {}
local nfn = 0
local fn_at = {}                 -- address -> function id (named or not)

local function newfn(name, obj, file, line)
  nfn = nfn + 1
  fname[nfn], fobj[nfn], ffile[nfn], fline[nfn] = name, obj or "???", file, line or 0
  return nfn
end

-- The load bias of a module: callgrind names unnamed code by its offset in
-- the object (0 for a non-PIE executable, the base for the others).
local bias_of = {}
local function bias(m)
  local b = bias_of[m.path]
  if b then return b end
  b = m.base
  local t = lurk.read(m.base + 16, 1)
  if t and t:byte() == 2 then b = 0 end     -- ET_EXEC: linked at its address
  bias_of[m.path] = b
  return b
end

-- The function a call to (or a tail jump to) address a enters.
local function fn_of_target(a)
  local f = fn_at[a]
  if f then return f end
  local s = sym(a)
  if s and s.name and (s.size > 0 or s.offset == 0) then
    f = fn_at[s.addr]
    if not f then
      local e = s.offset == 0 and s or sym(s.addr)
      f = newfn(s.name, s.path, e and e.file, e and e.line)
      fn_at[s.addr] = f
    end
  else
    local m = module_at(a)
    local off = m and a - bias(m) or a
    f = newfn(format("0x%016x", off), m and m.path)
  end
  fn_at[a] = f
  return f
end

-- The function that sized symbol s (covering an instruction) names.
local function fn_of_sym(s)
  local f = fn_at[s.addr]
  if f then return f end
  local e = s.offset == 0 and s or sym(s.addr)
  f = newfn(s.name, s.path, e and e.file, e and e.line)
  fn_at[s.addr] = f
  return f
end

-- -- Blocks -----------------------------------------------------------------
-- Block b: blen[b] instructions, bgrp[b] = { fn, file, line, k, ... } its
-- named instructions grouped by function and line, bunk[b] how many have no
-- function (charged to the thread's current one), bcnt[b] executions.
local blen, bgrp, bunk, bcnt = {}, {}, {}, {}
local nblk = 0
-- Per block that ends in a call or jump: the caller's function (false: the
-- thread's current one) and the line; the callee for direct targets.
local bcaller, bline, bcallee, bedges = {}, {}, {}, {}
local ux = {}                    -- function id -> Ir of unnamed instructions

-- -- Threads ------------------------------------------------------------------
-- A thread: n (its instructions so far), depth, frames as parallel arrays
-- fsp (stack pointer at entry), ffn (callee), fn0 (n at the call), fedge
-- (the edge, or false), fouter (outermost call of that callee), top (the
-- function it is in), active[fn] (calls in flight).
local function new_thread()
  return { n = 0, depth = 0, fsp = {}, ffn = {}, fn0 = {}, fedge = {}, fouter = {},
           top = false, active = {} }
end
local threads = {}
local single = new_thread()      -- the only thread, while there is one
threads[lurk.tid()] = single
local nthreads = 1

local function thread_of(ctx)
  local tid = ctx.tid
  local th = threads[tid]
  if not th then th = new_thread() threads[tid] = th end
  return th
end

lurk.on("thread_init", function(e)
  if not threads[e.tid] then
    threads[e.tid] = new_thread()
    nthreads = nthreads + 1
    single = nil
  end
end)

lurk.on("fork", function()
  -- the child has one thread: the one that forked
  local th = single or new_thread()
  threads = { [lurk.tid()] = th }
  single, nthreads = th, 1
end)

-- -- Edges --------------------------------------------------------------------
local edges = {}                 -- list of { caller, callee, line, count, incl }

local function edge(b, caller, callee)
  local m = bedges[b]
  if not m then m = {} bedges[b] = m end
  local key = callee * 1048576 + caller
  local e = m[key]
  if not e then
    e = { caller, callee, bline[b], 0, 0 }
    m[key] = e
    edges[#edges + 1] = e
  end
  e[4] = e[4] + 1
  return e
end

-- Pop frame d of th at count n.
local function pop(th)
  local d = th.depth
  local f = th.ffn[d]
  local a = th.active
  a[f] = a[f] - 1
  if th.fouter[d] then
    local e = th.fedge[d]
    e[5] = e[5] + (th.n - th.fn0[d])
  end
  th.depth = d - 1
  th.top = d > 1 and th.ffn[d - 1] or th.base
end

-- Pop the frames whose entry stack pointer is below sp (left by a longjmp,
-- an exception, a signal handler that did not return).
local function unwind(th, sp)
  local fsp = th.fsp
  while th.depth > 0 and fsp[th.depth] < sp do pop(th) end
end

local function push(th, b, callee, sp)
  local caller = bcaller[b] or th.top or callee
  local e = edge(b, caller, callee)
  local d = th.depth + 1
  th.depth = d
  th.fsp[d], th.ffn[d], th.fn0[d], th.fedge[d] = sp, callee, th.n, e
  local a = th.active[callee] or 0
  th.active[callee] = a + 1
  th.fouter[d] = a == 0
  th.top = callee
end

-- Count block b on th.
local function count(th, b)
  th.n = th.n + blen[b]
  bcnt[b] = bcnt[b] + 1
  local k = bunk[b]
  if k then
    local f = th.top
    if not f then f = th.base or bcallee[-b] th.top = f th.base = f end
    ux[f] = (ux[f] or 0) + k
  end
end

-- -- Clean-call handlers (one per block kind) -----------------------------------
-- The most frequent kind: a block without unnamed instructions that does
-- not end in a call, return or tail call.
local function on_plain(ctx, b, n)
  local th = single or thread_of(ctx)
  th.n = th.n + n
  bcnt[b] = bcnt[b] + 1
end

local function on_plain_unk(ctx, b)
  count(single or thread_of(ctx), b)
end

local function on_call(ctx, b, target, rsp)
  local th = single or thread_of(ctx)
  count(th, b)
  unwind(th, rsp)
  push(th, b, bcallee[b] or fn_of_target(target), rsp - 8)
end

local function on_ret(ctx, b, target, rsp)
  local th = single or thread_of(ctx)
  count(th, b)
  local fsp, popped = th.fsp, false
  while th.depth > 0 and fsp[th.depth] <= rsp do pop(th) popped = true end
  -- a return past the first frame the thread has seen: it is in the caller
  if not popped and th.depth == 0 then th.base = fn_of_target(target) th.top = th.base end
end

-- A jump: a tail call if it enters a function's first instruction or
-- another object.
local entry_of = {}                        -- target -> function id or false
local bmod = {}                            -- block -> its module's path (or false)
local function tail_target(b, a)
  local f = entry_of[a]
  if f == nil then
    local s = sym(a)
    if s and s.name and s.offset == 0 and s.size > 0 then f = fn_of_target(a)
    else
      local m = module_at(a)
      f = ((m and m.path or false) ~= bmod[b]) and fn_of_target(a) or false
    end
    entry_of[a] = f
  end
  return f
end

local function tail(th, b, f, rsp)
  unwind(th, rsp)
  local d = th.depth
  push(th, b, f, d > 0 and th.fsp[d] or rsp)
end

local function on_jmp(ctx, b, target, rsp)
  local th = single or thread_of(ctx)
  count(th, b)
  local f = tail_target(b, target)
  if f then tail(th, b, f, rsp) else unwind(th, rsp) end
end

local function on_jcc(ctx, b, taken, rsp)
  local th = single or thread_of(ctx)
  count(th, b)
  if taken ~= 0 then tail(th, b, bcallee[b], rsp) end
end

local function plain(bb, b, n)
  if bunk[b] then bb:call_before(n, on_plain_unk, b)
  else bb:call_before(n, on_plain, b, n) end
end

-- -- Translation -----------------------------------------------------------------
lurk.on("bb", function(bb)
  local n = #bb
  if n == 0 then return end
  nblk = nblk + 1
  local b = nblk
  local grp, unk = {}, 0
  local lastf, lastfile, lastline
  for i = 1, n do
    local pc = bb[i].pc
    local s = sym(pc)
    if s and s.name and s.size > 0 then
      local f, file, line = fn_of_sym(s), s.file or false, s.line or 0
      if f == lastf and file == lastfile and line == lastline then
        grp[#grp] = grp[#grp] + 1
      else
        grp[#grp + 1] = f grp[#grp + 1] = file grp[#grp + 1] = line grp[#grp + 1] = 1
        lastf, lastfile, lastline = f, file, line
      end
    else
      unk = unk + 1
    end
  end
  blen[b], bgrp[b], bcnt[b] = n, grp, 0
  if unk > 0 then bunk[b] = unk bcallee[-b] = fn_of_target(bb.pc) end
  local m = module_at(bb.pc)
  bmod[b] = m and m.path or false

  local last = bb[n]
  local ls = sym(last.pc)
  if ls and ls.name and ls.size > 0 then bcaller[b] = fn_of_sym(ls) else bcaller[b] = false end
  bline[b] = ls and ls.line or 0
  if last.is_call and not last.is_far then
    if last.target then bcallee[b] = fn_of_target(last.target) end
    bb:call_before(n, on_call, b, "target", "rsp")
  elseif last.is_ret and not last.is_far then
    bb:call_before(n, on_ret, b, "target", "rsp")
  elseif last.is_branch and not last.is_cbr and last.mnemonic == "jmp" then
    if last.target then
      local f = tail_target(b, last.target)
      if f then bb:call_before(n, on_jmp, b, "target", "rsp")
      else plain(bb, b, n) end
    else
      bb:call_before(n, on_jmp, b, "target", "rsp")
    end
  elseif last.is_cbr and last.target and tail_target(b, last.target) then
    bcallee[b] = tail_target(b, last.target)
    bb:call_before(n, on_jcc, b, "taken", "rsp")
  else
    plain(bb, b, n)
  end
end)

-- -- The report -----------------------------------------------------------------------
local function group(n)
  local s = format("%d", n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

local function cmdline()
  local f = io.open("/proc/self/cmdline", "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return (s:gsub("%z$", ""):gsub("%z", " "))
end

lurk.on("exit", function()
  -- close the calls still in flight
  for _, th in pairs(threads) do
    while th.depth > 0 do pop(th) end
  end
  local p = callgrind.new({ events = { "Ir" }, cmd = cmdline(), pid = lurk.pid(),
    descriptions = { Ir = "Instruction Fetch" } })
  local handle = {}
  local function H(f)
    local h = handle[f]
    if not h then
      h = p:fn({ name = fname[f], object = fobj[f], file = ffile[f] or nil, line = fline[f] })
      handle[f] = h
    end
    return h
  end
  local total = 0
  for b = 1, nblk do
    local c = bcnt[b]
    if c > 0 then
      local g = bgrp[b]
      for i = 1, #g, 4 do
        local f, file, line, k = g[i], g[i + 1], g[i + 2], g[i + 3]
        p:cost(H(f), line, c * k, file or nil)
        total = total + c * k
      end
    end
  end
  for f, c in pairs(ux) do p:cost(H(f), 0, c) total = total + c end
  for _, e in ipairs(edges) do
    p:call(H(e[1]), H(e[2]), { line = e[3], count = e[4], inclusive = e[5] })
  end
  local name = (out_name or "callgrind.out.%p"):gsub("%%p", tostring(lurk.pid()))
  local ok, err = p:write(name)
  if not ok then lurk.log("callgrind: cannot write %s: %s", name, tostring(err)) return end
  lurk.log("callgrind: %s instructions, %d functions, %d call edges: %s", group(total), #p.fns,
    #p.calls, name)
end)
