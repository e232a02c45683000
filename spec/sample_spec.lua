-- Sampling: lurk.sampling(hz) and the `sample` event (engine/prof.c).
-- Counts are of samples over CPU time, so they do not depend on how busy
-- the machine is; the assertions leave wide margins.
local h = require "spec.util.helper"

local tmp = h.tmpdir()
local prog = tmp .. "/sample_prog"
h.gcc(prog, "-O1", "-pthread", h.root .. "/spec/lua/sample_prog.c")

-- hot()'s offset and size in the (PIE) executable, from nm.
local hot_off, hot_size = h.capture("nm -S " .. prog):match("(%x+) (%x+) T hot\n")
hot_off, hot_size = tonumber(hot_off, 16), tonumber(hot_size, 16)

-- Counts samples: total, in hot(), per thread; printed at exit per process.
local COUNT = ([[
  local SOURCE = ... or "perf"
  local off, size = %d, %d
  local n, inhot, tids = 0, 0, {}
  assert(lurk.sampling(1000, SOURCE) == 1000)
  lurk.on("sample", function(e)
    n = n + 1
    tids[e.tid] = true
    assert(e.sp > 0 and e.event == "sample")
    local m = lurk.module_at(e.pc)
    if m and m.main and e.pc - m.base >= off and e.pc - m.base < off + size then inhot = inhot + 1 end
  end)
  lurk.on("exit", function()
    local nt = 0
    for _ in pairs(tids) do nt = nt + 1 end
    print(string.format("pid %%d samples %%d hot %%d threads %%d", lurk.pid(), n, inhot, nt))
  end)]]):format(hot_off, hot_size)

local function counts(stderr)
  local t = {}
  for pid, n, hot, nt in stderr:gmatch("pid (%d+) samples (%d+) hot (%d+) threads (%d+)") do
    t[#t + 1] = { pid = tonumber(pid), n = tonumber(n), hot = tonumber(hot), threads = tonumber(nt) }
  end
  return t
end

describe("sampling", function()
  it("samples the thread where it spends its CPU time, about hz times a CPU second", function()
    local r = h.run({ "-e", COUNT, "--", prog })
    assert.equal(0, r.status)
    assert.equal("done\n", r.stdout)
    local c = counts(r.stderr)[1]
    -- ~0.3 s of CPU natively: about 300 samples at 1 kHz (more under lurk)
    assert.is_true(c.n >= 100, r.stderr)
    assert.is_true(c.hot >= 0.8 * c.n, r.stderr)
  end)

  it("falls back on POSIX CPU-time timers, bound to the scheduler tick", function()
    local f = tmp .. "/count.lua"
    local fh = assert(io.open(f, "w"))
    fh:write(COUNT)
    fh:close()
    local r = h.run({ f, "timer", "--", prog })
    assert.equal(0, r.status)
    assert.equal("done\n", r.stdout)
    local c = counts(r.stderr)[1]
    -- 0.3 s of CPU at CONFIG_HZ 100..1000: at least 25 samples
    assert.is_true(c.n >= 25, r.stderr)
    assert.is_true(c.hot >= 0.8 * c.n, r.stderr)
  end)

  it("samples every thread, each on itself", function()
    local r = h.run({ "-e", COUNT, "--", prog, "threads" })
    assert.equal(0, r.status)
    assert.equal("threads done\n", r.stdout)
    local c = counts(r.stderr)[1]
    assert.is_true(c.threads >= 4, r.stderr)
    assert.is_true(c.hot >= 0.8 * c.n, r.stderr)
  end)

  it("goes on in a forked child, which gets its own timer", function()
    local r = h.run({ "-e", COUNT, "--", prog, "fork" })
    assert.equal(0, r.status)
    assert.equal(h.capture(prog .. " fork"), r.stdout)
    local c = counts(r.stderr)
    assert.equal(2, #c, r.stderr)
    assert.are_not.equal(c[1].pid, c[2].pid)
    for _, x in ipairs(c) do assert.is_true(x.hot >= 30, r.stderr) end
  end)

  it("leaves the program's own SIGRTMAX to the program, handled or ignored", function()
    for _, mode in ipairs({ "rtsig", "ignore" }) do
      local r = h.run({ "-e", COUNT, "--", prog, mode })
      assert.equal(0, r.status)
      assert.equal(h.capture(prog .. " " .. mode), r.stdout)
      assert.is_true(counts(r.stderr)[1].n >= 100, r.stderr)
    end
  end)

  it("stops at lurk.sampling(0); lurk.sampling() gives the rate", function()
    local r = h.run({ "-e", [[
      local n = 0
      lurk.sampling(500)
      print((lurk.sampling()))
      lurk.on("sample", function() n = n + 1; lurk.sampling(0) end)
      lurk.on("exit", function() print(n, (lurk.sampling())) end)]], "--", prog })
    assert.equal(0, r.status)
    assert.equal("500\n1\t0\n", r.stderr)
  end)

  it("checks its argument", function()
    for _, bad in ipairs({ "-1", "0.5", "1e9", "'x'" }) do
      local r = h.run({ "-e", "lurk.sampling(" .. bad .. ")", "--", "/bin/true" })
      assert.equal(1, r.status)
      assert.matches("bad argument #1 to 'sampling'", r.stderr)
    end
  end)

  it("samples python3 without changing what it prints", function()
    local code = "import json; print(len(json.dumps([list(range(i)) for i in range(1500)])))"
    local r = h.run({ "-e", [[
      local n, py = 0, 0
      lurk.sampling(1000)
      lurk.on("sample", function(e)
        n = n + 1
        local m = lurk.module_at(e.pc)
        if m and (m.main or m.name:match("python")) then py = py + 1 end
      end)
      lurk.on("exit", function() local _, dropped = lurk.sampling() print(n > 0, py > 0, dropped > 0) end)]],
      "--", "/usr/bin/python3", "-c", code })
    assert.equal(0, r.status)
    assert.equal(h.capture("/usr/bin/python3 -c " .. h.quote(code)), r.stdout)
    -- python3 under lurk spends a good share of its time in lurk's lookup
    -- routines (its indirect branches): ticks there are dropped, and counted
    assert.equal("true\ttrue\ttrue\n", r.stderr)
  end)
end)

teardown(function() os.execute("rm -rf " .. tmp) end)
