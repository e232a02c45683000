--- lurk.semu.watchdog: stop the whole tree, with a complete log, when the
-- timeout (--timeout S, from the root's start) passes or the root is sent
-- a nudge signal (SIGTERM, SIGINT, SIGHUP whose default action would end it).
--
-- Every process checks the deadline at each system call semu intercepts and
-- at sampling ticks (100 a CPU second, so busy loops are seen). The first
-- process past it writes a `note`, SIGKILLs every other member but the root
-- (writing a `reap` record for each, so the log has their end), sends the
-- root SIGALRM (which semu's signal handler there turns into its clean stop),
-- and exits with status 137; the root exits with 124 (as timeout(1); 128 +
-- the signal for a nudge) and
-- writes the log. It sweeps the member list until it stays empty, so
-- children forked meanwhile are caught; any left stop themselves at their
-- next check. A tree whose every process sleeps is stopped when one
-- of them wakes (no timer outside the tree).
local M = {}

local runm = require "lurk.semu.run"

local SIGKILL, SIGALRM = 9, 14
local NUDGE = { [1] = "SIGHUP", [2] = "SIGINT", [15] = "SIGTERM" }

function M.setup(semu, run)
  local cfg = run.config
  local deadline = (cfg.timeout or 0) > 0 and cfg.start + cfg.timeout or nil
  local fired = false

  local function members()
    local t = {}
    for _, n in ipairs(lurk.dir(run.state) or {}) do
      local pid = tonumber(n:match("^pid%.(%d+)$") or "")
      if pid then
        local mark = runm.slurp(run.state .. "/" .. n)
        local dir, start, role = (mark or ""):match("^(%S+) (%S+) (%a+)")
        if dir == run.dir and runm.alive(pid, start) then t[#t + 1] = { pid = pid, root = role == "root" } end
      end
    end
    return t
  end

  local function stop(why, sig)
    if fired then return end
    fired = true
    local me = lurk.pid()
    semu.put({ k = "note", what = why, t = lurk.now(), timeout = cfg.timeout, by = me })
    -- Sweep until the tree holds no one else (a child forked during a
    -- sweep registers itself before its first instruction: the next sweep
    -- finds it); a few empty sweeps in a row end it.
    local root_pid
    local empty, killed = 0, {}
    for _ = 1, 500 do
      local n = 0
      for _, m in ipairs(members()) do
        if m.root then root_pid = m.pid
        elseif m.pid ~= me and not killed[m.pid] then
          n = n + 1
          if lurk.kill(m.pid, SIGKILL) then
            killed[m.pid] = true
            semu.put({ k = "reap", pid = m.pid, t = lurk.now(), signal = "SIGKILL" })
          end
        end
      end
      empty = n == 0 and empty + 1 or 0
      if empty >= 3 then break end
      lurk.sleep(0.002)
    end
    if run.root and me == semu.run_pid() then os.exit(sig and 128 + sig or 124) end
    if root_pid then lurk.kill(root_pid, SIGALRM) end
    os.exit(137)
  end
  M.stop = stop

  local function check()
    if deadline and not fired and lurk.now() >= deadline then stop("watchdog") end
  end
  if deadline then
    table.insert(semu.hooks.pre, function() check() end)
    table.insert(semu.hooks.post, check)
    lurk.sampling(100)
    lurk.on("sample", check)
    check()
  end
  -- The root: SIGALRM from a member that stopped the tree; a nudge signal.
  lurk.on("signal", function(e)
    if not (run.root and lurk.pid() == semu.run_pid()) or e.sync then return end
    if e.signal == SIGALRM and deadline and lurk.now() >= deadline then
      e:suppress()
      stop("watchdog")
    elseif NUDGE[e.signal] and e.action == "default" then
      e:suppress()
      stop("nudge", e.signal)
    end
  end)
end

return M
