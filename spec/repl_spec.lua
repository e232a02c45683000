-- lurk repl in a real terminal (tmux send-keys / capture-pane) against
-- python3 running a long workload: completion, history, a live counter,
-- ctrl-C of an endless loop, multi-line input, and the program's output and
-- exit status equal to a native run's after ctrl-D.
local h = require "spec.util.helper"

local have_tmux = h.sh("command -v tmux >/dev/null") == 0
local py = h.capture("python3 -c 'import sys; print(sys.executable)'"):gsub("%s", "")
local tmp = h.tmpdir()
local work = tmp .. "/work.py"
do
  local f = assert(io.open(work, "w"))
  -- the same work, then sleeps until the file "stop" exists (at most 120 s)
  f:write("import os, time, sys\nt = 0\nfor i in range(1200):\n    if i < 50: t += sum(range(i * 1000))\n",
          "    if i >= 50 and os.path.exists(sys.argv[1]): break\n    time.sleep(0.1)\n",
          "print('sum', t)\nsys.exit(3)\n")
  f:close()
end

local server = "lurk-repl-spec-" .. math.random(1e9)
local function tmux(args) return h.capture("tmux -L " .. server .. " " .. args .. " 2>&1") end
local function pane() return tmux("capture-pane -p -J -S -500") end
-- Wait (up to 20 s: a hang, not a timing) until the pane matches pat; returns the pane.
local function await(pat, from)
  for _ = 1, 400 do
    local p = pane()
    if p:find(pat, from or 1) then return p end
    h.sh("sleep 0.05")
  end
  error("the pane never showed " .. pat .. ":\n" .. pane())
end
-- Type text and keys: Tab, Enter, Up, C-x are keys; anything else is
-- typed literally (tmux would read "end" as the End key).
local named = { Tab = true, Enter = true, Up = true, ["C-c"] = true, ["C-d"] = true, ["C-u"] = true }
local function keys(...)
  for _, k in ipairs({ ... }) do tmux("send-keys " .. (named[k] and "" or "-l ") .. h.quote(k)) end
end
-- The pane's last prompt line.
local function last_prompt() local l; for x in pane():gmatch("lurk> [^\n]*") do l = x end return l end

