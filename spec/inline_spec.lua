-- Inlined clean calls (bindings/lb_inl.c): a handler that only adds
-- translation-time values to its upvalues is not called; the block adds
-- to a per-thread counter that is folded into the upvalue before any Lua
-- runs. Every case compares with the same script under --no-inline, where
-- each call is made, and checks with --stats that inlining did (or did
-- not) happen.
local h = require "spec.util.helper"

local tmp = h.tmpdir()
local prog = tmp .. "/inl_prog"
h.gcc(prog, "-O1", "-pthread", h.root .. "/spec/lua/inl_prog.c")

-- Run code on prog with args, inlined and not; returns both results.
local function both(code, args, opts)
  local function go(extra)
    local a = { "--stats" }
    if extra then a[#a + 1] = extra end
    a[#a + 1] = "-e"
    a[#a + 1] = code
    a[#a + 1] = "--"
    a[#a + 1] = prog
    for _, w in ipairs(args or {}) do a[#a + 1] = w end
    return h.run(a, opts)
  end
  return go(nil), go("--no-inline")
end

-- Sum of a --stats counter over every process in the output.
local function stat(r, name)
  local n = 0
  for v in r.stderr:gmatch("lurk:   " .. name .. " +(%d+)") do n = n + tonumber(v) end
  return n
end

-- The output without the --stats lines.
local function out(r) return (r.stderr:gsub("lurk: stats for pid[^\n]*\n", ""):gsub("lurk:   [^\n]*\n", "")) end

-- Blocks of the main executable only: the same on every run.
local MAIN = [[
local function main(bb) local m = lurk.module_at(bb.pc) return m and m.main end
]]

local function same(a, b)
  assert.equal(0, a.status, a.stderr)
  assert.equal(0, b.status, b.stderr)
  assert.equal(a.stdout, b.stdout)
  assert.equal(out(b), out(a))
end

describe("inlined clean calls", function()
  it("count exactly what the called handler counts, and Lua sees the value at every event", function()
    local a, b = both(MAIN .. [[
      local n = 0
      local function count(ctx, k) n = n + k end
      lurk.on("bb", function(bb) if main(bb) then bb:call_before(1, count, "count") end end)
      lurk.on("syscall_pre", function(e) if e.name == "write" then print("write after", n) end end)
      lurk.on("exit", function() print("total", n) end)]], { "phases" })
    same(a, b)
    assert.matches("write after\t%d+\n.*total\t%d+\n", out(a))
    assert.is_true(stat(a, "clean calls inlined") > 0)
    assert.equal(0, stat(a, "clean calls placed"))
    assert.equal(0, stat(b, "clean calls inlined"))
    assert.is_true(stat(b, "clean calls placed") > 0)
  end)

  it("are folded in before a handler that is called reads the upvalue", function()
    local a, b = both(MAIN .. [[
      local n, seen, calls = 0, 0, 0
      local function count(ctx, k) n = n + k end
      local function look(ctx) seen = n; calls = calls + 1 end -- not inlinable (no addend)
      lurk.on("bb", function(bb)
        if main(bb) then bb:call_before(1, count, "count"); bb:call_before(#bb, look) end
      end)
      lurk.on("exit", function() print(n, seen, calls) end)]], { "phases" })
    same(a, b)
    assert.is_true(stat(a, "clean calls inlined") > 0)
    assert.is_true(stat(a, "clean calls placed") > 0)
  end)

  it("handle subtraction, constants on either side and several statements", function()
    local a, b = both(MAIN .. [[
      local x, y, z, w, v = 0, 0, 0, 0, 1e6
      local function f(ctx, c, s, m) x = x + m; y = y - 2; z = 3 + z; w = c + w; v = v - s end
      lurk.on("bb", function(bb)
        if not main(bb) then return end
        for i, ins in ipairs(bb) do bb:call_before(i, f, "count", 7, ins.reads_memory and "size" or 0) end
      end)
      lurk.on("exit", function() print(x, y, z, w, v) end)]], { "phases" })
    same(a, b)
    assert.equal(0, stat(a, "clean calls placed"))
    assert.is_true(stat(a, "clean calls inlined") > 0)
  end)

  it("call a handler whose addend is above 2^16 (a pc) instead", function()
    local a, b = both(MAIN .. [[
      local x, y = 0, 0
      local function f(ctx, v) x = x + v end
      lurk.on("bb", function(bb)
        if main(bb) then bb:call_before(1, f, "pc"); bb:call_before(1, f, 65536); bb:call_before(1, f, -65537) end
      end)
      lurk.on("exit", function() print(string.format("%.0f", x)) end)]], { "phases" },
      { env = "setarch -R" }) -- the same pcs in both runs
    same(a, b)
    -- 65536 is inlined; the pc and -65537 are called
    assert.equal(stat(a, "clean calls inlined"), stat(a, "clean calls placed") / 2)
  end)

  it("are summed across threads", function()
    local a, b = both(MAIN .. [[
      local n, t = 0, 0
      local function count(ctx, k) n = n + k; t = t + 1 end
      lurk.on("bb", function(bb) if main(bb) then bb:call_before(1, count, "count") end end)
      lurk.on("exit", function() print(n, t) end)]], { "threads" })
    same(a, b)
    assert.is_true(stat(a, "clean calls inlined") > 0)
  end)

  it("go with a forked child: each process counts its own", function()
    local a, b = both(MAIN .. [[
      local n = 0
      local function count(ctx, k) n = n + k end
      local me = lurk.pid()
      lurk.on("bb", function(bb) if main(bb) then bb:call_before(1, count, "count") end end)
      lurk.on("exit", function() print(lurk.pid() == me and "parent" or "child", n) end)]], { "fork" })
    same(a, b)
    assert.matches("child\t%d+\n", out(a))
    assert.matches("parent\t%d+\n", out(a))
  end)

  it("turn an empty handler into nothing", function()
    local a, b = both([[
      local function f(ctx) end
      lurk.on("bb", function(bb) bb:call_before(1, f) end)]], { "phases" })
    same(a, b)
    assert.equal("phase\nphase\nphase\nphase\n", a.stdout)
    assert.is_true(stat(a, "clean calls inlined") > 0)
    assert.equal(0, stat(a, "clean calls placed"))
  end)

  it("are not made of handlers that do anything else", function()
    for _, f in ipairs({
      "local t = {0} local function f(ctx, k) t[1] = t[1] + k end",     -- table
      "local n = 0 local function f(ctx, k) n = n + 0.5 end",           -- not an integer
      "local n = 0 local function f(ctx, k) n = n + ctx.rax end",       -- the context
      "n = 0 local function f(ctx, k) n = n + k end",                   -- a global
      "local n = 0 local function f(ctx, k) n = n + k return 1 end",    -- returns a value
    }) do
      local code = MAIN .. f .. [[
        lurk.on("bb", function(bb) if main(bb) then bb:call_before(1, f, "count") end end)]]
      local a = both(code, { "phases" })
      assert.equal(0, a.status, a.stderr)
      assert.equal(0, stat(a, "clean calls inlined"), f)
      assert.is_true(stat(a, "clean calls placed") > 0, f)
    end
    -- an argument known only at run time: called
    local a = both(MAIN .. [[
      local n = 0 local function f(ctx, k) n = n + k end
      lurk.on("bb", function(bb) if main(bb) then bb:call_before(1, f, "rsp") end end)]], { "phases" })
    assert.equal(0, a.status, a.stderr)
    assert.equal(0, stat(a, "clean calls inlined"))
  end)

  it("keep every register and flag of a real program instrumented at each instruction", function()
    local code = [[
      local n = 0
      local function f(ctx, c) n = n + c end
      lurk.on("bb", function(bb) for i = 1, #bb do bb:call_before(i, f, i) end end)]]
    local native = h.capture("/usr/bin/sort -n /etc/services 2>&1 | md5sum")
    local r = h.run({ "--stats", "-e", code, "--", "sh", "-c", "/usr/bin/sort -n /etc/services | md5sum" })
    assert.equal(0, r.status, r.stderr)
    assert.equal(native, r.stdout)
    assert.equal(0, stat(r, "clean calls placed"))
  end)

  -- n handlers, each adding to its own k upvalues (k statements, k slots),
  -- placed in turn, r to an instruction (at most 400 / k to a block, under the
  -- translator's limit of records a block); a
  -- called handler at the end of each block reads one of them (in turn)
  -- through a closure, so every real call needs the counters folded in.
  -- With threads, blocks are translated in an order that depends on the
  -- schedule: handlers are then placed by the block's offset in the
  -- executable, and what the reader sees is not printed;
  -- at exit every upvalue is printed.
  local function many(n, r, k, threads)
    return MAIN .. ([[
      local N, R, K, THREADS = %d, %d, %d, %s
      local names, adds = {}, {}
      for j = 1, K do names[j] = "c" .. j; adds[j] = ("c%%d = c%%d + k"):format(j, j) end
      local mk = load(("local %%s = %%s return function(ctx, k) %%s end, function() return %%s end")
        :format(table.concat(names, ", "), ("0, "):rep(K - 1) .. "0", table.concat(adds, "; "),
                table.concat(names, " + ")))
      local cs, fs = {}, {}
      for i = 1, N do fs[i], cs[i] = mk() end
      local nxt, looks, seen, sites, placed = 0, 0, 0, 0, {}
      local function look(ctx) looks = looks + 1; seen = seen + cs[looks %% N + 1]() end
      lurk.on("bb", function(bb)
        if not main(bb) then return end
        local r = math.min(R, math.floor(400 / K / #bb))
        for i = 1, #bb do
          for j = 1, r do
            if THREADS then nxt = ((bb.pc - lurk.module_at(bb.pc).base) * 16 + i) * R + j end
            nxt = nxt %% N + 1
            placed[nxt] = true
            bb:call_before(i, fs[nxt], "count")
          end
        end
        bb:call_before(#bb, look)
        sites = sites + 1
      end)
      lurk.on("exit", function()
        local t, np = {}, 0
        for i = 1, N do t[i] = cs[i](); np = np + (placed[i] and 1 or 0) end
        print(table.concat(t, " "))
        if not THREADS then print("looks", looks, "seen", seen) end
        print("sites", sites, "handlers placed", np)
      end)]]):format(n, r, k, tostring(threads or false))
  end

  it("with 1,000 handlers count exactly what the calls count, folded in before each real call", function()
    local a, b = both(many(1000, 8, 1), { "phases" })
    same(a, b)
    local sites, np = out(a):match("sites\t(%d+)\thandlers placed\t(%d+)")
    assert.equal("1000", np) -- every handler is in use
    assert.matches("looks\t[1-9]%d*\tseen\t[1-9]", out(a))
    -- every counting handler is inlined: only the readers are called
    assert.equal(tonumber(sites), stat(a, "clean calls placed"))
    assert.is_true(stat(a, "clean calls inlined") >= 1000)
  end)

  it("with 1,000 handlers are summed across threads", function()
    local a, b = both(many(1000, 8, 1, true), { "threads" })
    same(a, b)
    assert.is_true(stat(a, "clean calls inlined") >= 1000)
  end)

  it("call the handlers past the last counter slot (8192), and count the same", function()
    local a, b = both(many(1100, 50, 8), { "phases" }) -- 8,800 statements
    same(a, b)
    local sites, np = out(a):match("sites\t(%d+)\thandlers placed\t(%d+)")
    assert.equal("1100", np)
    assert.is_true(stat(a, "clean calls inlined") >= 1024)
    assert.is_true(stat(a, "clean calls placed") > tonumber(sites)) -- some counting ones too
  end)

  it("report an upvalue that is not a number when it is folded in, as the call would fail", function()
    local code = MAIN .. [[
      local n
      local function count(ctx, k) n = n + k end
      lurk.on("bb", function(bb) if main(bb) then bb:call_before(1, count, "count") end end)]]
    local a, b = both(code, { "phases" })
    assert.equal(1, a.status)
    assert.matches("error in a clean call: %(command line%):3: upvalue 'n' is not a number", a.stderr)
    assert.equal(1, b.status)
    assert.matches("attempt to perform arithmetic on upvalue 'n'", b.stderr)
  end)
end)

teardown(function() os.execute("rm -rf " .. tmp) end)
