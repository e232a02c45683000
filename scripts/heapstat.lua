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
--   --depth N   frames per site: 1 (default) is the caller of the
--               allocator; more walk the stack (CFI), at a cost per call
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

local opts = { top = 10, depth = 1 }
local allocs, frees, bytes = 0, 0, 0
local live, nlive, live_bytes = {}, 0, 0      -- live[ptr] = {size, site}
local peak_bytes, peak_blocks = 0, 0
local sites = {}                              -- site key -> {bytes, allocs}
local depth = {}                              -- tid -> allocator calls in flight

-- Commas every three digits, as Valgrind prints counts.
local function commas(n)
  local s = format("%d", n)
  local k
  repeat s, k = s:gsub("^(-?%d+)(%d%d%d)", "%1,%2") until k == 0
  return s
end

local function num(v) return tonumber(v) end

local function site_of(call)
  if opts.depth <= 1 then return tostring(num(call.caller)) end
  return concat(call:backtrace(opts.depth), ",", 2) -- frame 1 is the allocator itself
end

local function add_block(ptr, size, site)
  allocs, bytes = allocs + 1, bytes + size
  if live[ptr] then -- a pointer handed out twice without a free we saw
    live_bytes, nlive = live_bytes - live[ptr][1], nlive - 1
  end
  live[ptr] = { size, site }
  nlive, live_bytes = nlive + 1, live_bytes + size
  if live_bytes > peak_bytes then peak_bytes, peak_blocks = live_bytes, nlive end
  local s = sites[site]
  if not s then s = { 0, 0 } sites[site] = s end
  s[1], s[2] = s[1] + size, s[2] + 1
end

local function drop_block(ptr)
  frees = frees + 1
  local b = live[ptr]
  if b then
    live[ptr] = nil
    nlive, live_bytes = nlive - 1, live_bytes - b[1]
  end
end

-- pre/post pair for an allocator whose outermost calls are counted by
-- post(call) (args saved in pre: they are not readable in post).
local function counted(save, account)
  return {
    pre = function(call)
      local tid = call.tid
      local d = depth[tid] or 0
      depth[tid] = d + 1
      if d == 0 then
        call.outer = true
        save(call)
        call.site = site_of(call)
      end
    end,
    post = function(call)
      local tid = call.tid
      depth[tid] = (depth[tid] or 1) - 1
      if call.outer and not call.unwound then account(call) end
    end,
  }
end

local function save1(call) call.a1 = num(call.args[1]) end
local function save2(call) call.a1, call.a2 = num(call.args[1]), num(call.args[2]) end
local function save3(call) call.a1, call.a2, call.a3 = num(call.args[1]), num(call.args[2]), num(call.args[3]) end

local function alloc_ret(size_of)
  return function(call)
    local p = num(call.ret)
    if p ~= 0 then add_block(p, size_of(call), call.site) end
  end
end
local size_a1 = function(c) return c.a1 end
local size_a2 = function(c) return c.a2 end

local function free_a1(call) if call.a1 ~= 0 then drop_block(call.a1) end end

local function realloc_like(size_of)
  return function(call)
    local p, n = call.a1, size_of(call)
    local r = num(call.ret)
    if p == 0 then
      if r ~= 0 then add_block(r, n, call.site) end
    elseif n == 0 then
      drop_block(p)
    else
      drop_block(p)
      if r ~= 0 then add_block(r, n, call.site)
      else allocs, bytes = allocs + 1, bytes + n end -- Valgrind counts a failed one too
    end
  end
end

local function posix_memalign(call)
  if num(call.ret) ~= 0 then return end
  local s = lurk.read(call.a1, 8)
  if not s then return end
  local p = 0
  for i = 8, 1, -1 do p = p * 256 + s:byte(i) end
  add_block(p, call.a3, call.site)
end

local LIBC = "libc.so.6!"
local CXX = "libstdc++.so.6!"
local wraps = {
  { LIBC .. "malloc", save1, alloc_ret(size_a1) },
  { LIBC .. "calloc", save2, alloc_ret(function(c) return c.a1 * c.a2 end) },
  { LIBC .. "realloc", save2, realloc_like(size_a2) },
  { LIBC .. "reallocarray", save3, realloc_like(function(c) return c.a2 * c.a3 end) },
  { LIBC .. "free", save1, free_a1 },
  { LIBC .. "memalign", save2, alloc_ret(size_a2) },
  { LIBC .. "aligned_alloc", save2, alloc_ret(size_a2) },
  { LIBC .. "posix_memalign", save3, posix_memalign },
  { LIBC .. "valloc", save1, alloc_ret(size_a1) },
  { LIBC .. "pvalloc", save1, alloc_ret(size_a1) },
}
-- operator new/new[] (size first) and delete/delete[] (pointer first), all variants.
for _, n in ipairs({ "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
                     "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
                     "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t" }) do
  wraps[#wraps + 1] = { CXX .. n, save1, alloc_ret(size_a1) }
end
for _, n in ipairs({ "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t",
                     "_ZdaPvRKSt9nothrow_t", "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t",
                     "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
                     "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t" }) do
  wraps[#wraps + 1] = { CXX .. n, save1, free_a1 }
end

-- "fn+0xoff (module)" for a pc (a return address: looked up at pc - 1).
local names = {}
local function where(pc)
  local n = names[pc]
  if n then return n end
  local s = lurk.sym and lurk.sym(pc - 1)
  if not s then n = format("0x%x", pc)
  elseif s.name then n = format("%s+0x%x (%s)", s.name, s.offset + 1, s.module)
  else n = format("0x%x (%s)", pc, s.module) end
  names[pc] = n
  return n
end

local function site_text(key)
  local parts = {}
  for pc in key:gmatch("[^,]+") do parts[#parts + 1] = where(tonumber(pc)) end
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
  for _, b in pairs(live) do
    local s = leaked[b[2]]
    if not s then s = { 0, 0 } leaked[b[2]] = s end
    s[1], s[2] = s[1] + b[1], s[2] + 1
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

local function parse(args)
  local i = 1
  while i <= #args do
    local a = args[i]
    local k, v = a:match("^%-%-(%w+)=(.*)$")
    if not k then k = a:match("^%-%-(%w+)$") end
    local json = require("lurk.report").json_option(a)
    if json then opts.json = json
    elseif k == "top" or k == "depth" or k == "json" then
      if not v then i = i + 1 v = args[i] end
      if v == nil then error(format("heapstat: option '--%s' needs a value", k), 0) end
      if k == "json" then opts.json = v
      else
        local n = tonumber(v)
        if not n or n ~= math.floor(n) or n < 0 or (k == "depth" and n < 1) then
          error(format("heapstat: option '--%s' needs a whole number%s (got '%s')", k,
                       k == "depth" and " >= 1" or "", v), 0)
        end
        opts[k] = n
      end
    elseif a ~= "" then
      error(format("heapstat: unknown option '%s' (--top N, --depth N, json, json=FILE)", a), 0)
    end
    i = i + 1
  end
end

--- Start counting (options as on the command line).
function M.start(...)
  parse({ ... })
  for _, w in ipairs(wraps) do lurk.wrap(w[1], counted(w[2], w[3])) end
  lurk.on("exit", report)
end

return M
