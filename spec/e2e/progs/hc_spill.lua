--- e2e tool: a compiled handler before every memory access of the
-- program's own executable, of memtrace's summary shape (a counter per
-- site, a hash of cache lines; --explain says compiled). The registers a
-- handler saves stay saved across the app instructions that follow it
-- while they leave them alone (arch/x86_64/hc.c): a fault there must show
-- the program its own registers (progs/hc_spill_fault.c).
local memrec = require "lurk.memrec"
local main
for _, m in ipairs(lurk.modules()) do if m.main then main = m end end
local NSITES = 4096
local sites = assert(lurk.counters(NSITES))
local lines = assert(lurk.hash())
local shr = lurk.shr
local nsite = 0

local function access(ctx, ea, site)
  local l = shr(ea, 6)
  lines[l] = lines[l] + 1
  sites[site] = sites[site] + 1
end

lurk.on("bb", function(bb)
  if not main or bb.pc < main.base or bb.pc >= main.base + main.size then return end
  memrec.each(bb, function(i, ea)
    nsite = nsite % (NSITES - 1) + 1
    bb:call_before(i, access, ea, nsite)
  end)
end)
