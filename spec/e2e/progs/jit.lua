-- LuaJIT with the JIT on: hot numeric loops that get compiled to machine
-- code (traces), a trace exit/side trace, and FFI-free float/int work.
-- Prints jit.status() and whether traces were recorded.
local jit = require("jit")
local util = require("jit.util")
jit.on()
local st = { jit.status() }
print("jit.status:", table.concat((function() local t = {} for i, v in ipairs(st) do t[i] = tostring(v) end return t end)(), " "))
print("version", jit.version, jit.arch)

local function mandel(w, h, iters)
  local count = 0
  for y = 0, h - 1 do
    local ci = y * 2.0 / h - 1.0
    for x = 0, w - 1 do
      local cr = x * 3.0 / w - 2.0
      local zr, zi, i = 0.0, 0.0, 0
      while i < iters and zr * zr + zi * zi < 4.0 do
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
        i = i + 1
      end
      if i == iters then count = count + 1 end
    end
  end
  return count
end

local function sieve(n)
  local comp, c = {}, 0
  for i = 2, n do
    if not comp[i] then
      c = c + 1
      for j = i * i, n, i do comp[j] = true end
    end
  end
  return c
end

local t = {}
for i = 1, 2000000 do t[i] = (i * 7919) % 1000003 end
local s = 0
for i = 1, #t do
  local v = t[i]
  if v % 3 == 0 then s = s + v else s = s - (v % 1000) end   -- side exits
end
print("mandel", mandel(300, 200, 200))
print("primes below 2e6", sieve(2000000))
print("branchy sum", s)
local bits = 0
for i = 1, 1000000 do bits = bit.bxor(bits, bit.lshift(i, i % 13)) end
print("bit ops", bits)
print("trace 1 compiled:", util.traceinfo(1) ~= nil)
print("jit still on:", (jit.status()))
