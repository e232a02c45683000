--- stackprot: the stack-protector canary checks the program reaches, found
-- with instruction patterns (lua/lurk/pattern.lua), per module.
--
--   lurk run -t stackprot -- ls /tmp
--   lurk run -t stackprot=sites -- ls     # and each check site
--   lurk run -t stackprot=main -- ls      # the program's own code only
--
-- A function built with -fstack-protector loads the canary in its prologue
-- (`mov rax, qword ptr fs:[0x28]`) and checks it before returning:
--
--   sub rdx, qword ptr fs:[0x28]      (gcc 12; older gcc: xor)
--   jnz 0x4061a5                      (to the call of __stack_chk_fail)
--
-- The tool matches both with patterns in every block lurk translates, so a
-- site counts once it is reached (a block is translated when it first runs),
-- whether or not the branch is taken. Sample output (cd /usr/share && lurk
-- run -t stackprot -- /bin/ls):
--
--   stackprot: 34 canary checks reached (35 canary loads) in 2 modules
--     ls                        9 checks     9 loads
--     libc.so.6                25 checks    26 loads
--
-- With `sites`, each check follows as "  check MODULE+0xOFF REG -> MODULE+0xFAIL"
-- (offset from the module's base: the address objdump -d shows for a PIE
-- or shared object), sorted by module and offset.
local M = {}
local pattern = require "lurk.pattern"
local format = string.format

local opts = {}
for _, a in ipairs({ ... }) do
  if a == "sites" or a == "main" then opts[a] = true
  else error(format("stackprot: unknown option '%s' (sites, main)", a), 0) end
end

M.check = pattern.compile [[
  $op $reg:reg, qword ptr fs:[0x28]    # sub (gcc 12) or xor (older gcc)
  jnz $fail
]]
M.load = pattern.compile "mov $reg:reg, qword ptr fs:[0x28]"

local mods = {}     -- path -> { name, checks = { pc -> site }, nchecks, nloads, loads = { pc } }

local function mod_of(pc)
  local m = lurk.module_at(pc)
  local path = m and m.path or "(no module)"
  local r = mods[path]
  if not r then
    r = { name = m and m.name or path, base = m and m.base or 0, checks = {}, loads = {}, nchecks = 0, nloads = 0 }
    mods[path] = r
  end
  return r, m
end

lurk.on("bb", function(bb)
  local mm = lurk.module_at(bb.pc)
  if opts.main and not (mm and mm.main) then return end
  for c in M.check:gmatch(bb) do
    if c.op == "sub" or c.op == "xor" then
      local r = mod_of(c.pc)
      if not r.checks[c.pc] then
        r.checks[c.pc] = { reg = c.reg, fail = tonumber(c.fail) }
        r.nchecks = r.nchecks + 1
      end
    end
  end
  for l in M.load:gmatch(bb) do
    local r = mod_of(l.pc)
    if not r.loads[l.pc] then
      r.loads[l.pc] = true
      r.nloads = r.nloads + 1
    end
  end
end)

lurk.on("exit", function()
  local list, nc, nl = {}, 0, 0
  for path, r in pairs(mods) do
    list[#list + 1] = r
    nc, nl = nc + r.nchecks, nl + r.nloads
  end
  table.sort(list, function(a, b) return a.base < b.base end)
  lurk.log("stackprot: %d canary checks reached (%d canary loads) in %d module%s%s", nc, nl, #list,
           #list == 1 and "" or "s", opts.main and " (main executable only)" or "")
  for _, r in ipairs(list) do lurk.log("  %-20s %6d checks %5d loads", r.name, r.nchecks, r.nloads) end
  if opts.sites then
    for _, r in ipairs(list) do
      local pcs = {}
      for pc in pairs(r.checks) do pcs[#pcs + 1] = pc end
      table.sort(pcs)
      for _, pc in ipairs(pcs) do
        local k = r.checks[pc]
        lurk.log("  check %s+0x%x %s -> %s+0x%x", r.name, pc - r.base, k.reg, r.name, k.fail - r.base)
      end
    end
  end
end)

return M