local describe_tmux = have_tmux and describe or pending
describe_tmux("lurk repl", function()
  teardown(function() tmux("kill-server") h.sh("rm -rf " .. h.quote(tmp)) end)

  it("completes, recalls history, counts live, interrupts, and leaves the program as native", function()
    h.sh("touch " .. tmp .. "/stop")
    local native = h.capture(h.quote(py) .. " " .. work .. " " .. tmp .. "/stop; echo status $?")
    os.remove(tmp .. "/stop")
    tmux(("new-session -d -x 160 -y 60 %s"):format(h.quote(
      ("LURK_HISTORY=%s/hist %s repl -- %s %s %s/stop; echo EXIT=$? >%s/exit; sleep 600")
        :format(tmp, h.quote(h.lurk), h.quote(py), work, tmp, tmp))))
    local p = await("lurk> ")
    local pid = tonumber(p:match("lurk repl: pid (%d+)"))
    assert.is_number(pid)

    -- completion: lurk.mod is ambiguous (module_at, modules): TAB gives the
    -- common part, a second TAB lists both; lurk.samp is unique
    keys("lurk.mod", "Tab")
    await("lurk> lurk%.module\n")
    keys("Tab")
    await("lurk%.module_at%s+lurk%.modules")
    keys("s()[1].name", "Enter")
    await('\n"python3[^\n]*"\nlurk> ')
    keys("lurk.samp", "Tab")
    await("lurk> lurk%.sampling")
    keys("C-u")

    -- a counting one-liner: the count grows between two evaluations; the
    -- second is the first recalled with the up arrow
    keys('n = 0; lurk.on("syscall_pre", function() n = n + 1 end)', "Enter")
    h.sh("sleep 0.3")
    keys("n", "Enter")
    p = await("lurk> n\n(%d+)\nlurk> ")
    local a = tonumber(p:match("lurk> n\n(%d+)\n"))
    h.sh("sleep 0.5")
    keys("Up")
    for _ = 1, 400 do
      if last_prompt() == "lurk> n" then break end
      h.sh("sleep 0.05")
    end
    assert.equal("lurk> n", last_prompt())
    keys("Enter")
    p = await("lurk> n\n%d+\nlurk> n\n%d+\nlurk> ")
    local counts = {}
    for c in p:gmatch("lurk> n\n(%d+)\n") do counts[#counts + 1] = tonumber(c) end
    assert.equal(2, #counts)
    assert.is_true(counts[2] > counts[1], ("count %d then %d"):format(counts[1], counts[2]))
    assert.equal(a, counts[1])

    -- ctrl-C stops an endless loop; the prompt and the program go on
    keys("while true do end", "Enter")
    h.sh("sleep 0.5")
    keys("C-c")
    await("%(repl%):1: interrupted\nstack traceback:\n%s+%(repl%):1: in main chunk\nlurk> ")
    assert.equal(0, h.sh("kill -0 " .. pid))
    keys("lurk.pid()", "Enter")
    await("lurk> lurk%.pid%(%)\n" .. pid .. "\nlurk> ")

    -- multi-line input continues while the chunk is incomplete
    keys("for i = 1, 2 do", "Enter", 'print("line", i)', "Enter", "end", "Enter")
    await(">> end\nline%s+1\nline%s+2\nlurk> ")

    -- ctrl-D: the prompt closes, the program runs to its end
    keys("C-d")
    h.sh("touch " .. tmp .. "/stop")
    for _ = 1, 600 do
      if h.slurp(tmp .. "/exit") then break end
      h.sh("sleep 0.05")
    end
    local st = assert(h.slurp(tmp .. "/exit"), "lurk repl did not end"):match("EXIT=(%d+)")
    local out = pane():match("\n(sum %d+)\n")
    assert.equal(native, out .. "\nstatus " .. st .. "\n")
    -- the history file has the lines typed
    local hist = h.slurp(tmp .. "/hist")
    assert.truthy(hist and hist:find("lurk.pid()", 1, true))
  end)

  it("%reload reloads the script given to lurk repl; .detach returns the program to native execution", function()
    tmux("kill-server")
    -- a server of its own: one started at once on the name just killed can
    -- find the old one still going away ("no server running", seen under load)
    server = server .. "-2"
    os.remove(tmp .. "/exit")
    os.remove(tmp .. "/stop")
    local script = tmp .. "/v.lua"
    local function write(body)
      local f = assert(io.open(script, "w"))
      f:write(body)
      f:close()
    end
    write("local K = lurk.keep; K.n = (K.n or 0) + 1; V = 'one ' .. K.n\n")
    tmux(("new-session -d -x 160 -y 60 %s"):format(h.quote(
      ("LURK_HISTORY=%s/hist2 %s repl %s -- %s %s %s/stop; echo EXIT=$? >%s/exit; sleep 600")
        :format(tmp, h.quote(h.lurk), script, h.quote(py), work, tmp, tmp))))
    local p = await("lurk> ")
    local pid = tonumber(p:match("lurk repl: pid (%d+)"))
    keys("V", "Enter")
    await('lurk> V\n"one 1"\nlurk> ')
    write("local K = lurk.keep; K.n = (K.n or 0) + 1; V = 'two ' .. K.n\n")
    keys("%reload", "Enter")
    await("lurk> %%reload\n[^\n]*v%.lua[^\n]*\nlurk> ")
    keys("V", "Enter")
    await('lurk> V\n"two 2"\nlurk> ')
    -- .detach: the channel closes (no more socket), the prompt ends, the program goes on
    keys(".detach", "Enter")
    for _ = 1, 400 do
      if h.sh(("test -S /tmp/lurk-%s/%d"):format(h.capture("id -u"):gsub("%s", ""), pid)) ~= 0 then break end
      h.sh("sleep 0.05")
    end
    assert.equal(0, h.sh("kill -0 " .. pid))
    assert.equal(1, h.sh(("test -S /tmp/lurk-%s/%d"):format(h.capture("id -u"):gsub("%s", ""), pid)))
    h.sh("touch " .. tmp .. "/stop")
    for _ = 1, 600 do
      if h.slurp(tmp .. "/exit") then break end
      h.sh("sleep 0.05")
    end
    local st = assert(h.slurp(tmp .. "/exit"), "lurk repl did not end"):match("EXIT=(%d+)")
    assert.equal("3", st)
    assert.truthy(pane():match("\nsum %d+\n"))
  end)
end)
