-- lurk benchmark: Lua 5.4 table + closure workload.
-- Closures/upvalues, table construction, hash and array parts, sorting,
-- string building.  Deterministic (own LCG; output never depends on
-- pairs() order).
-- Usage: lua5.4 lua_bench.lua [SCALE]
local scale = tonumber(arg and arg[1]) or 1

local function make_rng(seed)
  local s = seed
  return function(n)
    s = (s * 1103515245 + 12345) & 0x7fffffff
    return (s >> 8) % n
  end
end
local rnd = make_rng(7)

-- counters made of closures sharing upvalues
local function make_counter()
  local count, total = 0, 0
  return {
    add = function(v) count = count + 1; total = total + v end,
    get = function() return count, total end,
  }
end

-- a tiny object system via metatables
local Vec = {}
Vec.__index = Vec
function Vec.new(x, y) return setmetatable({x = x, y = y}, Vec) end
function Vec.__add(a, b) return Vec.new(a.x + b.x, a.y + b.y) end
function Vec:dot(o) return self.x * o.x + self.y * o.y end

local function map(t, f) local r = {} for i = 1, #t do r[i] = f(t[i]) end return r end
local function filter(t, p) local r = {} for i = 1, #t do if p(t[i]) then r[#r + 1] = t[i] end end return r end
local function reduce(t, f, acc) for i = 1, #t do acc = f(acc, t[i]) end return acc end

local counters = {}
local keys = {}
local acc = Vec.new(0, 0)
local dotsum = 0
for round = 1, 25 * scale do
  local arr = {}
  for i = 1, 4000 do arr[i] = rnd(100000) end
  local sq = map(arr, function(v) return v * v % 9973 end)
  local ev = filter(sq, function(v) return v % 2 == 0 end)
  local s = reduce(ev, function(a, v) return a + v end, 0)
  for i = 1, #ev do
    local k = "k" .. (ev[i] % 512)
    local c = counters[k]
    if not c then c = make_counter(); counters[k] = c; keys[#keys + 1] = k end
    c.add(ev[i])
  end
  for i = 1, 1000 do
    local v = Vec.new(rnd(100) - 50, rnd(100) - 50)
    acc = acc + v
    dotsum = dotsum + v:dot(acc)
  end
  table.sort(arr)
  arr = nil
  if round % 5 == 0 then
    local parts = {}
    for i = 1, 200 do parts[#parts + 1] = string.format("%d:%s", i, keys[(i % #keys) + 1]) end
    local joined = table.concat(parts, ",")
    local n = 0
    for _ in joined:gmatch("k%d+") do n = n + 1 end
    dotsum = dotsum + n + s % 7
  end
end

table.sort(keys)
local top = {}
for i = 1, #keys do
  local c, t = counters[keys[i]].get()
  top[#top + 1] = {k = keys[i], c = c, t = t}
end
table.sort(top, function(a, b) if a.c ~= b.c then return a.c > b.c end return a.k < b.k end)
print("keys", #keys)
for i = 1, 5 do print(top[i].k, top[i].c, top[i].t) end
print("acc", acc.x, acc.y, "dotsum", dotsum)
