--- e2e tool: a clean call before every instruction of the program's own
-- executable (as spec/fuzz/cc.lua does for the fuzzer's sequences). The
-- handler reads the app's context, so it is a real call (not inlined or
-- compiled: --explain says so), and the program must not notice.
local n, sink = 0, {}
local main
for _, m in ipairs(lurk.modules()) do if m.main then main = m end end

local function before(ctx)
  n = n + 1
  sink[n % 8 + 1] = tostring(ctx.rflags)
end

lurk.on("bb", function(bb)
  if not main or bb.pc < main.base or bb.pc >= main.base + main.size then return end
  for _, ins in ipairs(bb) do bb:call_before(ins, before) end
end)
