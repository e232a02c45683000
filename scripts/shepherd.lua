--- shepherd: program shepherding (Kiriansky, Bruening, Amarasinghe 2002):
-- code only from module text, returns only after calls, indirect calls
-- only to function entries, and system-call checks; see docs/tools.md,
-- "shepherd".
--
--   lurk run shepherd -- ./prog args             # kill the program at a violation
--   lurk run shepherd --audit -- ./prog          # report violations, let it run
--   lurk run shepherd --policy my.lua -- ./prog  # a policy file (lua/lurk/shepherd/policy.lua)
--   lurk run shepherd --shadow-stack -- ./prog   # exact returns (a Lua call per call and return)
--
-- Options: --audit, --policy FILE, --shadow-stack, --quiet (no summary).
--
-- What it checks, and where:
--   origin   (bb translation) a block's code must lie in an executable
--            segment of a module mapped from a file, not written since;
--            code in anonymous memory made executable is allowed while a
--            JIT runtime of the policy's `jit` list is loaded
--   return   (a guard at each ret) the target is the instruction
--            after a call lurk translated (or, with --shadow-stack, the
--            return address of the matching call)
--   call     (a guard at each indirect call) the target is a function
--            entry: a symbol, the ELF entry, an FDE start, a PLT stub
--   jump     (a guard at each indirect jmp) the target is in the
--            jump's own module text, or a function entry; longjmp's
--            jump (its target demangled with the pointer guard) only to
--            the instruction after a call
--   syscall  (syscall_pre) execve of a path the policy allows; mmap or
--            mprotect adding PROT_EXEC to anonymous memory only for JITs;
--            no mprotect/munmap/mremap/madvise/MAP_FIXED mmap/
--            process_vm_writev on lurk's memory, no /proc/self/mem for
--            writing (lua/lurk/shepherd/guard.lua)
--
-- A violation prints a report (kind, pc, target, symbolized stack, rule;
-- see lua/lurk/shepherd/report.lua) and kills the process (SIGKILL), or
-- with --audit only logs it. Sample (spec/shepherd/ret2libc.c, attacked):
--
--   shepherd: violation: return (rule returns: after-call)
--     at     0x401273 ret2libc!vuln+0x4e (ret)
--     target 0x401221 ret2libc!tail+0x4 (not the instruction after a call)
--     stack:
--       #0 0x401273 ret2libc!vuln+0x4e
--       #1 0x401221 ret2libc!tail+0x3 (return address)
--       #2 0x200000000 (not in a module) (return address)
--     action: killed pid 15651
local M = {}

local policym = require "lurk.shepherd.policy"
local origins = require "lurk.shepherd.origins"
local report = require "lurk.shepherd.report"
local ss = require "lurk.shepherd.shadowstack"
local guard = require "lurk.shepherd.guard"
local band = bit.band
local format = string.format

local P                 -- the policy
local jit_on = false    -- a JIT module of the policy is loaded
local quiet = false
local stats = { modules = 0, entries = 0, blocks = 0, checks = 0, misses = 0 }
local PROT_EXEC, PROT_WRITE, MAP_ANON = 4, 2, 0x20
local ADDR_END = 0x800000000000

-- ---------------------------------------------------------------------
-- Slow paths: called by the guards (below) for a target without its bit.

local audited = {}      -- --audit: pages whose code was reported as of bad origin

-- Is target code that may run at all? Report an origin violation if not.
local function origin_of_target(ctx, kind, pc, target)
  local page = math.floor(tonumber(target) / 4096)
  if audited[page] then return false end    -- reported already (--audit)
  local ok, why = origins.code_ok(target, jit_on)
  if ok then return true, why end
  if report.mode == "audit" then audited[page] = true end
  report.violation(ctx, { kind = "origin", pc = pc, target = target, insn = kind,
    rule = "origins: module text", why = format("%s target in %s", kind, why) })
  return false
end

