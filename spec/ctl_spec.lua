-- The control channel and lurk nudge (engine/ctl.c, bindings/lb_ctl.c,
-- lua/lurk/repl.lua, engine/ctl_client.c): values, errors, interrupts,
-- garbage on the socket, the directory's mode and the peer check.
local h = require "spec.util.helper"

local uid = h.capture("id -u"):gsub("%s", "")
local dir = "/tmp/lurk-" .. uid
local py = h.capture("python3 -c 'import sys; print(sys.executable)'"):gsub("%s", "")
local client = h.root .. "/spec/lua/ctl_client.py"
local tmp = h.tmpdir()

-- A python3 workload that runs about 4 s and ends with a known output and status.
local work = tmp .. "/work.py"
do
  local f = assert(io.open(work, "w"))
  f:write("import time, sys\nt = 0\nfor i in range(40):\n    t += sum(range(5000))\n    time.sleep(0.1)\n",
          "print('sum', t)\nsys.exit(3)\n")
  f:close()
end

-- Start `lurk run --ctl -- ARGS` in the background (as user, if given);
-- returns its pid once the socket exists, and the files its output goes to.
local function start(args, user)
  local cmd = h.quote(h.lurk) .. " run --ctl -- " .. args
  local sockdir = dir
  if user then
    local u = h.capture("id -u " .. user):gsub("%s", "")
    cmd = ("setpriv --reuid=%s --regid=%s --clear-groups %s"):format(u, u, cmd)
    sockdir = "/tmp/lurk-" .. u
  end
  local t = h.background(tmp, cmd, function(pid) return h.sh("test -S " .. sockdir .. "/" .. pid) == 0 end,
                         "no control channel appeared for " .. args)
  t.sock = sockdir .. "/" .. t.pid
  return t
end

local finish = h.finish
local function nudge(pid, code) return h.nudge(tmp, pid, code) end

local native_out, native_status
setup(function()
  native_out = h.capture(h.quote(py) .. " " .. work .. "; echo status $?")
end)

