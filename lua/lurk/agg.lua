--- lurk.agg: bpftrace-style aggregations (maps), printed at exit.
--
--   local agg = require "lurk.agg"
--   local calls = agg.count("calls")            -- @calls[...] = count()
--   local bytes = agg.sum("bytes")              -- @bytes[...] = sum(n)
--   local sizes = agg.hist("sizes")             -- @sizes = hist(n)
--   lurk.on("syscall_post", function(e)
--     calls:add(e.name)                         -- keys: any Lua values, any number
--     if e.name == "write" and e.result > 0 then
--       bytes:add(e.result, "write", e.args[1]) -- value first, then the keys
--       sizes:add(e.result)
--     end
--   end)
--
-- prints at exit, to lurk's output (each map sorted by value, the largest
-- last, as bpftrace does):
--
--   @calls[close]: 4
--   @calls[mmap]: 9
--
--   @bytes[write, 1]: 3
--
--   @sizes:
--   [2, 4)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
--
-- Kinds: count, sum, min, max, avg, stats (count, average, total), hist
-- (power-of-two buckets: (..., 0), [0], [1], [2, 4), [4, 8), ... with K/M/G
-- suffixes) and lhist(name, min, max, step) (linear buckets, with
-- (..., min) and [max, ...) for the values outside). Values are numbers;
-- hist and lhist put non-integral values in the bucket of their floor.
-- A map's number of keys is fixed by its first add (0 keys is bpftrace's
-- `@x = count()`); a nil or NaN key raises.
--
-- Printing: every map that has entries is printed when the process exits
-- (an `exit` handler at priority 100, after the tools' own), in creation
-- order, unless the script printed it itself (`agg.print(m)`, `m:print()`),
-- created it with `{ print = false }`, or cleared it. `agg.print(m, n)`
-- prints the n largest entries. `m:format(n)` returns the text;
-- `m:entries()` / `m:pairs()` / `m:get(...)` read the values.
--
-- Threads: all Lua in lurk runs under one lock, so a map is one Lua table
-- and an add is a table update: nothing to contend on besides the lock
-- every handler holds anyway. Splitting a map by thread costs a lookup of
-- the thread per add, which is a system call if the add must find it
-- itself (lurk.tid()). So a map is shared by default, and `m:thread(tid)`
-- gives a per-thread shard for handlers that know their thread for free
-- (`ctx.tid`, `e.tid`): the shard is added to like the map, and printing,
-- entries() and get() merge the shards (sum, min, max, buckets); `m:threads()`
-- lists the shards to report per thread. docs/decisions.md explains.
local M = {}

local format, rep, concat, sort = string.format, string.rep, table.concat, table.sort
local floor, huge, log = math.floor, math.huge, math.log
local type, select, pairs, ipairs, tostring, setmetatable, getmetatable, error, next =
  type, select, pairs, ipairs, tostring, setmetatable, getmetatable, error, next

local unpack = table.unpack or unpack
local NOKEY = setmetatable({}, { __tostring = function() return "" end })
local maps = {}      -- every map, in creation order
local hooked = false -- the exit handler is registered

-- -- Numbers and keys -----------------------------------------------------------------

local TWO63 = 2 ^ 63

--- The text of a number: integers without a fraction, others with up to
-- six decimals (trailing zeros dropped).
local function num(v)
  if v ~= v then return "nan" end
  if v == huge then return "inf" elseif v == -huge then return "-inf" end
  if floor(v) == v and v > -TWO63 and v < TWO63 then return format("%.0f", v) end
  local a = v < 0 and -v or v
  if a < 1e-3 or a >= 1e15 then return format("%.6g", v) end
  return (format("%.6f", v):gsub("0+$", ""):gsub("%.$", ""))
end
M.num = num

local function keytext(k)
  local t = type(k)
  if t == "number" then return num(k) end
  if t == "cdata" then return (tostring(k):gsub("U?LL$", "")) end
  return tostring(k)
end

-- -- Kinds ----------------------------------------------------------------------------
-- Each kind: merge(a, b) of two leaves (a may be nil), the value a leaf
-- shows (value), the sort value (rank).

local P2 = {}
for i = 0, 64 do P2[i] = 2 ^ i end

-- bpftrace's hist bucket of v: 0 for v < 0, 1 for [0, 1), i for
-- [2^(i-2), 2^(i-1)); a binary search (log() is three times slower).
local function hist_index(v)
  if v < 1 then return v < 0 and 0 or 1 end
  local e = 0
  if v >= 4294967296 then e = 32 end
  if v >= P2[e + 16] then e = e + 16 end
  if v >= P2[e + 8] then e = e + 8 end
  if v >= P2[e + 4] then e = e + 4 end
  if v >= P2[e + 2] then e = e + 2 end
  if v >= P2[e + 1] then e = e + 1 end
  return e + 2
end
M.hist_index = hist_index

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function merge_buckets(a, b)
  a = a or {}
  for i, n in pairs(b) do a[i] = (a[i] or 0) + n end
  return a
end

local function bucket_total(b)
  local n = 0
  for _, c in pairs(b) do n = n + c end
  return n
end

local kinds = {
  count = { merge = function(a, b) return (a or 0) + b end },
  sum = { merge = function(a, b) return (a or 0) + b end },
  min = { merge = function(a, b) return (a == nil or b < a) and b or a end },
  max = { merge = function(a, b) return (a == nil or b > a) and b or a end },
  avg = {
    merge = function(a, b) a = a or { 0, 0 } a[1], a[2] = a[1] + b[1], a[2] + b[2] return a end,
    value = function(l) return l[2] / l[1] end,
  },
  stats = {
    merge = function(a, b) a = a or { 0, 0 } a[1], a[2] = a[1] + b[1], a[2] + b[2] return a end,
    value = function(l) return { count = l[1], total = l[2], average = l[2] / l[1] } end,
    rank = function(l) return l[1] end,
  },
  hist = { merge = merge_buckets, rank = bucket_total },
  lhist = { merge = merge_buckets, rank = bucket_total },
}
for _, k in pairs(kinds) do
  k.value = k.value or function(l) return l end
  k.rank = k.rank or k.value
end

-- -- Maps -----------------------------------------------------------------------------

local Map = {}
Map.__index = Map
Map.__name = "lurk.agg"
function Map:__tostring()
  return format("agg.%s (%s)", self.kind, self.name ~= "" and "@" .. self.name or "@")
end

-- Raise "bad argument #n to 'fname' (msg)" for the caller `level`
-- functions up from argerr's caller (default 1: argerr's caller's caller).
local function argerr(n, fname, msg, level)
  error(format("bad argument #%d to '%s' (%s)", n, fname, msg), 2 + (level or 1))
end

-- The table holding the leaf of the keys ... (n of them, the first being
-- argument #first of 'add'), and the leaf's key; creates the path.
local function locate(self, n, first, ...)
  local root = self.root or self
  if n ~= root.arity then
    if root.arity == nil then
      root.arity = n
      root.arity1 = n == 1
      for _, sh in pairs(root.shards) do sh.arity1 = n == 1 end
    else
      argerr(first + (n < root.arity and n or root.arity), "add",
        format("%s has %d key%s, got %d", tostring(root), root.arity, root.arity == 1 and "" or "s", n), 2)
    end
  end
  local d = self.data
  if n == 0 then return d, NOKEY end
  if n == 1 then
    local k = ...
    if k == nil or k ~= k then argerr(first, "add", "key is " .. tostring(k), 2) end
    return d, k
  end
  for i = 1, n - 1 do
    local k = select(i, ...)
    if k == nil or k ~= k then argerr(first + i - 1, "add", "key is " .. tostring(k), 2) end
    local sub = d[k]
    if sub == nil then sub = {} d[k] = sub end
    d = sub
  end
  local k = select(n, ...)
  if k == nil or k ~= k then argerr(first + n - 1, "add", "key is " .. tostring(k), 2) end
  return d, k
end

local function checkvalue(v)
  if type(v) ~= "number" then argerr(1, "add", "number expected, got " .. type(v), 2) end
end

local adders = {}

--- count: m:add(k1, k2, ...) adds one.
function adders.count(self, ...)
  local n = select("#", ...)
  if n == 1 and self.arity1 then -- the common case, kept short for the JIT
    local k = ...
    if k ~= nil and k == k then
      local d = self.data
      d[k] = (d[k] or 0) + 1
      return
    end
  end
  local d, k = locate(self, n, 1, ...)
  d[k] = (d[k] or 0) + 1
end

function adders.sum(self, v, ...)
  local n = select("#", ...)
  if n == 1 and self.arity1 and type(v) == "number" then
    local k = ...
    if k ~= nil and k == k then
      local d = self.data
      d[k] = (d[k] or 0) + v
      return
    end
  end
  checkvalue(v)
  local d, k = locate(self, n, 2, ...)
  d[k] = (d[k] or 0) + v
end

function adders.min(self, v, ...)
  checkvalue(v)
  local d, k = locate(self, select("#", ...), 2, ...)
  local o = d[k]
  if o == nil or v < o then d[k] = v end
end

function adders.max(self, v, ...)
  checkvalue(v)
  local d, k = locate(self, select("#", ...), 2, ...)
  local o = d[k]
  if o == nil or v > o then d[k] = v end
end

function adders.avg(self, v, ...)
  checkvalue(v)
  local d, k = locate(self, select("#", ...), 2, ...)
  local l = d[k]
  if l == nil then d[k] = { 1, v } else l[1], l[2] = l[1] + 1, l[2] + v end
end
adders.stats = adders.avg

function adders.hist(self, v, ...)
  checkvalue(v)
  local d, k = locate(self, select("#", ...), 2, ...)
  local b = d[k]
  if b == nil then b = {} d[k] = b end
  local i = hist_index(v)
  b[i] = (b[i] or 0) + 1
end

function adders.lhist(self, v, ...)
  checkvalue(v)
  local d, k = locate(self, select("#", ...), 2, ...)
  local b = d[k]
  if b == nil then b = {} d[k] = b end
  local p = self.root or self
  local i
  if v < p.lo then i = 0
  elseif v >= p.hi then i = p.nb + 1
  else i = floor((v - p.lo) / p.step) + 1 end
  b[i] = (b[i] or 0) + 1
end

local methods = {}
for kind, add in pairs(adders) do
  local mt = { __index = setmetatable({ add = add }, { __index = Map }), __name = "lurk.agg",
    __tostring = Map.__tostring }
  methods[kind] = mt
end

local function new(kind, name, opts, fname, extra)
  if name ~= nil and type(name) ~= "string" then
    argerr(1, fname, "string expected, got " .. type(name), 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    argerr(extra and 5 or 2, fname, "table expected, got " .. type(opts), 2)
  end
  local m = setmetatable({ kind = kind, name = name or "", data = {}, shards = {},
    autoprint = not (opts and opts.print == false) }, methods[kind])
  if extra then for k, v in pairs(extra) do m[k] = v end end
  maps[#maps + 1] = m
  if not hooked and type(lurk) == "table" and lurk.on then
    hooked = true
    lurk.on("exit", function() M.print_pending() end, { priority = 100 })
  end
  return m
end

--- agg.count([name [, opts]]) and the same for sum, min, max, avg, stats,
-- hist: a new map. opts.print = false: not printed at exit.
for _, kind in ipairs({ "count", "sum", "min", "max", "avg", "stats", "hist" }) do
  M[kind] = function(name, opts) return new(kind, name, opts, kind) end
end

--- agg.lhist([name,] min, max, step [, opts]): linear buckets of width
-- step from min to max ((max - min) a multiple of step).
function M.lhist(name, lo, hi, step, opts)
  if type(name) == "number" then name, lo, hi, step, opts = nil, name, lo, hi, step end
  for i, v in ipairs({ lo, hi, step }) do
    if type(v) ~= "number" then argerr(i + 1, "lhist", "number expected, got " .. type(v)) end
  end
  if step <= 0 then argerr(4, "lhist", "step must be positive") end
  if hi <= lo then argerr(3, "lhist", "max must be greater than min") end
  local nb = (hi - lo) / step
  if floor(nb) ~= nb then argerr(4, "lhist", "max - min must be a multiple of step") end
  return new("lhist", name, opts, "lhist", { lo = lo, hi = hi, step = step, nb = nb })
end

--- The shard of thread tid: add to it as to the map; the map's readers
-- merge every shard.
function Map:thread(tid)
  if tid == nil then argerr(1, "thread", "thread id expected, got nil") end
  local s = self.shards[tid]
  if not s then
    s = setmetatable({ kind = self.kind, name = self.name, data = {}, root = self, tid = tid,
      arity1 = self.arity1 },
      getmetatable(self))
    self.shards[tid] = s
  end
  return s
end

--- { tid = shard, ... } of the map (empty when no shard was made).
function Map:threads()
  return self.shards
end

--- Forget every entry (and shard).
function Map:clear()
  self.data, self.shards = {}, {}
  if not self.root then self.arity, self.arity1 = nil, nil end
end

-- Merge the trie src (depth levels of keys) into dst.
local function merge_trie(kind, dst, src, depth)
  for k, v in pairs(src) do
    if depth <= 1 then dst[k] = kind.merge(dst[k], type(v) == "table" and copy(v) or v)
    else
      local d = dst[k]
      if d == nil then d = {} dst[k] = d end
      merge_trie(kind, d, v, depth - 1)
    end
  end
end

-- The map's own entries and its shards', merged into one trie.
local function merged(self)
  local arity = self.arity or 0
  if next(self.shards) == nil then return self.data end
  local kind, out = kinds[self.kind], {}
  merge_trie(kind, out, self.data, arity)
  for _, s in pairs(self.shards) do merge_trie(kind, out, s.data, arity) end
  return out
end

local function buckets_of(self, b)
  local p = self.root or self
  local list = {}
  for i, n in pairs(b) do
    local lo, hi
    if self.kind == "hist" then
      if i == 0 then lo, hi = -huge, 0
      elseif i == 1 then lo, hi = 0, 1
      else lo, hi = 2 ^ (i - 2), 2 ^ (i - 1) end
    else
      if i == 0 then lo, hi = -huge, p.lo
      elseif i == p.nb + 1 then lo, hi = p.hi, huge
      else lo, hi = p.lo + (i - 1) * p.step, p.lo + i * p.step end
    end
    list[#list + 1] = { lo = lo, hi = hi, count = n, index = i }
  end
  sort(list, function(a, b2) return a.index < b2.index end)
  return list
end

--- The entries, sorted as printed (by value, smallest first; ties by key):
-- a list of { keys = {k1, ...}, key = k1 (or the keys for several),
-- value = ..., rank = ... }. value: a number; for stats { count, average,
-- total }; for hist and lhist a list of { lo, hi, count } (non-empty
-- buckets, lo inclusive, hi exclusive), with the total in rank.
function Map:entries()
  local kind = kinds[self.kind]
  local arity = self.arity or 0
  local list = {}
  local function walk(t, depth, keys)
    for k, v in pairs(t) do
      local ks = { unpack(keys) }
      if k ~= NOKEY then ks[#ks + 1] = k end
      if depth <= 1 then
        local e = { keys = ks, rank = kind.rank(v), text = {} }
        if self.kind == "hist" or self.kind == "lhist" then e.value = buckets_of(self, v)
        else e.value = kind.value(v) end
        e.key = #ks == 1 and ks[1] or ks
        for i, kk in ipairs(ks) do e.text[i] = keytext(kk) end
        e.text = concat(e.text, ", ")
        list[#list + 1] = e
      else
        walk(v, depth - 1, ks)
      end
    end
  end
  walk(merged(self), arity == 0 and 1 or arity, {})
  sort(list, function(a, b)
    if a.rank ~= b.rank then return a.rank < b.rank end
    return a.text < b.text
  end)
  return list
end

--- for key, value in m:pairs() do ... end: the entries in printed order
-- (key is the key, or a list of the keys when there are several).
function Map:pairs()
  local list, i = self:entries(), 0
  return function()
    i = i + 1
    local e = list[i]
    if e then return e.key, e.value end
  end
end

--- The value at the keys (as in entries()), or nil.
function Map:get(...)
  for _, e in ipairs(self:entries()) do
    if #e.keys == select("#", ...) then
      local same = true
      for i, k in ipairs(e.keys) do if k ~= select(i, ...) then same = false break end end
      if same then return e.value end
    end
  end
  return nil
end

-- -- Printing -------------------------------------------------------------------------

local function pow_label(p)
  local suffix = ""
  for _, s in ipairs({ { 40, "T" }, { 30, "G" }, { 20, "M" }, { 10, "K" } }) do
    if p >= s[1] then p, suffix = p - s[1], s[2] break end
  end
  return num(2 ^ p) .. suffix
end

local function lin_label(v)
  if v ~= 0 and v % 1048576 == 0 then return num(v / 1048576) .. "M" end
  if v ~= 0 and v % 1024 == 0 then return num(v / 1024) .. "K" end
  return num(v)
end

local BAR = 52

local function hist_lines(self, b, out)
  local p = self.root or self
  local lo, hi, top = nil, nil, 0
  for i, n in pairs(b) do
    if n > 0 then
      if not lo or i < lo then lo = i end
      if not hi or i > hi then hi = i end
      if n > top then top = n end
    end
  end
  if not lo then return end
  for i = lo, hi do
    local label
    if self.kind == "hist" then
      if i == 0 then label = "(..., 0)"
      elseif i == 1 then label = "[0]"
      elseif i == 2 then label = "[1]"
      else label = "[" .. pow_label(i - 2) .. ", " .. pow_label(i - 1) .. ")" end
    else
      if i == 0 then label = "(..., " .. lin_label(p.lo) .. ")"
      elseif i == p.nb + 1 then label = "[" .. lin_label(p.hi) .. ", ...)"
      else label = "[" .. lin_label(p.lo + (i - 1) * p.step) .. ", " .. lin_label(p.lo + i * p.step) .. ")" end
    end
    local n = b[i] or 0
    local w = floor(n / top * BAR)
    out[#out + 1] = format("%-16s %8d |%s%s|", label, n, rep("@", w), rep(" ", BAR - w))
  end
end

--- The text of the map as printed: top (optional) keeps the top largest
-- entries.
function Map:format(top)
  if top ~= nil and (type(top) ~= "number" or top < 0) then
    argerr(1, "format", "non-negative number expected, got " .. tostring(top))
  end
  local list = self:entries()
  local first = 1
  if top and top < #list then first = #list - top + 1 end
  local out = {}
  local at = "@" .. self.name
  for i = first, #list do
    local e = list[i]
    local name = at .. (#e.keys > 0 and "[" .. e.text .. "]" or "")
    if self.kind == "hist" or self.kind == "lhist" then
      out[#out + 1] = name .. ":"
      local raw = {}
      for _, bk in ipairs(e.value) do raw[bk.index] = bk.count end
      hist_lines(self, raw, out)
      if i < #list then out[#out + 1] = "" end
    elseif self.kind == "stats" then
      out[#out + 1] = format("%s: count %s, average %s, total %s", name, num(e.value.count),
        num(e.value.average), num(e.value.total))
    else
      out[#out + 1] = name .. ": " .. num(e.value)
    end
  end
  if #out == 0 then return "" end
  return concat(out, "\n") .. "\n"
end

local function checkmap(m, fname)
  local mt = type(m) == "table" and getmetatable(m)
  if not mt or mt.__name ~= "lurk.agg" then
    argerr(1, fname, "agg map expected, got " .. type(m), 2)
  end
end

--- Print m (its top largest entries if top is given) to f (default
-- io.stdout: lurk's output). The map is then not printed at exit.
function M.print(m, top, f)
  checkmap(m, "print")
  m.printed = true
  local text = m:format(top)
  f = f or io.stdout
  f:write(text)
end

function Map:print(top, f) return M.print(self, top, f) end

--- Every map made so far, in creation order.
function M.maps()
  local t = {}
  for i, m in ipairs(maps) do t[i] = m end
  return t
end

--- Print the maps that have entries and were not printed by the script
-- (what the exit handler does); f defaults to io.stdout.
function M.print_pending(f)
  f = f or io.stdout
  local any = false
  for _, m in ipairs(maps) do
    if m.autoprint and not m.printed then
      local text = m:format()
      if text ~= "" then
        if any then f:write("\n") end
        f:write(text)
        m.printed, any = true, true
      end
    end
  end
end

return M
