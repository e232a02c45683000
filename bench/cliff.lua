-- bench/cliff.lua: the cost of a real call with many inlined handlers
-- (issue #12 part 6). N counting handlers (`c = c + n`, each its own
-- upvalue, all inlined) are placed in turn at every instruction of every
-- block, and one called handler at each block's last instruction reads a
-- counter, so each block makes a real call that needs the counters folded.
--     lurk run bench/cliff.lua N -- PROGRAM ARGS...
-- Compare the time with N = 1000 and N = 10 (bench/README.md).
local N = tonumber((...)) or error("usage: lurk run bench/cliff.lua N -- PROGRAM")
local cs, fs = {}, {}
for i = 1, N do
  local c = 0
  fs[i] = function(ctx, n) c = c + n end
  cs[i] = function() return c end
end
local nxt, looks, seen = 0, 0, 0
local function look(ctx) looks = looks + 1; seen = seen + cs[looks % N + 1]() end
lurk.on("bb", function(bb)
  for i = 1, #bb do nxt = nxt % N + 1; bb:call_before(i, fs[nxt], 1) end
  bb:call_before(#bb, look)
end)
lurk.on("exit", function()
  local t = 0
  for i = 1, N do t = t + cs[i]() end
  lurk.log("cliff: %d handlers, %d instructions counted, %d real calls", N, t, looks)
end)
