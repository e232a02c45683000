-- Compiled handlers (bindings/lb_hc.lua, lb_hc.c, arch/x86_64/hc.c): a
-- handler in the compiled subset runs inline, and leaves every value Lua
-- can see exactly as the called handler would. Every case runs a script
-- compiled and under --no-inline (every call made) and compares; the
-- differential fuzzer does the same for generated handlers (its seed is
-- printed on failure: LURK_HC_SEED=N replays it).
local h = require "spec.util.helper"

local tmp = h.tmpdir()
local prog = tmp .. "/inl_prog"
h.gcc(prog, "-O1", "-pthread", h.root .. "/spec/lua/inl_prog.c")

-- Run the script text on argv (ASLR off, so addresses repeat), compiled
-- and called; returns both results.
local function both(code, argv, extra, lurkopts)
  local path = h.tmpfile(code, ".lua")
  local function go(mode)
    local a = { "--stats", "--explain" }
    for _, o in ipairs(lurkopts or {}) do a[#a + 1] = o end
    if mode then a[#a + 1] = mode end
    a[#a + 1] = path
    a[#a + 1] = "--"
    for _, w in ipairs(argv) do a[#a + 1] = w end
    local r = h.run(a, extra)
    return r
  end
  return go(nil), go("--no-inline"), path
end

local function stat(r, name)
  local n = 0
  for v in r.stderr:gmatch("lurk:   " .. name .. " +(%d+)") do n = n + tonumber(v) end
  return n
end

-- The script's own output (print goes to stdout through lurk's io).
local function report(r) return (r.stderr:gsub("lurk:[^\n]*\n", "")) end

local MAIN = [[
local function main(bb) local m = lurk.module_at(bb.pc) return m and m.main end
local band, bor, bxor, lshift, rshift, arshift = bit.band, bit.bor, bit.bxor, bit.lshift, bit.rshift, bit.arshift
]]

local function same(a, b)
  assert.equal(0, a.status, a.stderr)
  assert.equal(0, b.status, b.stderr)
  assert.equal(a.stdout, b.stdout)
  assert.equal(report(b), report(a))
end

-- prog under setarch -R: addresses (ea, registers) repeat from run to run
local function argv(...)
  local t = { "setarch", "-R", prog }
  for _, w in ipairs({ ... }) do t[#t + 1] = w end
  return t
end

describe("compiled handlers", function()
  it("compute what the called handler computes: branches, bit operations, counters, memory loads", function()
    local a, b = both(MAIN .. [[
      local n, m, k, r = 0, 0, 0, 0
      local c = lurk.counters(64)
      local u32 = lurk.u32
      local function on_block(ctx, pc, cnt, ecx)
        if band(pc, 15) > 7 then n = n + cnt else m = m - 1 end
        local j = band(bxor(ecx, rshift(pc, 3)), 63) + 1
        c[j] = c[j] + cnt * 3
        if arshift(lshift(ecx, 28), 30) < -1 then k = k + 1 end
      end
      local function on_mem(ctx, ea, size)
        local j = rshift(lurk.low(ea, 8), 2) + 1
        c[j] = c[j] + size
        r = r + band(u32(ea), 7)
      end
      lurk.on("bb", function(bb)
        if not main(bb) then return end
        bb:call_before(1, on_block, "pc", "count", "ecx")
        for i = 1, #bb do
          local ins = bb[i]
          if ins.reads_memory and ins.mnemonic == "mov" and ins.operands[2].kind == "mem" then
            bb:call_before(i, on_mem, "ea", "size")
          end
        end
      end)
      lurk.on("exit", function()
        print(n, m, k, r)
        print(table.concat(c:totable(), ","))
      end)]], argv("phases"))
    same(a, b)
    assert.matches("%d+\t%-%d+\t%d+\t%d+\n", report(a))
    assert.is_true(stat(a, "clean calls inlined") > 0)
    assert.equal(0, stat(a, "clean calls placed"), a.stderr)
    assert.matches("explain: [^\n]*:%d+: compiled", a.stderr)
  end)

  -- At a site where every register but rsp is live (spec/lua/hc_live_prog.c)
  -- compiled code has no dead register to work in: its values live in the
  -- thread block, and a value just computed is used from the register it
  -- was computed in rather than reloaded (arch/x86_64/hc.c, hc_held_*).
  -- Hash adds whose addend is computed after the key, a counter and a
  -- per-thread cell, compiled and called.
  it("compute what the called handler computes where every register is live", function()
    local lprog = tmp .. "/hc_live_prog"
    h.gcc(lprog, "-O1", h.root .. "/spec/lua/hc_live_prog.c")
    local a, b = both(MAIN .. [[
      local hh, c, pt = lurk.hash(64), lurk.counters(16), lurk.perthread(16)
      local s = 0
      local function at_sub(ctx, pc, ea, rbx, rdx)
        local b, d = lurk.low(rbx, 16), lurk.low(rdx, 16)
        local k = band(rshift(lurk.low(ea, 12), 3), 31)
        local v = band(b, 7) + 3
        hh[k] = hh[k] + v
        local j = band(d, 15) + 1
        local w = band(rshift(b, 1), 1023) + 1
        c[j] = c[j] + w
        local q = band(pc, 15) + 1
        pt[q] = band(d, 255)
        s = s + (lurk.low(pt[q], 8) + band(b, 3))
      end
      lurk.on("bb", function(bb)
        if not main(bb) then return end
        for i = 1, #bb do
          if bb[i].mnemonic == "sub" and bb[i].reads_memory then bb:call_before(i, at_sub, "pc", "ea", "rbx", "rdx") end
        end
      end)
      lurk.on("exit", function()
        local t, keys = hh:totable(), {}
        for key in pairs(t) do keys[#keys + 1] = key end
        table.sort(keys)
        for i, key in ipairs(keys) do keys[i] = key .. "=" .. t[key] end
        print(s, table.concat(keys, " "))
        print(table.concat(c:totable(), ","))
      end)]], { "setarch", "-R", lprog })
    same(a, b)
    assert.matches("^%d+\t0=%d+ 1=%d+", report(a))
    assert.matches("explain: [^\n]*:%d+: compiled", a.stderr)
    assert.is_true(stat(a, "clean calls inlined") > 0)
    assert.equal(0, stat(a, "clean calls placed"), a.stderr)
  end)

  -- A program that may call its handler saves each register it uses
  -- (the call sees the app's state), so registers go only to vregs used
  -- about three times a pass on the paths most passes take (each branch
  -- counted as taken half the time, hc_weights): the rare work past two
  -- early returns keeps its values in thread-block slots. Counting every
  -- use alike, this site saved 13 registers; now 4 at most.
  it("save registers for the likely path, not for rare work past early returns", function()
    local a, b = both(MAIN .. [[
      local low, shr = lurk.low, lurk.shr
      local n = 0
      local function at(ctx, pc, ea)
        if pc ~= 1 then return end
        if ea == 7 then return end
        local x, y = low(ea, 8), low(shr(ea, 8), 8)
        local c, d = bor(x, y) + x * 3, band(x, y) + y * 5
        local e = band(c + d, 0x7f) + bor(c, d) + x + y + c + d
        if e == 12345 then return end
        n = n + e
      end
      lurk.on("bb", function(bb)
        if not main(bb) then return end
        for i = 1, #bb do
          if bb[i].reads_memory then bb:call_before(i, at, "pc", "ea") break end
        end
      end)
      lurk.on("exit", function() print(n) end)]], argv("phases"))
    same(a, b)
    local sites = stat(a, "clean calls inlined")
    assert.is_true(sites > 0, a.stderr)
    assert.is_true(stat(a, "hc registers saved") <= 4 * sites,
                   ("%d registers saved at %d sites"):format(stat(a, "hc registers saved"), sites))
  end)

  -- What a site's constants alone determine is computed at translation:
  -- here the addend (from "size") becomes a constant and the counter add
  -- folds into one instruction, which needs no scratch register, or one
  -- where the app's flags are live (lea). Computed at every pass, the
  -- multiplications took two scratch registers, saved where live (98 at 32
  -- sites of this program; now at most one a site).
  it("compute at translation what the site's constants determine", function()
    local a, b = both(MAIN .. [[
      local c = lurk.counters(1)
      local function at(ctx, size)
        local m = size * size * 3 - 2 * size + 1
        c[1] = c[1] + m
      end
      lurk.on("bb", function(bb)
        if not main(bb) then return end
        for i = 1, #bb do
          if bb[i].reads_memory then bb:call_before(i, at, "size") end
        end
      end)
      lurk.on("exit", function() print(c[1]) end)]], argv("phases"))
    same(a, b)
    assert.matches("^%d+\n$", report(a))
    local sites = stat(a, "clean calls inlined")
    assert.is_true(sites > 0, a.stderr)
    assert.is_true(stat(a, "hc registers saved") <= sites,
                   ("%d registers saved at %d sites"):format(stat(a, "hc registers saved"), sites))
  end)

  -- In one process: each compiled handler beside a twin that keeps its
  -- values in a Lua table (not compiled: called). Two runs would not do:
  -- the memory lurk maps differs between a compiled and a called run, so
  -- ld.so puts the libraries elsewhere and the program's paths differ.
  it("agree with the called handler on a real program (ls -l /usr, ASLR off)", function()
    local cmd = { "setarch", "-R", "/bin/ls", "-l", "/usr" }
    local script = h.tmpfile(MAIN .. [[
      local n, t = 0, 0
      local c = lurk.counters(16)
      local R = { n = 0, t = 0, c = {} }
      for j = 1, 16 do R.c[j] = 0 end
      lurk.on("bb", function(bb)
        bb:call_before(1, function(ctx, pc, cnt) if band(pc, 31) < 16 then n = n + cnt end end, "pc", "count")
        bb:call_before(1, function(ctx, pc, cnt) if band(pc, 31) < 16 then R.n = R.n + cnt end end, "pc", "count")
        local last = bb[#bb]
        if last.is_cbr then
          bb:call_before(#bb, function(ctx, taken) t = t + taken end, "taken")
          bb:call_before(#bb, function(ctx, taken) R.t = R.t + taken end, "taken")
        end
        for i = 1, #bb do
          -- loads and stores, fs-relative ones (errno, the canary) included,
          -- by their address's bits 12-15 (the TCB is page-aligned: lower
          -- bits would not show its base)
          if bb[i].mnemonic == "mov" and (bb[i].writes_memory or bb[i].reads_memory) then
            bb:call_before(i, function(ctx, ea) local j = rshift(lurk.low(ea, 16), 12) + 1; c[j] = c[j] + 1 end, "ea")
            bb:call_before(i, function(ctx, ea) local j = rshift(lurk.low(ea, 16), 12) + 1; R.c[j] = R.c[j] + 1 end, "ea")
          end
        end
      end)
      lurk.on("exit", function()
        print(n, t, table.concat(c:totable(), ","))
        print(R.n, R.t, table.concat(R.c, ","))
      end)]], ".lua")
    local args = { "--stats", "--explain", script, "--" }
    for _, w in ipairs(cmd) do args[#args + 1] = w end
    local r = h.run(args)
    assert.equal(0, r.status, r.stderr)
    local compiled, called = report(r):match("^([^\n]+)\n([^\n]+)\n$")
    assert.is_string(compiled, r.stderr)
    assert.equal(called, compiled)
    assert.is_true(tonumber(compiled:match("^(%d+)")) > 100000, compiled)
    -- the three handlers compiled whole; their twins call Lua (the pc
    -- twin's test is compiled, its table update called)
    local nc, nm = 0, 0
    for line in r.stderr:gmatch("explain: ([^\n]*)") do
      if line:match(": compiled %(%d+ IR instructions%)$") then nc = nc + 1
      elseif line:match(": called: ") or line:match("calls the handler") then nm = nm + 1 end
    end
    assert.equal(3, nc, r.stderr)
    assert.equal(3, nm, r.stderr)
    assert.is_true(stat(r, "clean calls inlined") > 1000)
  end)

  it("say what kept a handler from being compiled, with its line (--explain)", function()
    local a = both([[
      local n = 0
      lurk.on("bb", function(bb)
        bb:call_before(1, function(ctx) n = n + ctx.rax end)
        bb:call_before(1, function(ctx, x) for i = 1, 2 do n = n + x end end, "count")
        bb:call_before(1, function(ctx, pc) n = n + pc * pc end, "pc")
      end)]], { "/bin/true" })
    assert.equal(0, a.status, a.stderr)
    assert.matches("explain: [^\n]*%.lua:3: called: uses ctx%.rax", a.stderr)
    assert.matches("explain: [^\n]*%.lua:4: called: [^\n]*loop", a.stderr)
    assert.matches("explain: [^\n]*%.lua:5: called: a value that may pass 2%^53", a.stderr)
  end)

  it("keeps a register rdssp only may write (a nop without shadow stacks) as it was", function()
    -- live.c took rdssp's register for dead before it: a compiled handler
    -- there used it as scratch, and libgcc's unwinder (rdssp, then incssp
    -- when the register is not 0) died of SIGILL under memcheck --uninit
    local src = h.tmpfile([[
#include <stdio.h>
int main(void) {
  long r;
  __asm__ volatile("mov $0x1234, %%rax\n\trdsspq %%rax\n\tmov %%rax, %0" : "=r"(r) : : "rax");
  printf("%lx\n", r);
  return 0;
}
]], ".c")
    local exe = tmp .. "/rdssp"
    h.gcc(exe, "-O1", src)
    os.remove(src)
    local a, b = both(MAIN .. [[
      local cell = lurk.perthread(2)
      lurk.on("bb", function(bb)
        if not main(bb) then return end
        for i = 1, #bb do
          if bb[i].mnemonic:match("^rdssp") then
            bb:call_before(i, function(ctx, d, keep) cell[d] = band(lurk.low(cell[d], 8), keep) end, 1, 0)
          end
        end
      end)
    ]], { exe })
    same(a, b)
    assert.equal("1234\n", a.stdout)
  end)

  it("take an fs operand's base from the app's fs, in each thread (without FSGSBASE too)", function()
    -- Without FSGSBASE a compiled handler reads the app's fs base from the
    -- thread block (TLS_APP_FS), which each thread's start must set: two
    -- threads read their own __thread word eight times; the addresses the
    -- handler sums are 8 * (the first's word + the second's).
    local src = h.tmpfile([[
#include <pthread.h>
#include <stdio.h>
static volatile __thread long tv = 3;
static void *run(void *arg)
{
  long s = 0;
  for (int i = 0; i < 8; i++) s += tv;
  printf("%lu %ld\n", (unsigned long)&tv, s);
  return arg;
}
int main(void)
{
  pthread_t t;
  run(0);
  pthread_create(&t, 0, run, 0);
  pthread_join(t, 0);
  return 0;
}
]], ".c")
    local exe = tmp .. "/tls8"
    h.gcc(exe, "-O1", "-fno-stack-protector", "-pthread", src)
    os.remove(src)
    local a, b = both(MAIN .. [[
      local sum = lurk.counters(1)
      lurk.on("bb", function(bb)
        if not main(bb) then return end
        for i = 1, #bb do
          local m = bb[i].operands[2]
          -- (tv's loads: fs:-8; &tv is fs:0 plus an offset)
          if bb[i].mnemonic == "mov" and m and m.kind == "mem" and m.seg == "fs" and m.disp ~= 0 then
            bb:call_before(i, function(ctx, ea) sum[1] = sum[1] + ea end, "ea")
          end
        end
      end)
      lurk.on("exit", function() print(("%d"):format(sum[1])) end)]], { "setarch", "-R", exe })
    same(a, b)
    local t1, s1, t2, s2 = a.stdout:match("^(%d+) (%d+)\n(%d+) (%d+)\n$")
    local sum = report(a):match("^(%d+)\n$")
    assert(t1 and sum, a.stdout .. report(a))
    assert.equal("24 24", s1 .. " " .. s2, a.stdout)
    assert.is_not.equal(t1, t2)
    assert.equal(8 * tonumber(t1) + 8 * tonumber(t2), tonumber(sum), a.stdout)
    assert.matches("explain: [^\n]*:%d+: compiled", a.stderr)
    assert.equal(0, stat(a, "clean calls placed"), a.stderr)
  end)

  it("lurk.counters: values, assignment, bad arguments", function()
    local r = h.eval([[
      local c = lurk.counters(3)
      c[1] = c[1] + 5; c[3] = 2^60
      local ok, err = pcall(function() return c[4] end)
      local ok2, err2 = pcall(lurk.counters, 0)
      print(tostring(#c) .. " " .. tostring(c[1]) .. " " .. tostring(c[3]) .. " " .. err .. " " .. err2 .. " " .. tostring(c):match("^lurk.counters%(3%)"))
    ]])
    assert.equal(0, r.status, r.stderr)
    r = r.stderr .. r.stdout
    assert.matches("^3 5 1152921504606846976LL .*counter index 4 out of range 1%.%.3 .*bad argument #1 to '.-' %(at least one counter%) lurk.counters%(3%)", r)
  end)
end)

describe("lurk.perthread", function()
  it("keeps a value per thread, compiled as called", function()
    local a, b = both(MAIN .. [[
      local last, same = lurk.perthread(1), lurk.counters(1)
      local seen = lurk.perthread(64)
      lurk.on("bb", function(bb)
        if not main(bb) then return end
        bb:call_before(1, function(ctx, pc, n)
          if last[1] < pc then same[1] = same[1] + 1 end    -- a block after one before it, per thread
          last[1] = pc
          local k = lurk.low(pc, 6) + 1
          seen[k] = n
        end, "pc", "count")
      end)
      lurk.on("thread_exit", function(e) print("thread", last[1] ~= 0) end)
      lurk.on("exit", function()
        local t = {}
        for i = 1, #seen do t[i] = seen[i] end
        print(same[1], table.concat(t, ","))
      end)]], argv("threads"))
    same(a, b)
    assert.matches("^%d+\t[%d,]+\n", report(a):match("[^\n]*\n$"))
    assert.is_true(tonumber(report(a):match("(%d+)\t[%d,]+\n$")) > 0, report(a))
    assert.matches("explain: [^\n]*:%d+: compiled", a.stderr)
    assert.equal(0, stat(a, "clean calls placed"), a.stderr)
  end)

  it("values, bad arguments", function()
    local r = h.eval([[
      local ok0, err0 = pcall(function() local a = lurk.perthread(2); a[1] = 5 end)
      local once = false
      lurk.on("bb", function()
        if once then return end
        once = true
        local a = lurk.perthread(2)
        a[1] = 7; a[2] = -1
        local ok, err = pcall(function() return a[3] end)
        local ok2, err2 = pcall(function() a[1] = 1.5 end)
        local ok3, err3 = pcall(lurk.perthread, 0)
        print(a[1], tostring(a[2]), #a, tostring(a):match("^lurk.perthread%(2%)"), err, err2, err3, err0)
      end)
    ]])
    assert.equal(0, r.status, r.stderr)
    assert.matches("^7\t18446744073709551615ULL\t2\tlurk.perthread%(2%)\t.*index 3 out of range 1%.%.2\t.*bad argument #3 .*integer expected.*bad argument #1 to '.-' %(at least one cell%)\t.*no thread runs yet", r.stdout .. r.stderr)
  end)
end)

describe("lurk.hash", function()
  -- keys of every kind compiled code makes: pcs, cache lines, values of a
  -- register; many threads, a fork, a table grown many times over
  local HASH = MAIN .. [[
    local pcs, lines, regs, runs = lurk.hash(), lurk.hash(1), lurk.hash(), lurk.hash()
    local ref, lref, rref, uref = {}, {}, {}, {} -- the same counts in Lua tables (handlers always called)
    lurk.on("bb", function(bb)
      if not main(bb) then return end
      bb:call_before(1, function(ctx, pc, n) pcs[pc] = pcs[pc] + n end, "pc", "count")
      bb:call_before(1, function(ctx, pc, n) ref[pc] = (ref[pc] or 0) + n end, "pc", "count")
      -- (an addend known at translation: another path of the compiled code)
      bb:call_before(1, function(ctx, pc) runs[pc] = runs[pc] + 1 end, "pc")
      bb:call_before(1, function(ctx, pc) uref[pc] = (uref[pc] or 0) + 1 end, "pc")
      bb:call_before(1, function(ctx, ecx) local k = band(ecx, 1023); regs[k] = regs[k] + 1 end, "ecx")
      bb:call_before(1, function(ctx, ecx) local k = band(ecx, 1023); rref[k] = (rref[k] or 0) + 1 end, "ecx")
      for i = 1, #bb do
        if bb[i].reads_memory or bb[i].writes_memory then
          bb:call_before(i, function(ctx, ea) local l = lurk.shr(ea, 6); lines[l] = lines[l] + 1 end, "ea")
          bb:call_before(i, function(ctx, ea) local l = lurk.shr(ea, 6); lref[l] = (lref[l] or 0) + 1 end, "ea")
        end
      end
    end)
    local function dump(name, h)
      local t, keys = h.totable and h:totable() or h, {}
      for k in pairs(t) do keys[#keys + 1] = k end
      table.sort(keys)
      local sum = 0
      for i, k in ipairs(keys) do sum = sum + t[k]; keys[i] = ("%x=%d"):format(k, t[k]) end
      print(name, #keys, #keys, sum, table.concat(keys, " "))
      if h.count then assert(h:count() == #keys and #h == #keys) end
    end
    lurk.on("exit", function()
      dump("pcs", pcs); dump("ref", ref); dump("lines", lines); dump("lref", lref); dump("regs", regs); dump("rref", rref)
      dump("runs", runs); dump("uref", uref)
    end)]]

  -- Where the program's own mappings (thread stacks, libraries' buffers)
  -- may move between the two runs (memory lurk maps differs: the called
  -- run's Lua allocates more), and the paths it takes with them, only the
  -- output is compared across runs; within each, exact() compares.
  local function close(a, b)
    assert.equal(0, a.status, a.stderr)
    assert.equal(0, b.status, b.stderr)
    assert.equal(a.stdout, b.stdout)
  end

  -- the four hash handlers are compiled (the Lua tables' are not), in each process
  local function compiled4(r)
    local n = 0
    for _ in r.stderr:gmatch("explain: [^\n]*: compiled") do n = n + 1 end
    assert.is_true(n >= 4 and n % 4 == 0, r.stderr) -- (once a process)
  end

  -- in each process, the hash's counts are the Lua table's
  local function exact(r)
    local n = 0
    for p, q in report(r):gmatch("pcs(\t[^\n]*)\nref(\t[^\n]*)") do assert.equal(q, p); n = n + 1 end
    for p, q in report(r):gmatch("lines(\t[^\n]*)\nlref(\t[^\n]*)") do assert.equal(q, p) end
    for p, q in report(r):gmatch("regs(\t[^\n]*)\nrref(\t[^\n]*)") do assert.equal(q, p) end
    for p, q in report(r):gmatch("runs(\t[^\n]*)\nuref(\t[^\n]*)") do assert.equal(q, p) end
    assert.is_true(n > 0, report(r))
    return n
  end

  for _, mode in ipairs({ "phases", "threads", "fork", "threadfork" }) do
    it("counts as the called handler does (" .. mode .. ")", function()
      local a, b = both(HASH, argv(mode))
      if mode:match("thread") then close(a, b) else same(a, b) end
      assert.equal(mode:match("fork") and 2 or 1, exact(a))
      exact(b)
      assert.matches("pcs\t%d+\t%d+\t%d+\t%x+=%d+", report(a))
      compiled4(a)
      assert.is_true(stat(a, "clean calls inlined") > 0)
    end)
  end

  it("counts pcs and lines of ls -l /usr as the called handler does (ASLR off)", function()
    local a, b = both(HASH:gsub("if not main%(bb%) then return end", ""), { "setarch", "-R", "/bin/ls", "-l", "/usr" })
    close(a, b)
    exact(a)
    exact(b)
    assert.is_true(tonumber(report(a):match("lines\t(%d+)")) > 1000, report(a))
    compiled4(a)
  end)

  it("values, assignment, keys past 2^53, bad arguments", function()
    local r = h.eval([[
      local x = lurk.hash()
      x[5] = x[5] + 3; x[-1] = 7; x[2^60] = 1; x[0] = 0
      local big = require("ffi").new("uint64_t", 0xfedcba9876543210ULL)
      x[big] = x[big] + 2
      local ok, err = pcall(function() return x["a"] end)
      local ok2, err2 = pcall(function() x[1.5] = 1 end)
      local ok3, err3 = pcall(lurk.hash, 0)
      print(x[5], x[-1], x[2^60], x[0], x[big], x[6], x:count(), #x, tostring(x):match("^lurk.hash"), err == nil, err2, err3)
    ]])
    assert.equal(0, r.status, r.stderr)
    assert.matches("^3\t7\t1\t0\t2\t0\t5\t5\tlurk.hash\ttrue\t.*bad argument #2 .*integer key expected.*bad argument #1 to '.-' %(1 to 2%^26 slots%)", r.stdout .. r.stderr)
  end)
end)

-- -- The differential fuzzer ---------------------------------------------------

-- A small PRNG (xorshift) so a seed replays on any Lua.
local function rng(seed)
  local s = seed
  return function(n)
    s = (s * 1103515245 + 12345) % 2147483648
    return s % n + 1
  end
end

local OPS = { "+", "-" }
local function gen_expr(R, depth, params)
  local pick = R(depth > 2 and 3 or 9)
  if pick == 1 then return params[R(#params)]
  elseif pick == 2 then return tostring(R(200) - 100)
  elseif pick == 3 and R(2) == 1 then return ("lurk.low(%s, %d)"):format(params[R(#params)], R(52))
  elseif pick == 3 then return "band(" .. params[R(#params)] .. ", " .. tostring(R(4096) - 1) .. ")"
  elseif pick == 4 then return "(" .. gen_expr(R, depth + 1, params) .. " " .. OPS[R(2)] .. " " .. gen_expr(R, depth + 1, params) .. ")"
  elseif pick == 5 then return "(" .. gen_expr(R, depth + 1, params) .. " * " .. tostring(R(9) - 5) .. ")"
  elseif pick == 6 then
    local f = ({ "band", "bor", "bxor" })[R(3)]
    return f .. "(" .. gen_expr(R, depth + 1, params) .. ", " .. gen_expr(R, depth + 1, params) .. ")"
  elseif pick == 7 then
    local f = ({ "lshift", "rshift", "arshift" })[R(3)]
    return f .. "(" .. gen_expr(R, depth + 1, params) .. ", " .. tostring(R(32) - 1) .. ")"
  elseif pick == 8 then return tostring(R(100000) - 50000)
  elseif pick == 9 and R(2) == 1 then return ("lurk.shr(%s, %d)"):format(params[R(#params)], R(64) - 1)
  else return params[R(#params)] end
end

local function gen_stmt(R, depth, params, nup)
  local pick = R(depth > 1 and 3 or 5)
  local e = gen_expr(R, 0, params)
  if pick == 1 then
    local u = R(nup)
    return ("u%d = u%d + band(%s, 4095)"):format(u, u, e)
  elseif pick == 2 and R(3) == 1 then
    return ("do local j = %s; hh[j] = hh[j] + band(%s, 255) end"):format(e, gen_expr(R, 0, params))
  elseif pick == 2 and R(2) == 1 then
    -- lurk.perthread: a value stored by one call read back by a later one
    return ("do local j = band(%s, 7) + 1; local o = pt[j]; pt[j] = band(%s, 1023); local k = lurk.low(o, 6) + 1; c[k] = c[k] + 1 end")
      :format(e, gen_expr(R, 0, params))
  elseif pick == 2 then
    return ("do local j = band(%s, 63) + 1; c[j] = c[j] + band(%s, 255) end"):format(e, gen_expr(R, 0, params))
  elseif pick == 3 then
    local u = R(nup)
    return ("u%d = u%d - band(%s, 255)"):format(u, u, e)
  elseif pick == 4 then
    local cmp = ({ "<", "<=", ">", ">=", "==", "~=" })[R(6)]
    local e2 = gen_expr(R, 0, params)
    if R(2) == 1 then e, e2 = "band(" .. e .. ", 3)", "band(" .. e2 .. ", 3)" end -- often equal
    local cond = ("%s %s %s"):format(e, cmp, e2)
    if R(3) == 1 then cond = "not (" .. cond .. ")" end -- LuaJIT's ISLT/ISLE come from these
    return ("if %s then %s else %s end"):format(cond, gen_stmt(R, depth + 1, params, nup),
      gen_stmt(R, depth + 1, params, nup))
  else
    return ("if band(%s, 7) == %d then return end"):format(e, R(8) - 1)
  end
end

-- A script of n handlers, each given (pc, count, ecx) or (ea, size, ecx).
local function gen_script(seed, n)
  local R = rng(seed)
  local nup = 8
  local t = { MAIN, "local c = lurk.counters(64)", "local hh = lurk.hash(16)", "local pt = lurk.perthread(8)" }
  for i = 1, nup do t[#t + 1] = ("local u%d = 0"):format(i) end
  t[#t + 1] = "local H, M = {}, {}"
  for i = 1, n do
    local mem = R(3) == 1
    local params = mem and { "ea", "size", "ecx" } or { "pc", "cnt", "ecx" }
    local body = {}
    if R(3) == 1 then
      -- outside the subset before any effect: compiled up to there, then the
      -- handler is called (and reads ctx, which only the call can)
      local u = R(nup)
      body[1] = ("if band(%s, 3) == %d then u%d = u%d + ctx.rsp %% 7 + ctx.rbx %% 5 end"):format(gen_expr(R, 0, params), R(4) - 1, u, u)
    end
    for _ = 1, R(4) do body[#body + 1] = gen_stmt(R, 0, params, nup) end
    t[#t + 1] = ("%s[#%s + 1] = function(ctx, %s) %s end"):format(mem and "M" or "H", mem and "M" or "H",
      table.concat(params, ", "), table.concat(body, "; "))
  end
  t[#t + 1] = [[
lurk.on("bb", function(bb)
  if not main(bb) then return end
  for i = 1, #bb do
    local ins = bb[i]
    local k = (bb.pc + i) % 7919
    for t = 0, 2 do
      if #H > 0 then bb:call_before(i, H[(k + 61 * t) % #H + 1], "pc", "count", "ecx") end
    end
    if #M > 0 and ins.mnemonic == "mov" and ins.operands[2].kind == "mem" then
      bb:call_before(i, M[k % #M + 1], "ea", "size", "ecx")
    end
  end
end)
lurk.on("exit", function()
  print(]] .. (function() local u = {} for i = 1, nup do u[i] = "u" .. i end return table.concat(u, ", ") end)() .. [[)
  print(table.concat(c:totable(), ","))
  local ht, keys = hh:totable(), {}
  for k in pairs(ht) do keys[#keys + 1] = k end
  table.sort(keys)
  for i, k in ipairs(keys) do keys[i] = ("%d:%s"):format(k, tostring(ht[k])) end
  print(hh:count(), table.concat(keys, ","))
  local p = {}
  for i = 1, 8 do p[i] = tostring(pt[i]) end
  print(table.concat(p, ","))
end)]]
  return table.concat(t, "\n")
end

describe("the handler compiler's differential fuzzer", function()
  local seed0 = tonumber(os.getenv("LURK_HC_SEED") or "") or os.time()
  local runs = tonumber(os.getenv("LURK_HC_RUNS") or "") or 35
  local per = 250
  it(("generated handlers (%d runs of %d, seed %d) give the same results compiled and called"):format(runs, per, seed0), function()
    local compiled, total = 0, 0
    -- LURK_HC_SECONDS=N: a long run, as many runs as fit in N seconds
    local deadline = tonumber(os.getenv("LURK_HC_SECONDS") or "")
    if deadline then runs, deadline = math.huge, os.time() + deadline end
    local done = 0
    for run = 0, runs - 1 do
      if deadline and os.time() >= deadline then break end
      done = done + 1
      local seed = seed0 + run
      local code = gen_script(seed, per)
      -- (--preload: from the first instruction the libraries' addresses,
      -- which generated handlers may key on, depend on the memory lurk
      -- mapped before ld.so ran, which differs between the two runs)
      local a, b, path = both(code, argv("phases"), nil, { "--preload" })
      local ctx = ("seed %d (LURK_HC_SEED=%d LURK_HC_RUNS=1 replays it; script %s)"):format(seed, seed, path)
      assert.equal(0, a.status, ctx .. "\n" .. a.stderr)
      assert.equal(0, b.status, ctx .. "\n" .. b.stderr)
      assert.equal(report(b), report(a), ctx)
      assert.equal(b.stdout, a.stdout, ctx)
      for _ in a.stderr:gmatch("explain: [^\n]*: compiled") do compiled = compiled + 1 end
      for _ in a.stderr:gmatch("explain: [^\n]*") do total = total + 1 end
    end
    -- most generated handlers are in the subset; some exceed 2^53 on purpose
    print(("\n  fuzzer: %d runs, %d handlers generated, %d handler definitions placed, %d compiled, 0 mismatches")
      :format(done, done * per, total, compiled))
    assert.is_true(compiled > total / 2, ("only %d of %d compiled"):format(compiled, total))
  end)
end)