-- A PLT-shaped stub: [endbr64;] jmp qword ptr [rip+x] (a canonical PLT
-- entry, whose address is the function's address in a non-PIE program).
local function plt_stub(a)
  local bytes = lurk.read(a, 16)
  if not bytes then return false end
  local ins = lurk.decode(bytes, a)
  if ins and ins.mnemonic == "endbr64" then ins = lurk.decode(bytes:sub(5), a + 4) end
  if ins and ins.mnemonic == "bnd" then return false end
  return ins ~= nil and ins.mnemonic == "jmp" and ins.rip_relative and ins.is_indirect
end

local function endbr(a)
  local b = lurk.read(a, 4)
  return b == "\243\15\30\250"
end

-- Do the bytes before a decode as a call ending at a? (a call that ran
-- before lurk started: start-up frames)
local function after_call_bytes(a)
  local bytes = lurk.read(a - 7, 7)
  if not bytes then return false end
  for len = 2, 7 do
    local ins = lurk.decode(bytes:sub(8 - len), a - len)
    if ins and ins.length == len and ins.is_call then return true end
  end
  return false
end

-- The slow paths return true when the target is valid for any transfer
-- of their kind (its guard then lets it through without asking again),
-- false for a violation or a target valid only from this site.

-- An indirect call's target is not yet known as a function entry.
local function slow_call(ctx, target, pc)
  local ok, how = origin_of_target(ctx, "call", pc, target)
  if not ok then return false end
  if how ~= "module" and not (how == "file" and not jit_on) or origins.is_entry(target) then return true end
  local to = origins.text_of(target)
  if to and origins.dyn_entries(to) and origins.is_entry(target) then return true end
  if plt_stub(target) or endbr(target) then origins.mark(target, origins.F); return true end
  report.violation(ctx, { kind = "call", pc = pc, target = target, insn = "indirect call",
    rule = "calls: function entries", why = "not a function entry" })
  return false
end

-- Is pc inside a function whose name matches pattern?
local function in_function(pc, pattern)
  local s = lurk.sym(pc, false)
  return s and s.name and s.name:match(pattern) ~= nil
end

-- An indirect jump's target is outside its module's text range and not
-- yet known as an entry. Targets valid only from this site (its module's
-- other text, the unwinder's landing pads) are not validated for all.
local function slow_jmp(ctx, target, pc)
  local ok, how = origin_of_target(ctx, "jump", pc, target)
  if not ok then return false end
  if how ~= "module" and not (how == "file" and not jit_on) or origins.is_entry(target) then return true end
  local from = origins.text_of(pc)
  local to = origins.text_of(target)
  if from and to == from then return false end
  if to and origins.dyn_entries(to) and origins.is_entry(target) then return true end
  if plt_stub(target) then origins.mark(target, origins.F); return true end
  -- the C++ unwinder (_Unwind_RaiseException, _Unwind_Resume) jumps to
  -- landing pads, anywhere in a function of another module
  if from and from.name:match("^libgcc_s%.so") then return false end
  -- longjmp (and siglongjmp) jump from libc to the instruction after the
  -- setjmp call
  if from and from.name:match("^libc%.so") and origins.is_after_call(target) then return false end
  report.violation(ctx, { kind = "jump", pc = pc, target = target, insn = "indirect jmp",
    rule = "jumps: own module or entries", why = "another module's code, not an entry" })
  return false
end

-- A longjmp's jump (a target demangled with the pointer guard, see
-- demangled_jmp) failed the after-call check: it may only go to where a
-- setjmp call returns.
local function slow_lj(ctx, target, pc)
  local ok, how = origin_of_target(ctx, "jump", pc, target)
  if not ok then return false end
  if how ~= "module" and not (how == "file" and not jit_on) or origins.is_after_call(target) then return true end
  if after_call_bytes(target) then origins.mark(target, origins.R); return true end
  report.violation(ctx, { kind = "jump", pc = pc, target = target, insn = "indirect jmp",
    rule = "jumps: longjmp to after a call", why = "a longjmp, not to the instruction after a call" })
  return false
end

-- A return's target is not yet known as the instruction after a call.
local function slow_ret(ctx, target, pc)
  local ok, how = origin_of_target(ctx, "return", pc, target)
  if not ok then return false end
  if how ~= "module" and not (how == "file" and not jit_on) or origins.is_after_call(target) then return true end
  -- the unwinder returns to C++ landing pads (anywhere in a function);
  -- setcontext/swapcontext return to a context's pc (an entry or after
  -- the getcontext call)
  local from = origins.text_of(pc)
  if from and from.name:match("^libgcc_s%.so") then return false end
  -- a JIT runtime's own code returns into its entries (V8's builtins
  -- return into the interpreter's entry when they deoptimize)
  if from and from.jit and origins.is_entry(target) then return false end
  if from and from.name:match("^libc%.so") and (in_function(pc, "context") or in_function(pc, "^__start_context"))
     and (origins.is_entry(target) or origins.is_after_call(target)) then return false end
  -- a return to after a call that ran before lurk started (start-up frames)
  if after_call_bytes(target) then origins.mark(target, origins.R); return true end
  report.violation(ctx, { kind = "return", pc = pc, target = target, insn = "ret",
    rule = "returns: after-call", why = "not the instruction after a call" })
  return false
