-- The event registry: lurk.on / lurk.off, drmgr-style ordering, errors.
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"

describe("lurk.on", function()
  it("runs init after every script's top level, before the program", function()
    local r = h.run{ "-e", "lurk.on('init', function(e) print('init', e.event) end) print('top1')",
                     "-e", "print('top2')", "--", "/bin/echo", "app" }
    assert.equal(0, r.status)
    assert.equal("app\n", r.stdout)
    assert.equal("top1\ntop2\ninit\tinit\n", r.stderr)
  end)

  it("orders handlers by priority (lower first), then registration", function()
    local r = h.run{ "-t", S .. "order.lua=a,0", "-t", S .. "order.lua=b,-5", "-t", S .. "order.lua=c,0",
                     "-t", S .. "order.lua=d,10", "-e", "lurk.on('init', function() os.exit(5) end, {priority=1e9})",
                     "--", "/bin/true" }
    assert.equal(5, r.status)
    assert.equal("init\tb\tinit\ninit\ta\tinit\ninit\tc\tinit\ninit\td\tinit\n" ..
                 "exit\tb\t5\nexit\ta\t5\nexit\tc\t5\nexit\td\t5\n", r.stderr)
  end)

  it("orders bb handlers by stage first (app2app, analysis, insertion, cleanup)", function()
    -- bb is raised by the translator; the order is visible through the
    -- registry's snapshot that debug.getregistry exposes.
    local r = h.eval([[
      local names = {}
      local function reg(name, opts) local f = function() end names[f] = name lurk.on("bb", f, opts) end
      reg("ins0") reg("cleanup", { stage = "cleanup" }) reg("a2a", { stage = "app2app", priority = 50 })
      reg("ana-1", { stage = "analysis", priority = -1 }) reg("ins-1", { priority = -1 })
      reg("ana", { stage = "analysis" })
      local fns = debug.getregistry()["lurk.handler_fns"][5]
      local t = {} for i, f in ipairs(fns) do t[i] = names[f] end print(table.concat(t, " "))]])
    assert.equal(0, r.status)
    assert.equal("a2a ana-1 ana ins-1 ins0 cleanup\n", r.stderr)
  end)

  it("lurk.off removes one registration and says whether it found one", function()
    local r = h.eval([[local f = function() print("f") end
      lurk.on("init", f) lurk.on("init", f) print(lurk.off("init", f), lurk.off("init", f), lurk.off("init", f))
      lurk.on("init", f) lurk.on("init", function() print("g") lurk.off("init", f) end, {priority=-1})]])
    assert.equal(0, r.status)
    -- the handler list is a snapshot: f, removed by g while init is raised, still runs this time
    assert.equal("true\ttrue\tfalse\ng\nf\n", r.stderr)
  end)

  it("checks its arguments", function()
    local r = h.eval([[
      local function try(...) local ok, e = pcall(...) print(e) end
      try(lurk.on, "nope", print)
      try(lurk.on, "init", 5)
      try(lurk.on, "init", print, 5)
      try(lurk.on, "init", print, { stage = "analysis" })
      try(lurk.on, "bb", print, { stage = "later" })
      try(lurk.on, "bb", print, { prio = 1 })
      try(lurk.on, "bb", print, { priority = "high" })
      try(lurk.off, "nope", print)]])
    assert.equal(0, r.status)
    assert.equal("bad argument #1 to '?' (unknown event 'nope')\n" ..
                 "bad argument #2 to '?' (function expected, got number)\n" ..
                 "bad argument #3 to '?' (table expected, got number)\n" ..
                 "bad argument #3 to '?' (only 'bb' handlers have a stage)\n" ..
                 "bad argument #3 to '?' (unknown stage 'later')\n" ..
                 "bad argument #3 to '?' (unknown option 'prio')\n" ..
                 "bad argument #3 to '?' (priority must be a number)\n" ..
                 "bad argument #1 to '?' (unknown event 'nope')\n", r.stderr)
  end)

  it("names the function in errors when called directly", function()
    local r = h.eval("lurk.on('x', print)")
    assert.equal(1, r.status)
    assert.matches("^lurk: %(command line%):1: bad argument #1 to 'on' %(unknown event 'x'%)\n", r.stderr)
  end)

  it("lists the events and stages", function()
    local r = h.eval("print(table.concat(lurk.events, ' ')) print(table.concat(lurk.stages, ' '))")
    assert.equal("init exit thread_init thread_exit bb module_load module_unload syscall_pre " ..
                 "syscall_post signal fork exec sample entry\napp2app analysis insertion cleanup\n", r.stderr)
  end)

  it("stops the run with file:line and a traceback when a handler fails", function()
    local r = h.run{ "-e", "local function f() error('in handler') end\nlurk.on('init', function() f() end)",
                     "--", "/bin/echo", "ran" }
    assert.equal(1, r.status)
    assert.equal("", r.stdout)
    assert.matches("^lurk: error in a 'init' handler: %(command line%):1: in handler\nstack traceback:\n", r.stderr)
    assert.matches("%(command line%):2: in function <%(command line%):2>", r.stderr)
  end)

  it("gives each thread a data table", function()
    local r = h.eval("local d = lurk.thread_data() d.x = 1 print(lurk.thread_data().x, lurk.thread_data(lurk.tid()) == d, lurk.tid() == lurk.pid())")
    assert.equal("1\ttrue\ttrue\n", r.stderr)
  end)

  it("raises exit when the program exits", function()
    local r = h.eval("lurk.on('exit', function(e) print('exit', e.status) end)", { "/bin/sh", "-c", "exit 3" })
    assert.equal(3, r.status)
    assert.equal("exit\t3\n", r.stderr)
  end)
end)

describe("lurk.stats", function()
  it("counts engine lock contention: a thread waits while another's handler holds the Lua lock", function()
    local prog = h.tmpdir() .. "/lockwait"
    h.gcc(prog, S .. "lockwait.c", "-O2", "-pthread")
    -- the first handler holds the Lua lock until the other thread sleeps on
    -- it (20 s at most); the second returns at once
    local code = [[
      local before, n = nil, 0
      lurk.on("syscall_pre", function(e)
        n = n + 1
        if n > 1 then return end
        before = lurk.stats()
        local t0 = os.time()
        repeat until lurk.stats().lock_sleeps > before.lock_sleeps or os.time() - t0 > 20
      end, { only = { "getppid" } })
      lurk.on("exit", function()
        local s = lurk.stats()
        print(n, s.lock_contended - before.lock_contended > 0, s.lock_sleeps - before.lock_sleeps > 0)
      end)
    ]]
    local r = h.run{ "-e", code, "--", prog }
    assert.equal(0, r.status, r.stderr)
    assert.equal("done\n", r.stdout)
    assert.equal("2\ttrue\ttrue\n", r.stderr)
  end)
end)
