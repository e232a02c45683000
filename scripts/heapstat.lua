--- heapstat: heap usage totals in the form of Valgrind memcheck's "total
-- heap usage" line, peak live bytes, the top allocation sites, and what
-- was not freed at exit, by site.
--
--   lurk run heapstat -- ls -l /usr/bin
--   lurk run heapstat --top 5 --depth 4 -- python3 app.py
--   lurk run -t heapstat=json=heap.json -- ./prog
--
-- Options:
--   --top N     allocation sites listed (default 10; 0: none)
--   --depth N   frames per site: 1 (default) is the allocator's caller (its
--               return address); more walk the stack (CFI) at each call
--   --trace N   log the first N calls counted, as valgrind --trace-malloc
--               does (name, arguments, result)
--   json        the same facts as one JSON object, to lurk's output
--   json=FILE   ... appended to FILE instead (%p: the pid), text kept
--
-- Sample output (lurk run heapstat -- ls /; to lurk's output):
--
--   heapstat: total heap usage: 79 allocs, 33 frees, 91,343 bytes allocated
--   heapstat: in use at exit: 54,226 bytes in 46 blocks
--   heapstat: peak live: 72,542 bytes in 62 blocks
--   heapstat: top 10 allocation sites by bytes:
--          bytes  allocs  site
--         32,816       1  opendir+0x38 (libc.so.6) <- main+0x...
--   ...
--   heapstat: not freed at exit, by site:
--   ...
--
-- What counts, as memcheck counts it (so the totals match
-- `valgrind --run-libc-freeres=no --run-cxx-freeres=no`; with freeres on,
-- Valgrind also frees glibc's and libstdc++'s own buffers at exit, which a
-- native run never does):
--   - every successful malloc, calloc, realloc, reallocarray, memalign,
--     posix_memalign, aligned_alloc, valloc, pvalloc and operator
--     new/new[] (every variant: nothrow, aligned) is one alloc of the size
--     asked for (calloc: n * size);
--   - free and operator delete/delete[] (every variant) of a non-null
--     pointer is one free;
--   - realloc(NULL, n) is a malloc; realloc(p, 0) is a free; realloc(p, n)
--     is one free and one alloc of n;
--   - an allocator called from inside another (glibc's realloc calling
--     malloc, operator new calling malloc) is not counted again: the
--     outermost call counts, as Valgrind, which replaces them all, sees it.
-- Allocations made before lurk took over (while ld.so started the program)
-- are not seen; their frees are counted (none in the programs of the spec).
local M = {}

local format, sort, concat, log = string.format, table.sort, table.concat, lurk.log

local opts
local allocs, frees, bytes = 0, 0, 0
local live_size, live_site = {}, {}           -- ptr -> size, ptr -> site
local nlive, live_bytes = 0, 0
local peak_bytes, peak_blocks = 0, 0
local sites = {}                              -- site -> {bytes, allocs}
-- Per thread: the allocator calls in flight (depth), and the outermost
-- one's arguments and site (only the outermost call counts).
local threads = {}

-- Commas every three digits, as Valgrind prints counts.
local function commas(n)
  local s = format("%d", n)
  local k
  repeat s, k = s:gsub("^(-?%d+)(%d%d%d)", "%1,%2") until k == 0
  return s
end

local tonumber = tonumber

local function site_of(call)
  if opts.depth <= 1 then return call.caller end
  local bt = call:backtrace(opts.depth + 1) -- frame 1 is the allocator itself
  return concat(bt, ",", 2)
end

local function add_block(ptr, size, site)
  allocs, bytes = allocs + 1, bytes + size
  local old = live_size[ptr]
  if old then live_bytes, nlive = live_bytes - old, nlive - 1 end -- handed out twice, unseen free
  live_size[ptr], live_site[ptr] = size, site
  nlive, live_bytes = nlive + 1, live_bytes + size
  if live_bytes > peak_bytes then peak_bytes, peak_blocks = live_bytes, nlive end
  local s = sites[site]
  if not s then s = { 0, 0 } sites[site] = s end
  s[1], s[2] = s[1] + size, s[2] + 1
end

local function drop_block(ptr)
  frees = frees + 1
  local size = live_size[ptr]
  if size then
    live_size[ptr], live_site[ptr] = nil, nil
    nlive, live_bytes = nlive - 1, live_bytes - size
  end
end

-- pre/post pair for an allocator taking nargs arguments: the outermost
-- call's arguments are kept in the thread's record (they cannot be read in
-- post), and account(t, ret) counts it once it returned.
local traced = 0
local function trace(name, t, nargs, r)
  traced = traced + 1
  local void = name == "free" or name:match("^_Zd")
  local ptr1 = void or name:match("^realloc") or name == "posix_memalign"
  local a = { t.a1, t.a2, t.a3 }
  for i = 1, nargs do a[i] = format(i == 1 and ptr1 and "0x%x" or "%d", a[i]) end
  log("heapstat: %s(%s)%s", name, concat(a, ", ", 1, nargs), (r and not void) and format(" = 0x%x", r) or "")
end

local function counted(name, nargs, account)
  return {
    pre = function(call)
      local tid = call.tid
      local t = threads[tid]
      if not t then t = { d = 0 } threads[tid] = t end
      local d = t.d + 1
      t.d = d
      if d == 1 then
        local args = call.args
        t.a1 = tonumber(args[1])
        if nargs > 1 then t.a2 = tonumber(args[2]) end
        if nargs > 2 then t.a3 = tonumber(args[3]) end
        t.site = site_of(call)
      end
    end,
    post = function(call)
      local t = threads[call.tid]
      local d = t.d
      t.d = d - 1
      if d == 1 then
        local r = call.ret -- nil for a call that did not return (unwound)
        if r then
          r = tonumber(r)
          if traced < opts.trace then trace(name, t, nargs, r) end
          account(t, r)
        end
      end
    end,
  }
end

-- A free-like function (pointer first; it calls no other allocator): counted
-- in pre, unless inside another allocator (glibc's realloc(p, 0) frees p);
-- no post, which saves a clean call per free.
local function counted_free(name)
  return {
    pre = function(call)
      local t = threads[call.tid]
      if t and t.d > 0 then return end
      local p = tonumber(call.args[1])
      if traced < opts.trace then trace(name, { a1 = p }, 1) end
      if p ~= 0 then drop_block(p) end
    end,
  }
end

local function free_a1(t) if t.a1 ~= 0 then drop_block(t.a1) end end

local function alloc_ret(size_of)
  return function(t, p) if p ~= 0 then add_block(p, size_of(t), t.site) end end
end
local size_a1 = function(t) return t.a1 end
local size_a2 = function(t) return t.a2 end

local function realloc_like(size_of)
  return function(t, r)
    local p, n = t.a1, size_of(t)
    if p == 0 then
      if r ~= 0 then add_block(r, n, t.site) end
    elseif n == 0 then
      drop_block(p)
    else
      drop_block(p)
      if r ~= 0 then add_block(r, n, t.site)
      else allocs, bytes = allocs + 1, bytes + n end -- Valgrind counts a failed one too
    end
  end
end

local function posix_memalign(t, r)
  if r ~= 0 then return end
  local s = lurk.read(t.a1, 8)
  if not s then return end
  local p = 0
  for i = 8, 1, -1 do p = p * 256 + s:byte(i) end
  add_block(p, t.a3, t.site)
end

local LIBC = "libc.so.6!"
local CXX = "libstdc++.so.6!"
local wraps = {
  { LIBC .. "malloc", 1, alloc_ret(size_a1) },
  { LIBC .. "calloc", 2, alloc_ret(function(t) return t.a1 * t.a2 end) },
  { LIBC .. "realloc", 2, realloc_like(size_a2) },
  { LIBC .. "reallocarray", 3, realloc_like(function(t) return t.a2 * t.a3 end) },
  { LIBC .. "free", 1, "free" },
  { LIBC .. "memalign", 2, alloc_ret(size_a2) },
  { LIBC .. "aligned_alloc", 2, alloc_ret(size_a2) },
  { LIBC .. "posix_memalign", 3, posix_memalign },
  { LIBC .. "valloc", 1, alloc_ret(size_a1) },
  { LIBC .. "pvalloc", 1, alloc_ret(size_a1) },
}
-- operator new/new[] (size first) and delete/delete[] (pointer first), all variants.
for _, n in ipairs({ "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
                     "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
                     "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t" }) do
  wraps[#wraps + 1] = { CXX .. n, 1, alloc_ret(size_a1) }
end
for _, n in ipairs({ "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t",
                     "_ZdaPvRKSt9nothrow_t", "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t",
                     "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
                     "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t" }) do
  wraps[#wraps + 1] = { CXX .. n, 1, free_a1 } -- they call each other and free
end

-- "fn+0xoff (module)" for a pc (a return address: looked up at pc - 1).
local names = {}
local function where(pc)
  local n = names[pc]
  if n then return n end
  local s = lurk.sym(pc - 1, false)
  if not s then n = format("0x%x", pc)
  elseif s.name then n = format("%s+0x%x (%s)", s.name, s.offset + 1, s.module)
  else n = format("0x%x (%s)", pc, s.module) end
  names[pc] = n
  return n
end

local function site_text(key)
  local parts = {}
  for pc in tostring(key):gmatch("[^,]+") do parts[#parts + 1] = where(tonumber(pc)) end
  return concat(parts, " <- ")
end

local function table_of(by, n, title)
  local keys = {}
  for k in pairs(by) do keys[#keys + 1] = k end
  sort(keys, function(a, b)
    if by[a][1] ~= by[b][1] then return by[a][1] > by[b][1] end
    return a < b
  end)
  log("heapstat: %s", title)
  log("  %14s  %8s  %s", "bytes", "blocks", "site")
  for i = 1, math.min(n, #keys) do
    local k = keys[i]
    log("  %14s  %8s  %s", commas(by[k][1]), commas(by[k][2]), site_text(k))
  end
end

local function report()
  log("heapstat: total heap usage: %s allocs, %s frees, %s bytes allocated",
      commas(allocs), commas(frees), commas(bytes))
  log("heapstat: in use at exit: %s bytes in %s blocks", commas(live_bytes), commas(nlive))
  log("heapstat: peak live: %s bytes in %s blocks", commas(peak_bytes), commas(peak_blocks))
  local leaked = {}
  for p, size in pairs(live_size) do
    local site = live_site[p]
    local s = leaked[site]
    if not s then s = { 0, 0 } leaked[site] = s end
    s[1], s[2] = s[1] + size, s[2] + 1
  end
  if opts.top > 0 then
    table_of(sites, opts.top, format("top %d allocation sites by bytes:", opts.top))
    if nlive > 0 then table_of(leaked, opts.top, "not freed at exit, by site:") end
  end
  if opts.json then
    local report = require "lurk.report"
    local function list(by)
      local t = {}
      for k, v in pairs(by) do t[#t + 1] = { site = site_text(k), bytes = v[1], blocks = v[2] } end
      sort(t, function(a, b) if a.bytes ~= b.bytes then return a.bytes > b.bytes end return a.site < b.site end)
      return t
    end
    report.json({ tool = "heapstat", pid = lurk.pid(), allocs = allocs, frees = frees,
      bytes = bytes, live_bytes = live_bytes, live_blocks = nlive, peak_bytes = peak_bytes,
      peak_blocks = peak_blocks, sites = list(sites), leaks = list(leaked) }, opts.json)
  end
end

local function parse(argv)
  local report = require "lurk.report"
  opts = require("lurk.args").parse("heapstat", argv, {
    top = { "count", 10 }, depth = { "count", 1, min = 1 }, trace = { "count", 0 }, json = { "string" },
  }, function(word, o) -- json, json=FILE as the other tools take them
    o.json = report.json_option(word)
    return o.json ~= nil
  end)
end

--- Start counting (options as on the command line).
function M.start(...)
  parse({ ... })
  -- One wrap per function: two names of one function (glibc's memalign
  -- and aligned_alloc) would run two pre/post pairs per call (counted once:
  -- the inner pair sees depth 2, but it costs twice). Names that do not
  -- resolve yet (libstdc++ before it is loaded) wrap when it loads.
  local done = {}
  for _, w in ipairs(wraps) do
    local a = lurk.addr(w[1])
    if not (a and done[tostring(a)]) then
      if a then done[tostring(a)] = true end
      local name = w[1]:match("!(.*)$")
      lurk.wrap(w[1], w[3] == "free" and counted_free(name) or counted(name, w[2], w[3]))
    end
  end
  lurk.on("exit", report)
end

return M