end

-- ---------------------------------------------------------------------
-- Guards (docs/lua-api.md, "Guards"): each kind of indirect transfer goes
-- through a guard, an indirect-branch table of its own that the engine's
-- lookup consults; a target the guard's handler validated is found there
-- and costs no more than an unchecked transfer, from any site of that kind.
-- The handler takes the F/R bit first (lurk.shadow: function entries,
-- after-call sites), then the slow path. A block flushed (its module
-- unloaded, its code rewritten) leaves the guards' tables too, so its
-- targets are validated again. A non-canonical target is left to fault.

local on_module

-- From the first instruction (lurk's default start), ld.so calls into a
-- library (its IFUNC resolvers, its constructors) before the library's
-- module_load, which waits for its relocation: a transfer into a module
-- not yet known learns it. True when that made a module known.
local function learn(target)
  local m = lurk.module_at(target)
  if not m or origins.mods[m.base] then return false end
  on_module(m)
  return true
end

local function guard_handler(known, slow)
  return function(ctx, target, pc)
    stats.misses = stats.misses + 1
    if target >= ADDR_END then return false end
    if known(target) then return true end
    if learn(target) and known(target) then return true end
    return slow(ctx, target, pc)
  end
end

local G = {}   -- the guards: ret, call, jmp, lj (longjmp's jump)

local function make_guards()
  local R, F = origins.is_after_call, origins.is_entry
  local specs = { { "ret", R, slow_ret }, { "call", F, slow_call }, { "jmp", F, slow_jmp }, { "lj", R, slow_lj } }
  -- the same guards in a reloaded version (lurk.keep survives a reload)
  local K = lurk.keep
  for _, sp in ipairs(specs) do
    local key = "shepherd_guard_" .. sp[1]
    local g, err = lurk.guard(guard_handler(sp[2], sp[3]), K[key])
    if not g then error("shepherd: " .. err, 0) end
    G[sp[1]], K[key] = g, g
  end
end

-- --shadow-stack: a compiled check (docs/lua-api.md, "Compiled handlers")
-- of the R bit at a return the shadow stack does not know. The target's
-- shadow byte b holds the F/R bits of 4 app bytes; the bit of byte
-- k = target % 4 is looked up in a table (tab[b * 4 + k]).
local ffi = require "ffi"
local bit_tabs = ffi.new("uint8_t[1024]")   -- the R bits
for b = 0, 255 do
  for k = 0, 3 do
    bit_tabs[b * 4 + k] = band(b, bit.lshift(1, 2 * k)) ~= 0 and 1 or 0   -- R: bit 2k
  end
end
-- the compiled checks hold only its address: keep it from the GC
debug.getregistry()["lurk.shepherd.bit_tabs"] = bit_tabs
local RTAB = tonumber(ffi.cast("uintptr_t", bit_tabs))

local function check_ret(ctx, target, pc, tab)
  local t = lurk.low(target, 47)
  if lurk.u8(tab + lurk.u8(lurk.shr(t, 2) + lurk.shadow.offset) * 4 + lurk.low(t, 2)) ~= 0 then return end
  slow_ret(ctx, target, pc)
end

-- shadow-stack mode: push at each call, exact check at each ret
local function ss_call(ctx, ra, rsp)
  ss.push(ra, rsp - 8)
end
local function ss_ret(ctx, target, pc, rsp)
  local r, expected = ss.check(target, rsp)
  if r == "ok" then return end
  if r == "unknown" then return check_ret(ctx, target, pc, RTAB) end
  local ok = origin_of_target(ctx, "return", pc, target)
  if not ok then return end
  local from = origins.text_of(pc)
  if from and from.name:match("^libgcc_s%.so") then return end
  report.violation(ctx, { kind = "return", pc = pc, target = target, insn = "ret",
    rule = "returns: shadow stack",
    why = format("the matching call's return address is 0x%x %s", expected, origins.describe(expected)) })
end

-- A block of code that may not run: report before its first instruction.
local function bad_origin(ctx, pc, why)
  report.violation(ctx, { kind = "origin", pc = pc, rule = "origins: module text",
    why = format("code in %s", why) })
end

-- ---------------------------------------------------------------------

-- Does block bb end in a jump to a pointer it demangled with the pointer
-- guard (`xor REG, fs:[0x30]` ... `jmp REG`)? glibc's longjmp does (its
-- jmp_buf's saved pc is mangled); found by the code, not by name, so it
-- holds in a stripped libc and in a static binary's copy.
local function demangled_jmp(bb, n)
  local reg = bb[n].text:match("^jmp (%w+)$")
  if not reg then return false end
  local xor = "xor " .. reg .. ", qword ptr fs:[0x30]"
  for i = n - 1, 1, -1 do
    if bb[i].text == xor then return true end
  end
  return false
end

local function on_bb(bb)
  stats.blocks = stats.blocks + 1
  -- --audit: one report per page is enough (self-modifying code in such a
  -- page is translated again and again; classifying it reads the maps)
  local page = math.floor(bb.pc / 4096)
  if audited[page] then return end
  local n = #bb
  local ok, how, rec = origins.code_ok(bb.pc, jit_on, bb[n].pc + bb[n].length - bb.pc)
  if not ok then
    if report.mode == "audit" then audited[page] = true end
    bb:call_before(1, function(ctx, pc) bad_origin(ctx, pc, how) end, "pc")
    return
  end
  -- a JIT's code, lurk's, and with a JIT loaded files mapped as code
  -- (V8's builtins): not checked (docs/tools.md)
  if how ~= "module" and not (how == "file" and not jit_on) then return end
  local last = bb[n]
  if last.is_far then return end
  if last.is_call then
    local ra = last.pc + last.length
    origins.mark(ra, origins.R)
    if last.is_direct then
      local t = last.target
      if t and not origins.code_ok(t, jit_on) then
        bb:call_before(n, function(ctx, pc, tg) origin_of_target(ctx, "call", pc, tg) end, "pc", "target")
      end
    else
      bb:guard(G.call)
      stats.checks = stats.checks + 1
    end
    if P.returns == "shadow-stack" then bb:call_before(n, ss_call, ra, "rsp") end
  elseif last.is_ret then
    if P.returns == "shadow-stack" then bb:call_before(n, ss_ret, "target", "pc", "rsp")
    else bb:guard(G.ret) end
    stats.checks = stats.checks + 1
  elseif last.is_branch and last.is_indirect and demangled_jmp(bb, n) then
    bb:guard(G.lj)
    stats.checks = stats.checks + 1
  elseif last.is_branch and last.is_indirect then
    -- its own module's text range is looked up without the guard
    local t = rec and select(2, origins.text_of(last.pc))
    bb:guard(G.jmp, t and t[1] or 0, t and t[2] or 0)
    stats.checks = stats.checks + 1
  elseif last.is_branch and last.is_direct and last.target and not origins.code_ok(last.target, jit_on) then
    bb:call_before(n, function(ctx, pc, tg) origin_of_target(ctx, "jump", pc, tg) end, "pc", "target")
  end
end

function on_module(m)
  if origins.mods[m.base] then return end   -- learnt before its module_load
  local rec = origins.add_module(m)
  stats.modules, stats.entries = stats.modules + 1, stats.entries + rec.nentries
  if policym.glob_match(P.jit, m.name) then jit_on, rec.jit = true, true end
  for _, pat in ipairs(P.allow) do
    for _, s in ipairs(lurk.symbols(pat)) do
      if s.addr >= m.base and s.addr < m["end"] then origins.mark(s.addr, origins.F) end
    end
  end
end

-- System calls: checked at the call itself, wherever it is made from.
local function on_syscall(e)
  local name = e.name
  local refuse = guard.check(e)
  if refuse then
    -- even with --audit the call is refused: it would corrupt lurk
    if report.violation(nil, { kind = "syscall", rule = "engine memory", why = refuse }, e) then e:skip(-13) end
    return
  end
  if name == "execve" or name == "execveat" then
    if not P.exec then return end
    local path = lurk.cstring(e.args[name == "execve" and 1 or 2]) or "?"
    if not policym.glob_match(P.exec, path) then
      report.violation(nil, { kind = "syscall", rule = "exec: allowed paths",
          why = format("%s of %s, not in the policy's exec list", name, path) }, e)
    end
  elseif name == "rt_sigaction" then
    -- a handler returns to its sa_restorer: a return target (struct
    -- kernel_sigaction: handler, flags, restorer, mask)
    local act = e.args[2]
    if act ~= 0 then
      local r = lurk.read(act + 16, 8)
      if r then
        local ffi = require "ffi"
        local a = tonumber(ffi.cast("const uint64_t *", ffi.cast("const char *", r))[0])
        if a ~= 0 and a < ADDR_END then origins.mark(a, origins.R) end
      end
    end
  elseif name == "mmap" or name == "mprotect" or name == "pkey_mprotect" then
    local prot = e.args[3] % 2^32
    local lo, len = e.args[1], e.args[2]
    if name ~= "mmap" and band(prot, PROT_WRITE) ~= 0 and select(2, origins.text_of(lo)) then
      -- module text made writable: its code is no longer the file's
      origins.add_range(origins.written, lo, lo + len)
    end
    if band(prot, PROT_EXEC) == 0 then return end
    if name == "mmap" then
      local flags, fd = e.args[4] % 2^32, e.args[5] % 2^32
      if band(flags, MAP_ANON) == 0 and fd ~= 0xffffffff then return end   -- a file's pages
    elseif origins.file_backed(lo, lo + len) then
      if band(prot, PROT_WRITE) ~= 0 then
        origins.add_range(origins.written, lo, lo + len)
      end
      return
    end
    if P.mprotect_exec == "any" or jit_on then return end
    report.violation(nil, { kind = "syscall", rule = "mprotect_exec: modules",
        why = format("%s(0x%x, %d, %s) makes anonymous memory (%s) executable, outside the policy's jit list",
                     name, lo, len, "0x" .. bit.tohex(prot, 1), origins.classify(lo)) }, e)
  end
end

-- A successful mmap/mprotect of anonymous PROT_EXEC memory: a JIT range.
local function on_syscall_post(e)
  if e.result < 0 and e.result > -4096 then return end
  local prot = e.args[3] % 2^32
  if band(prot, PROT_EXEC) == 0 then return end
  local name = e.name
  local lo = name == "mmap" and e.result or e.args[1]
  local len = e.args[2]
  if name == "mmap" then
    local flags, fd = e.args[4] % 2^32, e.args[5] % 2^32
    if band(flags, MAP_ANON) == 0 and fd ~= 0xffffffff then
      -- a file's pages: a module being loaded, or code mapped from a file
      if not origins.text_of(lo) then origins.add_range(origins.filex, lo, lo + len) end
      return
    end
  elseif origins.text_of(lo) then return
  elseif origins.file_backed(lo, lo + len) then
    origins.add_range(origins.filex, lo, lo + len)
    return
  end
  origins.add_range(origins.jit, lo, lo + len)
end

function M.start(...)
  local argv = { ... }
  local i, policy_file, returns = 1, nil, nil
  while i <= #argv do
    local a = argv[i]
    if a == "--audit" then report.mode = "audit"
    elseif a == "--quiet" then quiet = true
    elseif a == "--shadow-stack" then returns = "shadow-stack"
    elseif a == "--policy" then
      i = i + 1
      policy_file = argv[i]
      if not policy_file then error("shepherd: --policy needs a file", 0) end
    elseif a ~= "" then
      error(format("shepherd: unknown option '%s' (--audit, --policy FILE, --shadow-stack, --quiet)", a), 0)
    end
    i = i + 1
  end
  local err
  P, err = policym.load(policy_file)
  if not P then error(err, 0) end
  if returns then P.returns = returns end
  M.policy = P
  make_guards()
  origins.add_lurk()
  lurk.on("module_load", on_module)
  lurk.on("module_unload", function(m) origins.remove_module(m) end)
  -- on_bb looks only at a block's bytes and its last instruction: superblocks
  -- (blocks that go on past conditional branches) suit it
  lurk.on("bb", on_bb, { superblocks = true })
  local calls = { "execve", "execveat", "rt_sigaction" }
  for _, c in ipairs(guard.calls) do calls[#calls + 1] = c end
  lurk.on("syscall_pre", on_syscall, { only = calls })
  lurk.on("syscall_post", on_syscall_post, { only = { "mmap", "mprotect", "pkey_mprotect" } })
  lurk.on("fork", function() report.owner = lurk.pid() end)
  lurk.on("exit", function()
    if quiet and report.count == 0 then return end
    lurk.log("shepherd: pid %d: %d violation%s%s; %d modules, %d function entries, %d blocks, %d transfer checks, %d guard misses",
      lurk.pid(), report.count, report.count == 1 and "" or "s", report.mode == "audit" and " (audit)" or "",
      stats.modules, stats.entries, stats.blocks, stats.checks, stats.misses)
  end)
end

return M
