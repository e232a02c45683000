--- lurk.memcheck.leak: leaks at exit, found as Valgrind's memcheck finds
-- them (mc_leakcheck.c). Roots are scanned for aligned 8-byte words that
-- point into a live block: a pointer to its start from a root or from a
-- reachable block makes it reachable, an interior pointer (or one from a
-- possibly-lost block) possibly lost; blocks reached from no root are
-- definitely lost, except those reached from another lost block (the
-- leader of their clique, in address order): indirectly lost.
--
-- Roots: the writable segments of every module (.data, .bss), the main
-- stack from the stack pointer at _exit (or exit) up, the program's own
-- mappings (thread stacks, mmap), and the part of [heap] that predates
-- lurk (blocks allocated before it took over). Not scanned yet: the
-- registers of other threads still running at exit, and TLS blocks that
-- ld.so placed in its own mappings (see docs/tools.md).
local M = {}

local R = require "lurk.memcheck.report"
local heap = require "lurk.memcheck.heap"
local access = require "lurk.memcheck.access"
local ffi = require "ffi"
local tonumber, floor, sort, concat = tonumber, math.floor, table.sort, table.concat

local exit_sp

--- Remember the stack pointer at exit/_exit (the stack above it is a root).
function M.start()
  local function pre(call) exit_sp = tonumber(call.sp) end
  lurk.wrap("libc.so.6!exit", { pre = pre })
  lurk.wrap("libc.so.6!_exit", { pre = pre })
end

