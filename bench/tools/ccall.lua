-- bench: one clean call per block, to an empty Lua function (no arguments).
-- What a clean call costs by itself; see bench/README.md.
local function f() end
lurk.on("bb", function(bb) bb:call_before(1, f) end)
