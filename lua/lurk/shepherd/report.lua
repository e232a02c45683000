--- lurk.shepherd.report: shepherd's violation reports and what follows
-- them (kill, or only log with --audit).
--
--   local report = require "lurk.shepherd.report"
--   report.mode = "audit"
--   report.violation(ctx, { kind = "return", pc = pc, target = t,
--                           rule = "returns: after-call", why = "..." })
--
-- The report, on lurk's output (docs/tools.md, "shepherd"):
--
--   shepherd: violation: return (rule returns: after-call)
--     at     0x401196 ret2libc!vuln+0x3c
--     target 0x7f0e3f64c490 libc.so.6!system (not the instruction after a call)
--     stack:
--       #0 0x401196 ret2libc!vuln+0x3c
--       #1 ...
--     action: killed pid 4242
local M = {}

local origins = require "lurk.shepherd.origins"
local format = string.format

M.mode = "kill"        -- "kill" or "audit"
M.count = 0            -- violations reported (audit: distinct ones)
M.handler = nil        -- optional Lua handler fn(v) -> true to let it pass
local seen = {}

-- The symbolized call stack at a clean call, as lines.
local function stack(ctx)
  local out = {}
  if not ctx then return out end
  local pcs, exact = ctx:backtrace(16)
  for i, a in ipairs(pcs or {}) do
    local s = lurk.module_at(a) and origins.describe(exact[i] and a or a - 1) or "(not in a module)"
    if not exact[i] then s = s .. " (return address)" end
    out[#out + 1] = format("    #%d 0x%x %s", i - 1, a, s)
  end
  return out
end

M.owner = lurk.pid()   -- the process whose Lua state this is (set again at fork)

--- Is this a vfork child, running on its parent's Lua state until it
-- execs? Killing it would leave lurk's lock held for the parent.
function M.vfork_child() return lurk.pid() ~= M.owner end

--- Report violation v ({ kind, pc, target, rule, why }) found at a clean
-- call (ctx), or at a system call (e: its syscall_pre event), then kill
-- the process unless in audit mode. A vfork child's system call is
-- refused (EACCES) instead of killing it. Returns true when the program
-- goes on.
function M.violation(ctx, v, e)
  local key = format("%s %s %s", v.kind, tostring(v.pc), tostring(v.target))
  if M.mode == "audit" and seen[key] then return true end
  seen[key] = true
  M.count = M.count + 1
  local lines = { format("shepherd: violation: %s (rule %s)", v.kind, v.rule) }
  if v.pc then lines[#lines + 1] = format("  at     0x%x %s%s", v.pc, origins.describe(v.pc), v.insn and " (" .. v.insn .. ")" or "") end
  if v.target then lines[#lines + 1] = format("  target 0x%x %s (%s)", v.target, origins.describe(v.target), v.why or "") 
  elseif v.why then lines[#lines + 1] = "  " .. v.why end
  local st = stack(ctx)
  if #st > 0 then
    lines[#lines + 1] = "  stack:"
    for _, l in ipairs(st) do lines[#lines + 1] = l end
  end
  local go_on = M.mode == "audit"
  if M.handler then go_on = M.handler(v) and true or go_on end
  local vchild = not go_on and M.vfork_child()
  local refuse = vchild and e
  local exit_ = vchild and ctx and not e and lurk.addr("libc.so.6!_exit")
  lines[#lines + 1] = go_on and "  action: logged (audit), the program goes on"
                    or refuse and format("  action: the call refused (EACCES) in vfork child %d", lurk.pid())
                    or exit_ and format("  action: vfork child %d sent to _exit(137)", lurk.pid())
                    or format("  action: killed pid %d", lurk.pid())
  lurk.log("%s", table.concat(lines, "\n"))
  if refuse then
    e:skip(-13)
  elseif exit_ then
    -- ends the child once the handler has returned (and released the lock)
    ctx.rdi, ctx.pc = 137, exit_
  elseif not go_on then
    io.stdout:flush()
    lurk.kill(lurk.pid(), 9)
  end
  return go_on
end

return M
