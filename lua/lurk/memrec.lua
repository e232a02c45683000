--- lurk.memrec: place one clean call per memory access of a block, for
-- tools that trace or simulate memory (scripts/memtrace.lua,
-- scripts/cachesim.lua).
--
--   local memrec = require "lurk.memrec"
--   local function access(ctx, pc, ea, info) buf(pc, ea, info) end
--   lurk.on("bb", function(bb) memrec.instrument(bb, access) end)
--
-- `instrument(bb, fn [, nopc])` calls fn(ctx, pc, ea, info) before each
-- instruction once per memory operand it accesses (fn(ctx, ea, info) with
-- nopc), where info = size in bytes | 65536 for a store (an operand both
-- read and written, `add [m], r`, gives a load then a store). Explicit and
-- implicit operands count (push, pop, call, ret, movs); lea and nop
-- (addresses without an access), gathers and scatters (per-lane
-- addresses) and gs-relative operands are left out; a rep-prefixed string
-- instruction gives one access per operand per execution, of one
-- element's size. `STORE` is 65536.
local M = { STORE = 65536 }

local floor = math.floor

-- `each(bb, fn)` calls fn(i, ea, info) for the same accesses, in the same
-- order, without placing anything: ea is the argument spec ("ea1", ...).
function M.each(bb, fn)
  for i = 1, #bb do
    local ins = bb[i]
    if ins.reads_memory or ins.writes_memory then
      local k = 0
      for _, op in ipairs(ins.all_operands) do
        if op.kind == "mem" then
          k = k + 1
          if not op.agen and op.seg ~= "gs" and not (op.index and op.index:match("mm")) and (op.read or op.write) then
            local size = ins.rep and floor(ins.opsize / 8) or floor((op.size or 0) / 8)
            if op.read then fn(i, "ea" .. k, size) end
            if op.write then fn(i, "ea" .. k, size + 65536) end
          end
        end
      end
    end
  end
end

function M.instrument(bb, fn, nopc)
  M.each(bb, function(i, ea, info)
    if nopc then bb:call_before(i, fn, ea, info) else bb:call_before(i, fn, "pc", ea, info) end
  end)
end

return M
