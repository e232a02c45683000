--- lurk differential fuzzer: a clean call before every instruction.
--
--   lurk run --no-inline spec/fuzz/cc.lua -- build/fuzz/fz-harness BLOB SEED OUT
--
-- Every instruction of the generated sequence (pc in [0x10000000,
-- 0x10100000), spec/fuzz/harness.h) gets a call, which reads the app's
-- rflags and a general register from the saved context (so it cannot be
-- inlined away) and counts the instruction. The harness's own code runs
-- without calls (millions of instructions of libc start-up and hashing that
-- would only make the run slower). At exit the tool writes "fuzz-cc: N
-- sequence instructions" to lurk's output, which spec/fuzz/run.sh adds up.
local lo, hi = 0x10000000, 0x10100000
local seq, sink = 0, 0

local function before(ctx)
  seq = seq + 1
  sink = sink + (ctx.rflags % 2) + (ctx.rcx % 3)
end

lurk.on("bb", function(bb)
  for _, ins in ipairs(bb) do
    if ins.pc >= lo and ins.pc < hi then bb:call_before(ins, before) end
  end
end)
lurk.on("exit", function()
  lurk.log("fuzz-cc: %d sequence instructions", seq)
end)
