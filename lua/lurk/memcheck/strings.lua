--- lurk.memcheck.strings: the reads of glibc's string functions, checked
-- byte-exactly at their entry.
--
-- glibc's strlen, strcmp, memchr... read whole vectors (and the generic
-- ones whole words) past the end of a string, within the page: their own
-- reads are not checked (access.lua). Instead each one is wrapped
-- (lurk.wrap, a pre handler only) and the handler computes, from the
-- arguments and the memory, the bytes the C definition reads: strlen(s)
-- reads s up to its terminator, strcmp(a, b) both strings up to the
-- first difference or terminator, memchr(s, c, n) s up to the first c or
-- n bytes, and so on, as Valgrind's replacements in vg_replace_strmem.c
-- read them. The scan reads only bytes the shadow says are addressable;
-- the first byte that is not, and that the function would read, is the
-- error (an unterminated heap string: heap-overflow at the caller's line,
-- the allocation stack with it). The function then runs as it is.
--
--   require("lurk.memcheck.strings").start(opts, report)
--     report(call, addr, size): records an error at addr for the call
local M = {}

local ffi = require "ffi"
local check = lurk.shadow.check
local tonumber = tonumber

local u8p = ffi.typeof("const uint8_t *")
local u32p = ffi.typeof("const uint32_t *")

local report            -- report(call, bad, size)
local nchecked = 0

-- -- Reading what is addressable -----------------------------------------------
-- Two windows of bytes known addressable ([lo, hi) each), one per string
-- argument, so that scanning two strings in turn does not ask the shadow
-- at every byte; emptied at each call (the shadow changes in between).
local lo, hi = { 0, 0 }, { 0, 0 }

local function reset() hi[1], hi[2] = 0, 0 end

-- Is [p, p + size) addressable? (window w: 1 or 2)
local function ok(w, p, size)
  if p >= lo[w] and p + size <= hi[w] then return true end
  if p >= 0x800000000000 or p < 0 then return false end
  local n = 4096 - p % 4096
  if n < size then n = size end
  local bad = check(p, n)
  if bad == nil then lo[w], hi[w] = p, p + n return true end
  local good = tonumber(bad) - p        -- the addressable prefix
  if good >= size then lo[w], hi[w] = p, p + good return true end
  return false
end

-- The first byte of [p, p + size) that is not addressable.
local function first_bad(p, size)
  local bad = check(p, size)
  return tonumber(bad) or p
end

-- -- Scans: each returns true when every byte read is addressable, else
-- -- false and the first bad byte. -------------------------------------------

-- A string of units of `size` bytes (1 or 4) up to its terminator, at
-- most max units.
local function str(w, p, max, size)
  size = size or 1
  local q = ffi.cast(size == 1 and u8p or u32p, p)
  for i = 0, (max or math.huge) - 1 do
    local a = p + i * size
    if not ok(w, a, size) then return false, first_bad(a, size) end
    if q[i] == 0 then return true end
  end
  return true
end

-- The first n bytes (memrchr; a whole buffer).
local function bytes(p, n)
  if n <= 0 then return true end
  local bad = check(p, n)
  if bad == nil then return true end
  return false, tonumber(bad)
end

-- s up to the first unit equal to c, or the terminator when nul, at
-- most max units.
local function find(p, c, max, nul, size)
  local q = ffi.cast(size == 1 and u8p or u32p, p)
  for i = 0, (max or math.huge) - 1 do
    local a = p + i * size
    if not ok(1, a, size) then return false, first_bad(a, size) end
    local x = q[i]
    if x == c or (nul and x == 0) then return true end
  end
  return true
end

local function fold(x) if x >= 65 and x <= 90 then return x + 32 end return x end

-- a and b up to the first difference (or terminator when nul; letters
-- folded when case), at most max units.
local function cmp(a, b, max, nul, case, size)
  local qa, qb = ffi.cast(size == 1 and u8p or u32p, a), ffi.cast(size == 1 and u8p or u32p, b)
  for i = 0, (max or math.huge) - 1 do
    local pa, pb = a + i * size, b + i * size
    if not ok(1, pa, size) then return false, first_bad(pa, size) end
    if not ok(2, pb, size) then return false, first_bad(pb, size) end
    local x, y = qa[i], qb[i]
    if case then x, y = fold(x), fold(y) end
    if x ~= y or (nul and x == 0) then return true end
  end
  return true
end

