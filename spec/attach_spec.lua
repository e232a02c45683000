-- lurk attach PID: taking over a running process that lurk did not start
-- (ptrace, a remote dlopen, every thread), running scripts and chunks in
-- it, detaching, attaching again; errors (a refused ptrace, no such
-- process). Targets: spec/lua/live_prog.c (one thread; 8 threads in
-- compute, read, futex and nanosleep; threads created all the time),
-- python3 and perl running loops. Every target's output and exit status are
-- compared with a native run's.
local h = require "spec.util.helper"

local tmp = h.tmpdir()
local prog = tmp .. "/live_prog"
h.gcc(prog, "-O1", "-pthread", h.root .. "/spec/lua/live_prog.c")
local uid = h.capture("id -u"):gsub("%s", "")
local py = h.capture("python3 -c 'import sys; print(sys.executable)'"):gsub("%s", "")
local lurk = h.quote(h.lurk)

-- Start ARGS natively in the background (GOFILE ends it); returns its pid,
-- once it runs, and the files its output goes to.
local function start(args)
  local t = h.background(tmp, args, function(pid)
    local exe = h.capture("readlink /proc/" .. pid .. "/exe 2>/dev/null")
    return exe ~= "" and not exe:match("/d?a?sh\n?$") and not exe:match("/bash\n?$")
  end, "the target did not start: " .. args)
  finally(function() h.sh(("kill -9 %d 2>/dev/null"):format(t.pid)) end)
  return t
end

local finish = h.finish

-- Let t end (GOFILE go) and compare its status and output with native's.
local function ends_as_native(t, go, nst, nout)
  h.sh("touch " .. go)
  local fst, fout, ferr = finish(t)
  assert.equal(nst, fst)
  assert.equal(nout, fout)
  assert.equal("", ferr)
end

local function run(cmd)
  local o, e = tmp .. "/cout", tmp .. "/cerr"
  local st = h.sh(("%s >%s 2>%s"):format(cmd, o, e))
  return st, h.slurp(o) or "", h.slurp(e) or ""
end

