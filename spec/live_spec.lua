-- Live control beyond the channel itself: lurk.flush, hot reload (%reload,
-- --watch, lurk.keep), lurk.stop/lurk.cont, detach. Targets: spec/lua/live_prog.c
-- (4 spinning threads; 8 threads in compute, read, futex and nanosleep).
local h = require "spec.util.helper"

local tmp = h.tmpdir()
local prog = tmp .. "/live_prog"
h.gcc(prog, "-O1", "-pthread", h.root .. "/spec/lua/live_prog.c")
local uid = h.capture("id -u"):gsub("%s", "")
-- the interpreter itself (python3 may be a shell script that execs it)
local py = h.capture("python3 -c 'import sys; print(sys.executable)'"):gsub("%s", "")

-- Start `lurk run --ctl [LURKARGS] -- ARGS` in the background; returns its
-- pid once the socket exists, and the files its output goes to.
local function start(args, lurkargs)
  local cmd = h.quote(h.lurk) .. " run --ctl " .. (lurkargs or "") .. " -- " .. args
  local t = h.background(tmp, cmd, function(pid)
    return h.sh(("test -S /tmp/lurk-%s/%d"):format(uid, pid)) == 0
  end, "no control channel appeared for " .. args)
  -- a failed case must not leave the target spinning
  finally(function() h.sh(("kill -9 %d 2>/dev/null"):format(t.pid)) end)
  return t
end

local finish = h.finish
local function nudge(pid, code) return h.nudge(tmp, pid, code) end

-- Nudge code until its printed result satisfies pred (at most ~10 s).
local function until_(pid, code, pred)
  local out
  for _ = 1, 500 do
    local st
    st, out = nudge(pid, code)
    assert.equal(0, st)
    if pred(out) then return out end
    h.sh("sleep 0.02")
  end
  error("never satisfied: " .. code .. " -> " .. tostring(out))
end

-- Counting calls at spin_step's first instruction, per thread.
local count_code = [[
  seen = {}
  local s = lurk.addr("spin_step")
  lurk.on("bb", function(bb)
    if bb.pc == s then bb:call_before(1, function(ctx) seen[ctx.tid] = (seen[ctx.tid] or 0) + 1 end) end
  end)]]
local nseen = "local k = 0; for _ in pairs(seen) do k = k + 1 end; return k"

