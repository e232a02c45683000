-- The `signal` event: observe every signal delivered, suppress an
-- asynchronous one, never a fault.
local h = require "spec.util.helper"

local sh = h.sh
local tmp = h.tmpdir()
local prog = tmp .. "/signal_ev"
h.gcc(prog, "-O1", h.root .. "/spec/lua/signal_ev.c")

local OBSERVE = [[
  lurk.on("signal", function(e)
    print(e.event, e.signal, e.code, e.action, e.sync, e.tid == lurk.tid(), e.addr,
          lurk.module_at(e.pc) ~= nil)
  end)]]

describe("signal event", function()
  it("is raised for each signal delivered, with its fields", function()
    local r = h.run({ "-e", OBSERVE, "--", prog })
    assert.equal(0, r.status)
    assert.equal("usr1 5\nsegv caught\n", r.stdout)
    -- raise() sends with SI_TKILL (-6); the write to address 8 is SEGV_MAPERR (1)
    assert.equal(string.rep("signal\t10\t-6\thandler\tfalse\ttrue\tnil\ttrue\n", 5) ..
                 "signal\t11\t1\thandler\ttrue\ttrue\t8\ttrue\n", r.stderr)
  end)

  it("suppresses an asynchronous signal: the program's handler does not run", function()
    local r = h.run({ "-e", [[
      local n = 0
      lurk.on("signal", function(e) if e.signal == 10 then n = n + 1 if n % 2 == 0 then e:suppress() end end end)]],
      "--", prog })
    assert.equal(0, r.status)
    assert.equal("usr1 3\nsegv caught\n", r.stdout)
  end)

  it("refuses to suppress a fault, which is delivered as usual", function()
    local r = h.run({ "-e", [[
      lurk.on("signal", function(e) if e.sync then print(pcall(e.suppress, e)) end end)]], "--", prog })
    assert.equal(0, r.status)
    assert.equal("usr1 5\nsegv caught\n", r.stdout)
    assert.equal("false\ta fault cannot be suppressed (the instruction would fault again)\n", r.stderr)
  end)

  it("is raised before a default action ends the program, whose status stays native", function()
    local r = h.run({ "-e", OBSERVE, "--", prog, "t" })
    assert.equal(128 + 15, r.status)
    assert.equal("usr1 5\nsegv caught\n", r.stdout)
    assert.matches("signal\t15\t%-6\tdefault\tfalse\ttrue\tnil\ttrue\n$", r.stderr)
  end)
end)

teardown(function() os.execute("rm -rf " .. tmp) end)
