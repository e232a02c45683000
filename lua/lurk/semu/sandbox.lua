--- lurk.semu.sandbox: what semu refuses or redirects, as syscall_pre hooks
-- of scripts/semu.lua: kill() outside the tree (refused with EPERM and
-- logged), the network (--net deny: connect/sendto to an IPv4/IPv6 address
-- fail with the chosen errno), and the file-system overlay (lurk.semu.overlay).
local M = {}

local calls = require "lurk.semu.calls"
local errno = require "lurk.errno"
local runm = require "lurk.semu.run"

local s32 = calls.s32

-- Is pid a process of this run's tree? (Its member file names the run.)
local function member(run, pid)
  local mark = runm.slurp(run.state .. "/pid." .. pid)
  return mark ~= nil and mark:match("^(%S+)") == run.dir
end

local function pgid_of(pid)
  local s = runm.slurp("/proc/" .. pid .. "/stat")
  local rest = s and s:match("%) (.*)$")
  if not rest then return nil end
  local f = {}
  for w in rest:gmatch("%S+") do f[#f + 1] = w end
  return tonumber(f[3])
end

-- Skip e with -err (semu logs it as refused).
local function refuse(semu, e, err, why)
  return -err, why
end

function M.setup(semu, run)
  local cfg = run.config
  if not cfg.allow_kill then
    table.insert(semu.hooks.pre, function(e)
      local n = e.name
      if n ~= "kill" and n ~= "tkill" and n ~= "tgkill" then return end
      local target = s32(e.args[1])
      local ok
      if target > 0 then
        ok = member(run, target)
        if n == "tkill" and not ok then -- a thread id: its process
          local tg = runm.slurp("/proc/" .. target .. "/status")
          tg = tg and tg:match("\nTgid:%s+(%d+)")
          ok = tg and member(run, tonumber(tg))
        end
      elseif target == 0 then
        ok = true -- its own process group (decision: docs/decisions.md)
      elseif target == -1 then
        ok = false
      else
        ok = -target == pgid_of(lurk.pid())
      end
      if not ok then return refuse(semu, e, errno.number.EPERM, "outside the tree") end
    end)
  end
  if cfg.net == "deny" then
    local err = errno.number[cfg.net_errno or "ECONNREFUSED"] or tonumber(cfg.net_errno) or errno.number.ECONNREFUSED
    table.insert(semu.hooks.pre, function(e)
      local n, ai = e.name, nil
      if n == "connect" then ai = 2 elseif n == "sendto" then ai = 5 else return end
      local a = e.args[ai]
      if a == 0 then return end
      local b = lurk.read(a, 2)
      local fam = b and b:byte(1) + 256 * b:byte(2)
      if fam == 2 or fam == 10 then return refuse(semu, e, err, "network denied") end
    end)
  end
  if cfg.overlay then require("lurk.semu.overlay").setup(semu, run) end
  semu.sandbox_report = function()
    local paths = {}
    for q in (cfg.sandbox or "/"):gmatch("[^:]+") do paths[#paths + 1] = q end
    return { overlay = cfg.overlay, net = cfg.net, kill = cfg.allow_kill and "allow" or "tree-only",
             paths = cfg.overlay and require("lurk.json").array(paths) or nil }
  end
end

return M
