-- bench: a clean call made at one function's entry (bench/tools/call.sh):
-- what a call that is made costs. Argument: the function's address. The
-- handler adds its argument to an upvalue, which would be inlined: run it
-- with --no-inline (call.sh does) so every call is made.
local addr = tonumber(...)
local n = 0
local function h(ctx, c) n = n + c end
lurk.on("bb", function(bb) if bb.pc == addr then bb:call_before(1, h, "count") end end)
lurk.on("exit", function() if n == 0 then error("call.lua: no call made at " .. tostring(addr)) end end)