-- Readable ranges of /proc/self/maps: list of { lo, hi, perm, name }.
local function maps()
  local t = {}
  for line in io.lines("/proc/self/maps") do
    local lo, hi, perm, rest = line:match("^(%x+)%-(%x+) (%S+) %S+ %S+ %S+%s*(.*)$")
    if lo then t[#t + 1] = { tonumber(lo, 16), tonumber(hi, 16), perm, rest } end
  end
  return t
end

--- Scan and report; returns the summary table.
function M.scan(opts)
  local live = heap.live()
  sort(live, function(a, b) return a.user < b.user end)
  local n = #live
  local starts, ends = {}, {}
  for i, b in ipairs(live) do starts[i], ends[i] = b.user, b.user + b.size end
  local lo_all, hi_all = starts[1] or 0, n > 0 and ends[n] + 1 or 0

  -- block index holding v, or nil
  local function lookup(v)
    if v < lo_all or v >= hi_all then return nil end
    local a, z = 1, n
    while a < z do
      local m = floor((a + z + 1) / 2)
      if starts[m] <= v then a = m else z = m - 1 end
    end
    if starts[a] <= v and (v < ends[a] or v == starts[a]) then return a end
    return nil
  end

  local state = {}       -- nil unreached, 1 possible, 2 reachable, 3 indirect
  local stack, sp = {}, 0

  local function push_if(v, definite)
    local i = lookup(v)
    if not i then return end
    local s = state[i]
    if v == starts[i] and definite and s ~= 2 then
      state[i] = 2
      sp = sp + 1 stack[sp] = i
    elseif s == nil then
      state[i] = 1
      sp = sp + 1 stack[sp] = i
    end
  end

  -- words of [a, b) (8-aligned inside) through fn(v)
  local function words(a, b, fn)
    a = a + (8 - a % 8) % 8
    local cnt = floor((b - a) / 8)
    if cnt <= 0 then return end
    local p = ffi.cast("const uint64_t *", a)
    for k = 0, cnt - 1 do
      local v = p[k]
      if v >= 4096 and v < 0x800000000000ULL then fn(tonumber(v)) end
    end
  end

  -- roots: readable-writable ranges minus heap blocks and the allocator's memory
  local roots = {}
  local function root(a, b) if b > a then roots[#roots + 1] = { a, b } end end
  local mods = lurk.modules()
  local sh_lo = tonumber(lurk.shadow.offset)
  local sh_hi = sh_lo + tonumber(lurk.shadow.app_end) / 4
  for _, m in ipairs(maps()) do
    local lo, hi, perm, name = m[1], m[2], m[3], m[4]
    if perm:sub(1, 2) == "rw" and not (lo >= sh_lo and hi <= sh_hi) and name ~= "[vvar]" then
      local keep = false
      if name == "[stack]" then
        lo = exit_sp and math.max(lo, exit_sp) or lo
        keep = true
      elseif name == "[heap]" then
        hi = math.min(hi, access.heap_hi0 or lo)
        keep = true
      else
        for _, md in ipairs(mods) do
          if lo < md["end"] and hi > md.base then keep = true break end
        end
        if not keep then
          for s, len in pairs(access.app_maps) do
            if lo < s + len and hi > s then keep = true break end
          end
        end
      end
      if keep then root(lo, hi) end
    end
  end
  -- take the blocks (with redzones) out of the roots: blocks live in [heap]
  -- below its start size when glibc reused memory freed before lurk
  local cut = {}
  for _, r in ipairs(roots) do
    local a, b = r[1], r[2]
    local i = 1
    -- first block ending after a
    local x, z = 1, n + 1
    while x < z do
      local m = floor((x + z) / 2)
      if ends[m] + 16 <= a then x = m + 1 else z = m end
    end
    i = x
    while i <= n and starts[i] < b do
      local bl = live[i]
      local s0, e0 = bl.user - bl.left, ends[i] + bl.right
      if s0 > a then cut[#cut + 1] = { a, math.min(s0, b) } end
      if e0 > a then a = e0 end
      i = i + 1
    end
    if a < b then cut[#cut + 1] = { a, b } end
  end
  for _, r in ipairs(cut) do
    words(r[1], r[2], function(v) push_if(v, true) end)
  end
  -- (quarantined blocks are not roots: they lie in the allocator's memory,
  -- which is not scanned)

  local function drain()
    while sp > 0 do
      local i = stack[sp]
      stack[sp] = nil
      sp = sp - 1
      local definite = state[i] == 2
      words(starts[i], ends[i], function(v) push_if(v, definite) end)
    end
  end
  drain()

  -- cliques of the unreached, in address order
  local indirect_of = {}
  for i = 1, n do
    if state[i] == nil then
      local ind = 0
      local st, top = { i }, 1
      while top > 0 do
        local j = st[top]
        st[top] = nil
        top = top - 1
        words(starts[j], ends[j], function(v)
          local k = lookup(v)
          if k and k ~= i and state[k] == nil then
            state[k] = 3
            ind = ind + live[k].size + (indirect_of[k] or 0)
            indirect_of[k] = nil
            top = top + 1 st[top] = k
          end
        end)
      end
      indirect_of[i] = ind
    end
  end

  local sum = { definite = { 0, 0 }, indirect = { 0, 0 }, possible = { 0, 0 }, reachable = { 0, 0 },
                suppressed = { 0, 0 } }
  local recs = {}
  for i = 1, n do
    local s = state[i]
    local kind = s == nil and "definite" or s == 1 and "possible" or s == 2 and "reachable" or "indirect"
    if kind ~= "reachable" and R.suppressed("leak-" .. kind, R.frames(live[i].alloc or {}, true, 64)) then
      kind = "suppressed"
    end
    local t = sum[kind]
    t[1], t[2] = t[1] + live[i].size, t[2] + 1
    if kind == "definite" or kind == "possible" then
      local key = kind .. ":" .. concat(live[i].alloc or {}, ",")
      local r = recs[key]
      if not r then r = { kind = kind, bytes = 0, blocks = 0, alloc = live[i].alloc, first = live[i].user }
        recs[key] = r end
      r.bytes, r.blocks = r.bytes + live[i].size, r.blocks + 1
    end
  end
  local list = {}
  for _, r in pairs(recs) do list[#list + 1] = r end
  sort(list, function(a, b)
    if a.bytes ~= b.bytes then return a.bytes < b.bytes end
    return a.first < b.first
  end)
  for _, r in ipairs(list) do R.leak("leak-" .. r.kind, r.bytes, r.blocks, r.alloc) end
  local C = R.commas
  R.log("LEAK SUMMARY:")
  R.log("   definitely lost: %s bytes in %s blocks", C(sum.definite[1]), C(sum.definite[2]))
  R.log("   indirectly lost: %s bytes in %s blocks", C(sum.indirect[1]), C(sum.indirect[2]))
  R.log("     possibly lost: %s bytes in %s blocks", C(sum.possible[1]), C(sum.possible[2]))
  R.log("   still reachable: %s bytes in %s blocks", C(sum.reachable[1]), C(sum.reachable[2]))
  R.log("        suppressed: %s bytes in %s blocks", C(sum.suppressed[1]), C(sum.suppressed[2]))
  return sum
end

return M