describe("lurk.flush", function()
  it("retranslates a loop that 4 threads are running, so a handler added later counts in each", function()
    local go = tmp .. "/go1"
    local t = start(prog .. " spin " .. go)
    -- the loop has run (spin_step's block exists) before the handler is registered
    until_(t.pid, "return lurk.stats().blocks > 0 and #lurk.threads()", function(o) return o == "5\n" end)
    assert.equal(0, (nudge(t.pid, count_code)))
    -- without a flush the threads stay in the old blocks: nothing is counted
    local _, out = nudge(t.pid, nseen)
    assert.equal("0\n", out)
    local _, before = nudge(t.pid, "return lurk.stats().flushed_blocks")
    assert.equal(0, (nudge(t.pid, "lurk.flush()")))
    local _, after = nudge(t.pid, "return lurk.stats().flushed_blocks")
    assert.is_true(tonumber(after) > tonumber(before))
    -- every spinning thread leaves the old code and counts in the new
    until_(t.pid, nseen, function(o) return o == "4\n" end)
    h.sh("touch " .. go)
    local status, pout, perr = finish(t)
    assert.equal(0, status)
    assert.equal("spin ok\n", pout)
    assert.equal("", perr)
  end)

  it("takes a range or a module, and is deferred inside a bb handler", function()
    local go = tmp .. "/go2"
    local t = start(prog .. " spin " .. go)
    until_(t.pid, "return #lurk.threads()", function(o) return o == "5\n" end)
    assert.equal(0, (nudge(t.pid, count_code)))
    -- a range that misses spin_step changes nothing for it
    assert.equal(0, (nudge(t.pid, "local s = lurk.addr('spin_step'); lurk.flush(s + 4096, s + 8192)")))
    local _, out = nudge(t.pid, nseen)
    assert.equal("0\n", out)
    assert.equal(0, (nudge(t.pid, "local s = lurk.addr('spin_step'); lurk.flush(s, s + 1)")))
    until_(t.pid, nseen, function(o) return o == "4\n" end)
    -- the module form; and a flush asked for by a bb handler (the cache lock
    -- is held by its own thread then): done when the lock is released
    local st, f = nudge(t.pid, [[
      local f0 = lurk.stats().flushes
      lurk.flush(lurk.module_at(lurk.addr('spin_step')))
      local f1, once = lurk.stats().flushes, false
      lurk.on("bb", function() if not once then once = true; lurk.flush() end end)
      lurk.on("exit", function() print("deferred", once, lurk.stats().flushes - f1) end)
      return f1 - f0]])
    assert.equal(0, st)
    assert.equal("1\n", f)
    h.sh("touch " .. go)
    local status, pout, perr = finish(t)
    assert.equal(0, status)
    assert.equal("spin ok\n", pout)
    assert.equal("deferred\ttrue\t1\n", perr)
  end)

  it("checks its arguments", function()
    local r = h.eval("lurk.flush(10, 5)")
    assert.equal(1, r.status)
    assert.match("bad argument #2 to 'flush' %(empty range%)", r.stderr)
    r = h.eval("lurk.flush('x')")
    assert.match("bad argument #1 to 'flush'", r.stderr)
    r = h.eval("lurk.flush({})")
    assert.match("bad argument #1 to 'flush' %(table without 'base' and 'end'", r.stderr)
    r = h.eval("lurk.flush(); lurk.flush(0x1000, 0x2000); print('ok')")
    assert.equal(0, r.status)
    assert.equal("ok\n", r.stderr)
  end)
end)

-- Version v of a script that counts system calls into lurk.keep, in total
-- and under its own key; at each load it notes the older version's count,
-- which must not change afterwards; the exit handler (the last version's
-- only) checks all of it.
local function counter_script(v, extra)
  return ([[
local V = %d
local K = lurk.keep
K.total = K.total or 0
K.by = K.by or {}
K.at = K.at or {}
if V > 1 then K.at[V - 1] = K.by[V - 1] or 0 end
lurk.on("syscall_pre", function() K.total = K.total + 1; K.by[V] = (K.by[V] or 0) + %d end)
lurk.on("exit", function()
  local sum, frozen = 0, 0
  for v = 1, V do
    sum = sum + (K.by[v] or 0)
    if v < V and K.by[v] == K.at[v] and K.by[v] > 0 then frozen = frozen + 1 end
  end
  print("version", V, "continuous", sum == K.total, "frozen", frozen)
end)
%s
return { stop = function() K.stopped = (K.stopped or 0) + 1 end }
]]):format(v, 1, extra or "")
end

describe("hot reload", function()
  local client = h.root .. "/spec/lua/ctl_client.py"
  local function reload(pid, path)
    -- the message %reload [FILE] sends
    return h.capture(("python3 %s /tmp/lurk-%s/%d msg L %s"):format(client, uid, pid, h.quote(path and "@" .. path or "")))
  end

  it("reloads a script 10 times: kept state continuous, each version counts in its own key, old handlers never run again", function()
    local go = tmp .. "/go3"
    local script = tmp .. "/counter.lua"
    local function write(v, extra)
      local f = assert(io.open(script, "w"))
      f:write(counter_script(v, extra))
      f:close()
    end
    write(1)
    local t = start(prog .. " spin " .. go, h.quote(script))
    for v = 2, 10 do
      -- the running version has counted something before it is replaced
      until_(t.pid, ("return (require('lurk.repl').kept().by or {})[%d] or 0"):format(v - 1), function(o) return tonumber(o) > 0 end)
      write(v)
      assert.match("^R ", reload(t.pid))
      local _, out = nudge(t.pid, "return require('lurk.repl').units()")
      assert.equal(('{ ["%s"] = %d }\n'):format(script, v), out)
    end
    until_(t.pid, "return (require('lurk.repl').kept().by or {})[10] or 0", function(o) return tonumber(o) > 0 end)
    -- lurk.keep at the prompt is the prompt's own table, not the script's
    local _, out = nudge(t.pid, "return lurk.keep.total")
    assert.equal("nil\n", out)
    h.sh("touch " .. go)
    local status, pout, perr = finish(t)
    assert.equal(0, status)
    assert.equal("spin ok\n", pout)
    -- one exit handler ran (the last version's): 9 older versions frozen
    assert.equal("version\t10\tcontinuous\ttrue\tfrozen\t9\n", perr)
  end)

  it("removes the old version's wraps: its pre never runs again", function()
    local go = tmp .. "/go_wrap"
    local script = tmp .. "/wrapper.lua"
    local function write(v)
      local f = assert(io.open(script, "w"))
      f:write(([[
local K = lurk.keep
K.w = K.w or {}
assert(lurk.wrap("live_prog!spin_step", { pre = function() K.w[%d] = (K.w[%d] or 0) + 1 end }))
]]):format(v, v))
      f:close()
    end
    write(1)
    local t = start(prog .. " spin " .. go, h.quote(script))
    local function count(v) return ("return (require('lurk.repl').kept().w or {})[%d] or 0"):format(v) end
    for v = 2, 3 do
      until_(t.pid, count(v - 1), function(o) return tonumber(o) > 0 end)
      write(v)
      assert.match("^R ", reload(t.pid))
    end
    until_(t.pid, count(3), function(o) return tonumber(o) > 0 end)
    local old = "local w = require('lurk.repl').kept().w return w[1] .. ' ' .. w[2]"
    local _, a = nudge(t.pid, old)
    until_(t.pid, count(3), function(o) return tonumber(o) > 1000 end) -- the new version goes on
    local _, b = nudge(t.pid, old)
    assert.equal(a, b) -- the old versions' counts are frozen
    h.sh("touch " .. go)
    local status, pout = finish(t)
    assert.equal(0, status)
    assert.equal("spin ok\n", pout)
  end)

  it("keeps the old version when the new one does not compile; %reload FILE; nothing to reload", function()
    local go = tmp .. "/go4"
    local script = tmp .. "/counter2.lua"
    local f = assert(io.open(script, "w"))
    f:write(counter_script(1))
    f:close()
    local t = start(prog .. " spin " .. go, h.quote(script))
    f = assert(io.open(script, "w"))
    f:write("lurk.on('exit', function() print('broken') end) end end")
    f:close()
    local r = reload(t.pid, script)
    assert.match("^X .*counter2.lua:1: '<eof>' expected near 'end'", r)
    local _, out = nudge(t.pid, "return require('lurk.repl').units()")
    assert.equal(('{ ["%s"] = 1 }\n'):format(script), out)
    r = reload(t.pid, tmp .. "/nosuch.lua")
    assert.match("^X not loaded: ", r)
    -- the module's stop() ran at each unload
    f = assert(io.open(script, "w"))
    f:write(counter_script(2))
    f:close()
    assert.match("^R ", reload(t.pid, script))
    _, out = nudge(t.pid, "return require('lurk.repl').units(), require('lurk.repl').kept().stopped")
    assert.equal(('{ ["%s"] = 2 }\t1\n'):format(script), out)
    h.sh("touch " .. go)
    local status, pout, perr = finish(t)
    assert.equal(0, status)
    assert.equal("spin ok\n", pout)
    assert.match("^version\t2\tcontinuous\ttrue\tfrozen\t[01]\n$", perr)
  end)

  it("--watch reloads a script when its file changes", function()
    local go = tmp .. "/go5"
    local script = tmp .. "/watched.lua"
    local function write(v)
      local f = assert(io.open(script .. ".new", "w"))
      f:write(counter_script(v))
      f:close()
      assert(os.rename(script .. ".new", script)) -- as editors save
    end
    write(1)
    local t = start(prog .. " spin " .. go, "--watch " .. h.quote(script))
    for v = 2, 3 do
      until_(t.pid, ("return (require('lurk.repl').kept().by or {})[%d] or 0"):format(v - 1), function(o) return tonumber(o) > 0 end)
      write(v)
      until_(t.pid, "return require('lurk.repl').units()", function(o) return o == ('{ ["%s"] = %d }\n'):format(script, v) end)
    end
    until_(t.pid, "return (require('lurk.repl').kept().by or {})[3] or 0", function(o) return tonumber(o) > 0 end)
    -- a version that does not compile: said on lurk's output, the last good one stays
    local f = assert(io.open(script, "a"))
    f:write("\nend\n")
    f:close()
    for _ = 1, 500 do
      if (h.slurp(t.err) or ""):match("the reload failed") then break end
      h.sh("sleep 0.02")
    end
    h.sh("touch " .. go)
    local status, pout, perr = finish(t)
    assert.equal(0, status)
    assert.equal("spin ok\n", pout)
    local name = script:gsub("%p", "%%%0")
    assert.match("^lurk: %-%-watch: " .. name .. " changed, reloading\nlurk: %-%-watch: " .. name .. " changed, reloading\n" ..
                 "lurk: %-%-watch: " .. name .. " changed, reloading\nlurk: %-%-watch: the reload failed: [^\n]*watched.lua:%d+: '<eof>' expected near 'end'\n" ..
                 ".*\nversion\t3\tcontinuous\ttrue\tfrozen\t2\n$", perr)
  end)

  it("says when there is nothing to reload", function()
    local t = start("/bin/sleep 120") -- (ended by a nudge: a loaded machine may take seconds)
    local r = reload(t.pid)
    assert.match("^X nothing to reload: no script was loaded %(%%load FILE%)", r)
    nudge(t.pid, "os.exit(0)")
    assert.equal(0, (finish(t)))
  end)
end)

local function states(pid)
  local _, out = nudge(pid, "local s = {} for _, t in ipairs(lurk.threads()) do s[#s + 1] = t.state end return table.concat(s, ' ')")
  return out
end

describe("lurk.stop and lurk.cont", function()
  it("stop every thread (spinning ones at once, one in nanosleep when its call returns) and let them go on", function()
    local go = tmp .. "/go6"
    local t = start(prog .. " spin " .. go)
    until_(t.pid, "return #lurk.threads()", function(o) return o == "5\n" end)
    assert.equal(0, (nudge(t.pid, count_code .. "; lurk.flush()")))
    until_(t.pid, nseen, function(o) return o == "4\n" end)
    local st, out = nudge(t.pid, "return lurk.stop(), lurk.stopped()")
    assert.equal(0, st)
    assert.equal("true\ttrue\n", out)
    -- nothing counts while stopped
    local _, c1 = nudge(t.pid, "local k = 0; for _, n in pairs(seen) do k = k + n end; return k")
    local _, c2 = nudge(t.pid, "local k = 0; for _, n in pairs(seen) do k = k + n end; return k")
    assert.equal(c1, c2)
    -- the main thread sleeps 10 ms at a time: it is stopped once its call returns,
    -- and stays stopped though the file it waits for is there
    h.sh("touch " .. go)
    until_(t.pid, "return select(2, lurk.threads()[1].state:gsub('stopped', ''))", function(o) return o == "1\n" end)
    assert.equal('"stopped stopped stopped stopped stopped"\n', states(t.pid))
    assert.equal("", h.slurp(t.out))
    _, c2 = nudge(t.pid, "local k = 0; for _, n in pairs(seen) do k = k + n end; return k")
    assert.equal(c1, c2)
    assert.equal(0, (nudge(t.pid, "lurk.cont()")))
    local status, pout, perr = finish(t)
    assert.equal(0, status)
    assert.equal("spin ok\n", pout)
    assert.equal("", perr)
  end)

  it("runs no handler while stopped, not even in threads that waited for the Lua lock the stop held", function()
    local go = tmp .. "/go6b"
    local t = start(prog .. " spin " .. go)
    until_(t.pid, "return #lurk.threads()", function(o) return o == "5\n" end)
    assert.equal(0, (nudge(t.pid, count_code .. "; lurk.flush()")))
    until_(t.pid, nseen, function(o) return o == "4\n" end)
    -- the evaluation holds the Lua lock for 50 ms before stopping: the four
    -- spinning threads are then waiting for it inside their clean calls
    local st, out = nudge(t.pid, "local e = os.clock() + 0.05; while os.clock() < e do end; return lurk.stop()")
    assert.equal(0, st)
    assert.equal("true\n", out)
    local sum = "local k = 0; for _, n in pairs(seen) do k = k + n end; return k"
    local _, c1 = nudge(t.pid, sum)
    h.sh("sleep 0.1")
    local _, c2 = nudge(t.pid, sum)
    assert.equal(c1, c2)
    -- held in their calls, they show as stopped at the block's pc
    assert.equal("4\n", select(2, nudge(t.pid, "local s = lurk.addr('spin_step'); local k = 0; " ..
      "for _, th in ipairs(lurk.threads()) do if th.state == 'stopped' and th.pc == s then k = k + 1 end end; return k")))
    assert.equal(0, (nudge(t.pid, "lurk.cont()")))
    until_(t.pid, sum, function(o) return tonumber(o) > tonumber(c2) end)
    h.sh("touch " .. go)
    local status, pout, perr = finish(t)
    assert.equal(0, status)
    assert.equal("spin ok\n", pout)
    assert.equal("", perr)
  end)

  it("stops threads blocked in read, futex and nanosleep; they keep their calls", function()
    local go = tmp .. "/go7"
    local native = h.capture(("sh -c '(sleep 0.3; touch %s.n) & %s mix %s.n; echo status $?'"):format(go, prog, go))
    local t = start(prog .. " mix " .. go)
    until_(t.pid, "return #lurk.threads()", function(o) return o == "9\n" end)
    assert.equal("true\n", select(2, nudge(t.pid, "return lurk.stop()")))
    h.sh("touch " .. go)
    -- the main thread parks when its nanosleep returns: the pipe is not written
    until_(t.pid, "return lurk.threads()[1].state", function(o) return o == '"stopped"\n' end)
    assert.equal("", h.slurp(t.out))
    assert.equal(0, (nudge(t.pid, "lurk.cont()")))
    local status, pout, perr = finish(t)
    assert.equal(native, pout .. "status " .. status .. "\n")
    assert.equal("", perr)
  end)
end)

describe("detach", function()
  local native
  setup(function()
    native = h.capture(("sh -c '(sleep 0.3; touch %s/gon) & %s mix %s/gon; echo status $?'"):format(tmp, prog, tmp))
  end)

  -- The main thread's syscall pc: in liblurk.so while lurk runs it, in libc once native.
  local function main_syscall_in(pid)
    local s = h.slurp(("/proc/%d/task/%d/syscall"):format(pid, pid)) or ""
    local pc = s:match("(0x%x+)%s*$")
    if not pc or not s:match("^%d") then return nil end
    pc = tonumber(pc)
    for line in io.lines(("/proc/%d/maps"):format(pid)) do
      local lo, hi, path = line:match("^(%x+)-(%x+) %S+ %S+ %S+ %S+%s*(.*)$")
      if pc >= tonumber(lo, 16) and pc < tonumber(hi, 16) then return path:match("[^/]*$") end
    end
  end

  for round = 1, 5 do
    it(("returns 8 threads (compute, read, futex, nanosleep) to native execution, bbcount loaded (round %d)"):format(round), function()
      local go = tmp .. "/god" .. round
      local t = start(prog .. " mix " .. go, "bbcount")
      until_(t.pid, "return #lurk.threads()", function(o) return o == "9\n" end)
      -- rounds differ in how far the compute threads got
      h.sh("sleep 0." .. round)
      local in_lurk
      for _ = 1, 500 do
        in_lurk = main_syscall_in(t.pid)
        if in_lurk then break end
        h.sh("sleep 0.01")
      end
      assert.equal("liblurk.so", in_lurk)
      local st, out = nudge(t.pid, "return lurk.detach()")
      assert.equal(0, st)
      assert.equal("true\n", out)
      -- the channel is gone; the main thread's next nanosleep is libc's own
      for _ = 1, 500 do
        if h.sh(("test -S /tmp/lurk-%s/%d"):format(uid, t.pid)) ~= 0 then break end
        h.sh("sleep 0.01")
      end
      assert.equal(1, h.sh(("test -S /tmp/lurk-%s/%d"):format(uid, t.pid)))
      local where
      for _ = 1, 500 do
        where = main_syscall_in(t.pid)
        if where and where ~= "liblurk.so" then break end
        h.sh("sleep 0.01")
      end
      assert.equal("libc.so.6", where)
      h.sh("touch " .. go)
      local status, pout, perr = finish(t)
      assert.equal(native, pout .. "status " .. status .. "\n")
      assert.equal("", perr)
    end)
  end

  it("waits for threads that wait for the Lua lock in a clean call (8 threads, every block counted)", function()
    -- The channel holds the Lua lock while lurk.detach runs: the threads in
    -- a clean call wait for it; they must leave from their park points
    -- before the program's SIGTRAP disposition is back (they step there).
    for round = 1, 3 do
      local go = tmp .. "/gocc" .. round
      local t = start(prog .. " mix " .. go)
      until_(t.pid, "return #lurk.threads()", function(o) return o == "9\n" end)
      local st = nudge(t.pid, [[n = 0
        lurk.on("bb", function(bb) bb:call_before(1, function() n = n + 1 end) end)
        lurk.flush()]])
      assert.equal(0, st)
      h.sh("sleep 0.1")
      local out
      st, out = nudge(t.pid, "return n > 0, lurk.detach()")
      assert.equal("true\ttrue\n", out, "round " .. round)
      h.sh("touch " .. go)
      local status, pout, perr = finish(t)
      assert.equal(native, pout .. "status " .. status .. "\n")
      assert.equal("", perr)
    end
  end)

  it("returns python3 to native execution in the middle of a loop", function()
    local pyf = tmp .. "/loop.py"
    local f = assert(io.open(pyf, "w"))
    f:write("import time, os, sys\nt = 0\nfor i in range(30):\n    t += sum(range(20000))\n    time.sleep(0.02)\n",
            "print('sum', t)\nsys.exit(5)\n")
    f:close()
    local nat = h.capture(h.quote(py) .. " " .. pyf .. "; echo status $?")
    local t = start(h.quote(py) .. " " .. pyf)
    h.sh("sleep 0.2")
    local st, out = nudge(t.pid, "return lurk.detach()")
    assert.equal(0, st)
    assert.equal("true\n", out)
    local status, pout, perr = finish(t)
    assert.equal(nat, pout .. "status " .. status .. "\n")
    assert.equal("", perr)
  end)

  it("is refused outside the control channel", function()
    local r = h.eval("lurk.detach()")
    assert.equal(1, r.status)
    assert.match("lurk.detach: only from the control channel", r.stderr)
  end)
end)

teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)