-- s up to the first byte in (in_set) or not in (not in_set) set, or its
-- terminator; set is a string's bytes (read with str first).
local function span(p, set, in_set)
  local t = {}
  local qs = ffi.cast(u8p, set)
  local i = 0
  while qs[i] ~= 0 do t[qs[i]] = true i = i + 1 end
  local q = ffi.cast(u8p, p)
  i = 0
  while true do
    local a = p + i
    if not ok(1, a, 1) then return false, first_bad(a, 1) end
    local x = q[i]
    if x == 0 or (t[x] == true) == in_set then return true end
    i = i + 1
  end
end

-- haystack h up to the first match of needle n (of length nl), or its
-- terminator.
local function search(h, n, nl)
  local qh, qn = ffi.cast(u8p, h), ffi.cast(u8p, n)
  local i = 0
  while true do
    local j = 0
    while j < nl do
      local a = h + i + j
      if not ok(1, a, 1) then return false, first_bad(a, 1) end
      if qh[i + j] ~= qn[j] then break end
      j = j + 1
    end
    if j == nl then return true end
    if qh[i + j] == 0 then return true end   -- (read: a mismatch at a terminator)
    i = i + 1
  end
end

-- Length of an addressable, terminated string (after str succeeded).
local function len(p)
  local q, i = ffi.cast(u8p, p), 0
  while q[i] ~= 0 do i = i + 1 end
  return i
end

-- -- The functions -------------------------------------------------------------
-- name -> function(a1, a2, a3) --> ok, bad; the reads of the C definition.
local WIDE = 4
local FUNCS = {
  strlen = function(s) return str(1, s) end,
  strnlen = function(s, n) return str(1, s, n) end,
  strcpy = function(_, s) return str(1, s) end,
  stpcpy = function(_, s) return str(1, s) end,
  strncpy = function(_, s, n) return str(1, s, n) end,
  stpncpy = function(_, s, n) return str(1, s, n) end,
  strcat = function(d, s)
    local good, bad = str(1, d)
    if not good then return good, bad end
    return str(2, s)
  end,
  strncat = function(d, s, n)
    local good, bad = str(1, d)
    if not good then return good, bad end
    return str(2, s, n)
  end,
  strcmp = function(a, b) return cmp(a, b, nil, true, false, 1) end,
  strncmp = function(a, b, n) return cmp(a, b, n, true, false, 1) end,
  strcasecmp = function(a, b) return cmp(a, b, nil, true, true, 1) end,
  strncasecmp = function(a, b, n) return cmp(a, b, n, true, true, 1) end,
  memcmp = function(a, b, n) return cmp(a, b, n, false, false, 1) end,
  memchr = function(s, c, n) return find(s, c % 256, n, false, 1) end,
  memrchr = function(s, _, n) return bytes(s, n) end,
  rawmemchr = function(s, c) return find(s, c % 256, nil, false, 1) end,
  strchr = function(s, c) return find(s, c % 256, nil, true, 1) end,
  strchrnul = function(s, c) return find(s, c % 256, nil, true, 1) end,
  strrchr = function(s) return str(1, s) end,
  strspn = function(s, set)
    local good, bad = str(2, set)
    if not good then return good, bad end
    return span(s, set, false)
  end,
  strcspn = function(s, set)
    local good, bad = str(2, set)
    if not good then return good, bad end
    return span(s, set, true)
  end,
  strpbrk = function(s, set)
    local good, bad = str(2, set)
    if not good then return good, bad end
    return span(s, set, true)
  end,
  strstr = function(h, n)
    local good, bad = str(2, n)
    if not good then return good, bad end
    return search(h, n, len(n))
  end,
  wcslen = function(s) return str(1, s, nil, WIDE) end,
  wcsnlen = function(s, n) return str(1, s, n, WIDE) end,
  wcscpy = function(_, s) return str(1, s, nil, WIDE) end,
  wcscmp = function(a, b) return cmp(a, b, nil, true, false, WIDE) end,
  wcschr = function(s, c) return find(s, c % 2 ^ 32, nil, true, WIDE) end,
  wcsrchr = function(s) return str(1, s, nil, WIDE) end,
}
M.FUNCS = FUNCS

local function pre_of(name, f)
  return function(call)
    local args = call.args
    local a1, a2, a3 = tonumber(args[1]), tonumber(args[2]), tonumber(args[3])
    reset()
    nchecked = nchecked + 1
    local good, bad = f(a1, a2, a3)
    if not good then report(call, bad, name:match("^wcs") and WIDE or 1) end
  end
end

--- Wrap each function of libc (by name: the implementation this CPU
-- runs, resolved again for libraries loaded later).
function M.start(_, rep)
  report = rep
  for name, f in pairs(FUNCS) do lurk.wrap("libc.so.6!" .. name, { pre = pre_of(name, f) }) end
end

function M.checked() return nchecked end

return M