describe("lurk nudge", function()
  it("returns values, prints, keeps state, reports errors, and the program ends as natively", function()
    local t = start(h.quote(py) .. " " .. work)
    local st, out, err = nudge(t.pid, "return 6 * 7, lurk.pid()")
    assert.equal(0, st, err)
    assert.equal("42\t" .. t.pid .. "\n", out)
    st, out, err = nudge(t.pid, "x = 41; print('a', 1)")
    assert.equal(0, st, err)
    assert.equal("a\t1\n", out)
    st, out, err = nudge(t.pid, "return x + 1")
    assert.equal("42\n", out, err)
    st, out, err = nudge(t.pid, "error('boom')")
    assert.equal(1, st)
    assert.match("^%(nudge%):1: boom\nstack traceback:", err)
    st, out, err = nudge(t.pid, "for i = 1")
    assert.equal(1, st)
    assert.match("'<eof>'", err)
    -- lurk.threads: the main thread, blocked in the app's sleep, with its pc in libc
    -- (it sleeps nearly all the time: ask until it is caught sleeping)
    local seen = {}
    for _ = 1, 100 do
      st, out, err = nudge(t.pid, "local t = lurk.threads()[1]; return t.tid, t.state, t.pc and lurk.module_at(t.pc).name")
      seen[#seen + 1] = st .. " " .. out .. err
      if out:match("syscall") then break end
      h.sh("sleep 0.01")
    end
    assert.equal(t.pid .. '\t"syscall"\t"libc.so.6"\n', out, "answers:\n" .. table.concat(seen, ""))
    st, out, err = nudge(t.pid, "return lurk.stats().blocks > 1000")
    assert.equal("true\n", out, err)
    local status, pout, perr = finish(t)
    assert.equal(native_out, pout .. "status " .. status .. "\n", perr)
    assert.equal("", perr)
  end)

  it("interrupts an endless loop on ctrl-C (SIGINT to the client) and when the client dies", function()
    local t = start(h.quote(py) .. " " .. work)
    -- the client gets SIGINT: it sends an interrupt; the program is not signalled
    local st = h.sh(("%s nudge %d 'while true do end' >%s/i.out 2>%s/i.err & c=$!; sleep 0.5; kill -INT $c; wait $c")
      :format(h.quote(h.lurk), t.pid, tmp, tmp))
    assert.equal(1, st)
    assert.match("%(nudge%):1: interrupted", h.slurp(tmp .. "/i.err"))
    -- the client is killed mid-loop: the loop stops, the channel serves the next one
    h.sh(("{ %s nudge %d 'while true do end' >/dev/null 2>&1 & c=$!; sleep 0.5; kill -KILL $c; wait $c; } 2>/dev/null")
      :format(h.quote(h.lurk), t.pid))
    local out
    st, out = nudge(t.pid, "return 'alive'")
    assert.equal('"alive"\n', out)
    local status, pout = finish(t)
    assert.equal(native_out, pout .. "status " .. status .. "\n")
  end)

  it("fails clearly without a channel, and on bad usage", function()
    local st, _, err = nudge(4194303, "return 1")
    assert.equal(1, st)
    assert.match("pid 4194303 has no control channel", err)
    assert.equal(2, nudge("abc", "return 1"))
    assert.equal(2, h.sh(h.quote(h.lurk) .. " nudge 1 >/dev/null 2>&1"))
  end)
end)

describe("control channel security", function()
  it("lives in a 0700 directory, with a 0600 socket", function()
    local t = start("/bin/sleep 1")
    assert.equal("700 " .. uid .. "\n", h.capture("stat -c '%a %u' " .. dir))
    assert.equal("600\n", h.capture("stat -c %a " .. t.sock))
    assert.equal(0, (finish(t)))
  end)

  -- (the programs sleep long and are ended by a nudge: three python3 clients
  -- and a nudge can take seconds on a loaded machine)
  it("answers garbage with an error and a log line, and goes on", function()
    local t = start("/bin/sleep 120")
    -- a length over 16 MiB: error, then the connection is closed
    local r = h.capture(("python3 %s %s raw %s"):format(client, t.sock, "68656c6c6f20776f726c640a"))
    assert.match("^X bad message on the control channel: length 0x6c6c6568\nclosed\n$", r)
    -- a framed message of an unknown type: error, the connection stays
    r = h.capture(("python3 %s %s raw %s"):format(client, t.sock, "030000007a7a7a"))
    assert.equal("X bad message on the control channel: type 0x7a\nopen\n", r)
    -- a zero length
    r = h.capture(("python3 %s %s raw %s"):format(client, t.sock, "00000000"))
    assert.match("^X bad message on the control channel: length 0x0\nclosed", r)
    local st, out = nudge(t.pid, "return 'still here'")
    assert.equal('"still here"\n', out)
    nudge(t.pid, "os.exit(0)")
    local status, pout, perr = finish(t)
    assert.equal(0, status)
    assert.equal("", pout)
    assert.match("lurk: bad message on the control channel: length 0x6c6c6568\n", perr)
    assert.match("lurk: bad message on the control channel: type 0x7a\n", perr)
  end)

  local can_user = uid == "0" and h.sh("command -v useradd >/dev/null && command -v runuser >/dev/null && command -v setpriv >/dev/null") == 0
  local it_user = can_user and it or pending
  it_user("refuses a client of another uid (SO_PEERCRED), serves its own", function()
    if h.sh("id lurkctl >/dev/null 2>&1") ~= 0 then
      assert.equal(0, h.sh("useradd --no-create-home --shell /usr/sbin/nologin lurkctl"))
    end
    local t = start("/bin/sleep 120", "lurkctl")
    -- root can reach the socket (it passes the 0700 directory), but its uid is not the target's
    local r = h.capture(("python3 %s %s msg E 'return 1'"):format(client, t.sock))
    assert.match("^X control channel: permission denied to uid 0 %(pid %d+%)\n", r)
    local st = h.sh(("runuser -u lurkctl -- %s nudge %d 'return lurk.pid()' >%s/u.out 2>&1"):format(h.quote(h.lurk), t.pid, tmp))
    assert.equal(0, st)
    assert.equal(t.pid .. "\n", h.slurp(tmp .. "/u.out"))
    h.sh(("runuser -u lurkctl -- %s nudge %d 'os.exit(0)' >/dev/null 2>&1"):format(h.quote(h.lurk), t.pid))
    local status, _, perr = finish(t)
    assert.equal(0, status)
    assert.match("lurk: control channel: permission denied to uid 0", perr)
  end)
end)

teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)
