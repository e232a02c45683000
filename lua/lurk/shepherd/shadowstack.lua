--- lurk.shepherd.shadowstack: a return-address stack per thread, for
-- shepherd's "shadow-stack" return policy.
--
--   local ss = require "lurk.shepherd.shadowstack"
--   ss.push(ret_addr, slot)          -- at a call: slot = rsp - 8
--   ss.check(target, rsp)            --> "ok" | "mismatch", expected | "unknown"
--
-- Each entry is the return address a call pushes and the stack slot it
-- goes to. At a return (rsp pointing at its slot) the entries whose slot
-- is below rsp are popped first: their frames were left without a return
-- (longjmp, a C++ exception, setcontext), as drwrap unwinds its call
-- stack by stack pointer. Then the top entry must be for this slot and
-- hold this target. A return with no entry for its slot (a frame entered
-- before lurk started, a signal handler returning to its restorer, a
-- switched stack) is "unknown": shepherd applies the after-call rule.
local M = {}

local function stack()
  local d = lurk.thread_data()
  local s = d.shepherd_ss
  if not s then s = { n = 0, ra = {}, slot = {} }; d.shepherd_ss = s end
  return s
end

--- Push the return address ra of a call that stores it at slot.
function M.push(ra, slot)
  local s = stack()
  local n = s.n
  -- a slot at or below an entry's replaces it (that frame is gone)
  while n > 0 and s.slot[n] <= slot do n = n - 1 end
  n = n + 1
  s.ra[n], s.slot[n], s.n = ra, slot, n
end

--- Check a return to target with rsp at its slot: "ok" (popped),
-- "mismatch" and the expected address, or "unknown".
function M.check(target, rsp)
  local s = stack()
  local n = s.n
  while n > 0 and s.slot[n] < rsp do n = n - 1 end
  s.n = n
  if n == 0 or s.slot[n] ~= rsp then return "unknown" end
  if s.ra[n] ~= target then return "mismatch", s.ra[n] end
  s.n = n - 1
  return "ok"
end

--- The calling thread's depth (for tests and reports).
function M.depth() return stack().n end

return M