local function attach(pid, ...)
  local args = {}
  for _, a in ipairs({ ... }) do args[#args + 1] = h.quote(a) end
  return run(("%s attach %d %s"):format(lurk, pid, table.concat(args, " ")))
end

-- The signals a process catches and ignores (/proc/PID/status), but
-- signal 63: a detach leaves it ignored when the program had it at SIG_DFL
-- (docs/architecture.md, "Detach").
local function dispositions(pid)
  local s = h.slurp("/proc/" .. pid .. "/status")
  local ign = s:match("SigIgn:%s*(%x+)")
  return { cgt = s:match("SigCgt:%s*(%x+)"), ign = ign:sub(1, 1):gsub("%x", function(c)
    return ("%x"):format(tonumber(c, 16) & 11) end) .. ign:sub(2) }
end

local function nudge(pid, code) return run(("%s nudge %d %s"):format(lurk, pid, h.quote(code))) end

-- The native run of live_prog MODE: GOFILE there from the start.
local function native(mode)
  local go = tmp .. "/native-go"
  h.sh("touch " .. go)
  local st, out = run(("%s %s %s"):format(prog, mode, go))
  return st, out
end

-- Counts the blocks executed, per thread, with an inline counter: a chunk
-- for lurk attach -e (lurk.flush: the blocks translated before it count too).
local count_code = [[
  n = 0
  lurk.on("bb", function(bb) bb:call_before(1, function() n = n + 1 end) end)
  lurk.flush()
  return 42]]

describe("lurk attach", function()
  it("takes over a one-thread loop, counts its blocks live, detaches, and the program ends as natively", function()
    local nst, nout = native("one")
    local go = tmp .. "/go-one"
    local t = start(prog .. " one " .. go)
    local st, out, err = attach(t.pid, "-e", count_code)
    assert.equal("", err)
    assert.equal(0, st)
    assert.equal("42\n", out)
    -- the count grows between two looks
    local _, a = nudge(t.pid, "return n")
    h.sh("sleep 0.2")
    local _, b = nudge(t.pid, "return n")
    assert.is_true(tonumber(b) > tonumber(a), a .. " then " .. b)
    -- the threads lurk runs: the one app thread, its pc in the program
    local _, th = nudge(t.pid, "local l = lurk.threads(); return #l, l[1].tid")
    assert.equal(("1\t%d\n"):format(t.pid), th)
    st, out = nudge(t.pid, "return lurk.detach()")
    assert.equal(0, st)
    assert.equal("true\n", out)
    -- detached: the channel is gone
    st, out, err = nudge(t.pid, "return 1")
    assert.equal(1, st)
    ends_as_native(t, go, nst, nout)
  end)

  it("takes over 8 threads (compute, read, futex, nanosleep) with bbcount and detaches, 20 times", function()
    local nst, nout = native("mix")
    assert.equal(7, nst)
    local go = tmp .. "/go-mix"
    local t = start(prog .. " mix " .. go)
    for round = 1, 20 do
      local st, out, err = attach(t.pid, "-t", "bbcount", "-e", "return #lurk.threads(), lurk.stats().blocks > 0")
      assert.equal("", err, "round " .. round)
      assert.equal(0, st)
      -- main + 8 (some may still be lurk's from the round before: blocked
      -- in a call lurk made, they stay lurk's when it returns)
      assert.equal("9\ttrue\n", out, "round " .. round)
      h.sh("sleep 0.05")
      st, out = nudge(t.pid, "return lurk.detach()")
      assert.equal("true\n", out, "round " .. round)
    end
    ends_as_native(t, go, nst, nout)
  end)

  it("takes over a program that creates threads all the time, 10 times", function()
    local nst, nout = native("churn")
    local go = tmp .. "/go-churn"
    local t = start(prog .. " churn " .. go)
    for round = 1, 10 do
      local st, out, err = attach(t.pid, "-e", count_code)
      assert.equal("", err, "round " .. round)
      assert.equal("42\n", out)
      h.sh("sleep 0.05")
      -- threads created under lurk ran instrumented code
      local _, c = nudge(t.pid, "return n > 0")
      assert.equal("true\n", c)
      st, out = nudge(t.pid, "return lurk.detach()")
      assert.equal("true\n", out, "round " .. round)
    end
    ends_as_native(t, go, nst, nout)
  end)

  it("attaches to python3 running a loop at random moments, 100 times; its output is unchanged", function()
    local script = tmp .. "/loop.py"
    local f = assert(io.open(script, "w"))
    f:write([[
import os, sys, time, hashlib
go, n = sys.argv[1], 0
while not os.path.exists(go):
    h = hashlib.sha256()
    for i in range(500): h.update(str(n * i).encode())
    n += 1
    if n % 20 == 0: time.sleep(0.002)
h2 = hashlib.sha256()
for k in range(10000): h2.update(str(k * k).encode())
print("py", h2.hexdigest())
sys.exit(5)
]])
    f:close()
    h.sh("touch " .. tmp .. "/pygo")
    local nst, nout = run(("%s %s %s/pygo"):format(h.quote(py), script, tmp))
    local go = tmp .. "/pygo2"
    local t = start(h.quote(py) .. " -X faulthandler " .. script .. " " .. go)
    h.sh("sleep 0.2")
    local before = dispositions(t.pid)
    for round = 1, 100 do
      h.sh(("sleep 0.0%d"):format(math.random(0, 9)))
      local st, out, err = attach(t.pid, "-e", count_code)
      assert.equal("", err, "round " .. round)
      assert.equal("42\n", out)
      st, out, err = nudge(t.pid, "return lurk.detach()")
      assert.equal("true\n", out, "round " .. round .. ": " .. err)
    end
    -- the program's signal handlers are its own again (SIGSEGV, SIGINT...)
    assert.same(before, dispositions(t.pid))
    h.sh("touch " .. go)
    local fst, fout, ferr = finish(t)
    assert.equal(nst, fst)
    assert.equal(5, fst)
    assert.equal(nout, fout)
    assert.equal("", ferr)
  end)

  it("attaches to perl, loads a script with arguments, and detaches", function()
    local code = "my $s = 0; my $g = shift; my $i = 0; until (-e $g) { $s = ($s * 33 + $i++) % 1000003 } "
                 .. "$s = 0; $s = ($s * 33 + $_) % 1000003 for 1 .. 100000; print \"perl $s\\n\"; exit 6"
    h.sh("touch " .. tmp .. "/plgo")
    local nst, nout = run(("perl -e %s %s/plgo"):format(h.quote(code), tmp))
    local go = tmp .. "/plgo2"
    local t = start("/usr/bin/perl -e " .. h.quote(code) .. " " .. go)
    local scr = tmp .. "/args.lua"
    local f = assert(io.open(scr, "w"))
    f:write("local a, b = ...\nprint('args', a, b, #lurk.modules() > 0)\n")
    f:close()
    local st, out, err = attach(t.pid, scr, "one", "two words", "-e", "return 6 * 7")
    assert.equal("", err)
    assert.equal(0, st)
    assert.equal("args\tone\ttwo words\ttrue\n42\n", out)
    st, out = nudge(t.pid, "return lurk.detach()")
    assert.equal("true\n", out)
    h.sh("touch " .. go)
    local fst, fout = finish(t)
    assert.equal(nst, fst)
    assert.equal(nout, fout)
  end)

  it("reports a script's error without harming the program, which still detaches", function()
    local nst, nout = native("one")
    local go = tmp .. "/go-err"
    local t = start(prog .. " one " .. go)
    local st, out, err = attach(t.pid, "-e", "error('boom')")
    assert.equal(1, st)
    assert.match("boom", err)
    st, out = nudge(t.pid, "return lurk.detach()")
    assert.equal("true\n", out)
    h.sh("touch " .. go)
    local fst, fout = finish(t)
    assert.equal(nst, fst)
    assert.equal(nout, fout)
  end)

  it("talks to a process under lurk already through its channel", function()
    local go = tmp .. "/go-run"
    local n = math.random(1e9)
    local out, pidf = tmp .. "/rout" .. n, tmp .. "/rpid" .. n
    h.sh(("(sh -c 'echo $$ >%s; exec %s run --ctl -- %s one %s' >%s 2>&1; echo $? >%s.status) &")
         :format(pidf, lurk, prog, go, out, out))
    local pid
    for _ = 1, 500 do
      pid = tonumber(h.slurp(pidf) or "")
      if pid and h.sh(("test -S /tmp/lurk-%s/%d"):format(uid, pid)) == 0 then break end
      h.sh("sleep 0.02")
    end
    finally(function() h.sh(("kill -9 %d 2>/dev/null"):format(pid)) end)
    local st, o, e = attach(pid, "-e", "return #lurk.threads()")
    assert.equal("", e)
    assert.equal("1\n", o)
    assert.equal(0, st)
    h.sh("touch " .. go)
    local fst = finish({ out = out, err = out })
    assert.equal(3, fst)
  end)

  it("says clearly when there is no such process, and exits non-zero", function()
    local st, out, err = run(("%s attach 999999999 -e 'return 1'"):format(lurk))
    assert.equal(125, st)
    assert.equal("", out)
    assert.equal("lurk: no process 999999999\n", err)
    st, out, err = run(("%s attach notapid"):format(lurk))
    assert.equal(2, st)
    assert.match("bad pid 'notapid'", err)
    st, out, err = run(("%s attach"):format(lurk))
    assert.equal(2, st)
    assert.match("missing the pid", err)
  end)

  it("refuses a static program and one traced already, leaving them running unchanged", function()
    local sprog = tmp .. "/live_static"
    h.gcc(sprog, "-O1", "-static", "-pthread", h.root .. "/spec/lua/live_prog.c")
    local go = tmp .. "/go-static"
    h.sh("touch " .. go)
    local nst, nout = run(("%s one %s"):format(sprog, go))
    os.remove(go)
    local t = start(sprog .. " one " .. go)
    local st, out, err = attach(t.pid, "-e", "return 1")
    assert.equal(125, st)
    assert.equal("", out)
    assert.equal(("lurk: process %d has no libc.so.6 mapped (a static program?): lurk attach needs the process's dlopen\n")
                 :format(t.pid), err)
    -- traced by another tracer (strace), when strace is there
    if h.sh("command -v strace >/dev/null") == 0 then
      h.sh(("strace -p %d -o /dev/null 2>/dev/null & echo $! >%s/strace.pid"):format(t.pid, tmp))
      for _ = 1, 200 do
        if (h.slurp("/proc/" .. t.pid .. "/status") or ""):match("TracerPid:%s+[1-9]") then break end
        h.sh("sleep 0.02")
      end
      st, out, err = attach(t.pid, "-e", "return 1")
      h.sh(("kill $(cat %s/strace.pid)"):format(tmp))
      assert.equal(125, st)
      assert.match("cannot attach to process %d+: it is traced by process %d+ already", err)
    end
    h.sh("touch " .. go)
    local fst, fout = finish(t)
    assert.equal(nst, fst)
    assert.equal(nout, fout)
  end)

  it("explains a refused ptrace (EPERM) with what to do, and leaves the process alone", function()
    -- Without root: a process of another user (pid 1). As root: lurk
    -- without CAP_SYS_PTRACE, which a root process's tracer needs.
    local t = start("sleep 30")
    local cmd
    if uid == "0" then
      cmd = ("setpriv --bounding-set=-sys_ptrace --inh-caps=-sys_ptrace %s attach %d -e 'return 1'"):format(lurk, t.pid)
    else
      cmd = ("%s attach 1 -e 'return 1'"):format(lurk)
    end
    local st, out, err = run(cmd)
    assert.equal(125, st)
    assert.equal("", out)
    assert.match("cannot attach to process %d+: Operation not permitted", err)
    assert.match("CAP_SYS_PTRACE", err)
    assert.match("ptrace_scope", err)
    -- the target was not touched: not traced, not stopped, no lurk in it
    local status = h.slurp("/proc/" .. t.pid .. "/status")
    assert.match("TracerPid:%s+0\n", status)
    assert.is_nil(h.slurp("/proc/" .. t.pid .. "/maps"):find("liblurk", 1, true))
  end)
end)

-- The prompt of lurk attach in a real terminal (tmux), as spec/repl_spec.lua
-- drives lurk repl: a script loaded at the attach, a live count, ctrl-D
-- detaches; the program (python3, started natively) ends as natively.
local have_tmux = h.sh("command -v tmux >/dev/null") == 0
local describe_tmux = have_tmux and describe or pending
describe_tmux("lurk attach's prompt", function()
  local server = "lurk-attach-spec-" .. math.random(1e9)
  local function tmux(args) return h.capture("tmux -L " .. server .. " " .. args .. " 2>&1") end
  local function pane() return tmux("capture-pane -p -J -S -500") end
  local function await(pat)
    for _ = 1, 400 do
      local p = pane()
      if p:find(pat) then return p end
      h.sh("sleep 0.05")
    end
    error("the pane never showed " .. pat .. ":\n" .. pane())
  end
  local function keys(...)
    for _, k in ipairs({ ... }) do
      tmux("send-keys " .. ((k == "Enter" or k == "C-d") and "" or "-l ") .. h.quote(k))
    end
  end
  teardown(function() tmux("kill-server") end)

  it("opens on a running python3 with a script loaded; ctrl-D detaches", function()
    local work = tmp .. "/tw.py"
    local f = assert(io.open(work, "w"))
    f:write("import os, time, sys\nt = 0\nfor i in range(1200):\n    if i < 50: t += sum(range(i * 1000))\n",
            "    if i >= 50 and os.path.exists(sys.argv[1]): break\n    time.sleep(0.05)\n",
            "print('sum', t)\nsys.exit(3)\n")
    f:close()
    local stop = tmp .. "/tstop"
    h.sh("touch " .. stop)
    local nst, nout = run(("%s %s %s"):format(h.quote(py), work, stop))
    os.remove(stop)
    local t = start(h.quote(py) .. " " .. work .. " " .. stop)
    local scr = tmp .. "/count.lua"
    f = assert(io.open(scr, "w"))
    f:write("N = 0\nlurk.on('syscall_pre', function() N = N + 1 end)\nprint('loaded', ...)\n")
    f:close()
    tmux(("new-session -d -x 160 -y 50 %s"):format(h.quote(
      ("LURK_HISTORY=%s/ahist %s attach %d %s hello; echo EXIT=$? >%s/aexit; sleep 600")
        :format(tmp, lurk, t.pid, scr, tmp))))
    local p = await("lurk> ")
    assert.truthy(p:find("loaded%s+hello"), p)
    assert.truthy(p:find(("lurk repl: pid %d"):format(t.pid), 1, true))
    assert.truthy(p:find("ctrl-D detaches", 1, true))
    h.sh("sleep 0.3")
    keys("N > 0, #lurk.threads()", "Enter")
    await("lurk> N > 0, #lurk.threads%(%)\ntrue%s+1\nlurk> ")
    keys("C-d")
    for _ = 1, 400 do
      if h.slurp(tmp .. "/aexit") then break end
      h.sh("sleep 0.05")
    end
    assert.equal("EXIT=0\n", h.slurp(tmp .. "/aexit"))
    -- detached: no channel, nothing of lurk runs the program
    for _ = 1, 400 do
      if h.sh(("test -S /tmp/lurk-%s/%d"):format(uid, t.pid)) ~= 0 then break end
      h.sh("sleep 0.05")
    end
    assert.equal(1, h.sh(("test -S /tmp/lurk-%s/%d"):format(uid, t.pid)))
    h.sh("touch " .. stop)
    local fst, fout, ferr = finish(t)
    assert.equal(nst, fst)
    assert.equal(nout, fout)
    assert.equal("", ferr)
  end)
end)
