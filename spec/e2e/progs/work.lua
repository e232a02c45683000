-- Lua 5.4 workload: tables (array and hash parts), string library
-- (gsub/gmatch/format/rep), closures, coroutines (not OS threads), integer and
-- float arithmetic, metatables, sort.  Hash-part iteration order is not
-- printed (string hashing is seeded per process in 5.4).
local seed = 42
local function rnd(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 16) % n
end

local words, count = {}, {}
for i = 1, 60000 do
  local t = {}
  for j = 1, 3 + rnd(6) do t[j] = string.char(97 + rnd(26)) end
  local w = table.concat(t)
  words[i] = w
  count[w] = (count[w] or 0) + 1
end
local keys = {}
for k in pairs(count) do keys[#keys + 1] = k end
table.sort(keys, function(a, b) if count[a] ~= count[b] then return count[a] > count[b] end return a < b end)
print(string.format("distinct %d top %s=%d %s=%d %s=%d", #keys, keys[1], count[keys[1]], keys[2], count[keys[2]], keys[3], count[keys[3]]))

local text = table.concat(words, " ")
local vowels = select(2, text:gsub("[aeiou]", ""))
local long = 0
for w in text:gmatch("%a%a%a%a%a%a%a+") do long = long + 1 end
local swapped = text:sub(1, 200):gsub("(%a)(%a)", "%2%1")
print("vowels", vowels, "long words", long)
print("swapped", swapped:sub(1, 60))
print(string.format("%5.2f|%-8s|%x|%q|%g|%d", math.pi, "left", 48879, "q\"uote", 1e300 * 10, math.maxinteger))

-- closures and upvalues
local function counter(step)
  local n = 0
  return function() n = n + step; return n end
end
local c3, c7 = counter(3), counter(7)
local s = 0
for i = 1, 100000 do s = s + c3() - c7() % 11 end
print("closures", s)

-- coroutines
local gen = coroutine.wrap(function()
  local a, b = 0, 1
  for i = 1, 80 do coroutine.yield(a); a, b = b, a + b end
end)
local fibsum = 0
for i = 1, 80 do fibsum = fibsum ~ gen() end
print("fib xor", fibsum)

-- metatables
local Vec = {}
Vec.__index = Vec
Vec.__add = function(a, b) return setmetatable({x = a.x + b.x, y = a.y + b.y}, Vec) end
Vec.__tostring = function(v) return string.format("(%g, %g)", v.x, v.y) end
local v = setmetatable({x = 0, y = 0}, Vec)
for i = 1, 10000 do v = v + setmetatable({x = i % 7, y = -(i % 3) / 2}, Vec) end
print("vector", tostring(v))

-- numeric work and sort
local arr = {}
for i = 1, 200000 do arr[i] = rnd(1000000) end
table.sort(arr)
local acc = 0
for i = 1, #arr, 97 do acc = (acc * 31 + arr[i]) % 1000000007 end
local fsum = 0.0
for i = 1, 300000 do fsum = fsum + math.sin(i) * math.sqrt(i) end
print("sorted", arr[1], arr[#arr], acc, string.format("%.6f", fsum))
print("int ops", 7 // 2, -7 // 2, 7 % -3, 1 << 62, math.tointeger(2^53), 3 | 5, 6 & 3, ~0)
