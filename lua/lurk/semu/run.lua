--- lurk.semu.run: one semu run across a process tree. Every process of
-- the tree has its own Lua state (a fork copies it, an exec starts a new
-- one), so they meet in a run directory:
--
--   STATE = /tmp/lurk-semu-UID            (0700)
--   STATE/pid.PID                          "RUNDIR START ROLE IMAGE" for each member
--                                          (START: /proc/PID/stat's start time,
--                                          which survives exec but not pid reuse)
--   RUNDIR = STATE/run.ROOTPID.START/
--   RUNDIR/config                          the root's options (absolute paths)
--   RUNDIR/records.jsonl                   every process appends JSON lines,
--                                          one write(2) each (O_APPEND)
--
-- A process is the root when no member file names it; the root makes the
-- run directory, and at its exit waits (up to `wait` seconds) for the other
-- members to end, then merges the records into the log (lurk.semu.log).
local M = {}

local json = require "lurk.json"

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
M.slurp = slurp

-- Write a whole file atomically (a new file renamed over it): a reader sees
-- the old content or the new one, never an empty file.
local function spit(path, s)
  local tmp = path .. ".tmp" .. lurk.pid()
  local f = assert(io.open(tmp, "wb"))
  f:write(s)
  f:close()
  assert(os.rename(tmp, path))
end

--- The start time of pid (clock ticks since boot, /proc/PID/stat field 22)
-- and its state letter; nil if it does not exist.
function M.stat(pid)
  local s = slurp("/proc/" .. pid .. "/stat")
  if not s then return nil end
  local rest = s:match("%) (.*)$")
  local f = {}
  for w in rest:gmatch("%S+") do f[#f + 1] = w end
  -- rest starts at field 3 (state)
  return f[20], f[1]
end

local function uid()
  local s = slurp("/proc/self/status") or ""
  return s:match("\nUid:%s+(%d+)") or "0"
end

function M.state_dir()
  local d = "/tmp/lurk-semu-" .. uid()
  lurk.mkdir(d, 448) -- 0700; EEXIST is fine
  return d
end

--- Join the run this process belongs to, or start one (the root).
-- Returns the run { dir, root (bool), pid, start, config }.
function M.join(config)
  local state = M.state_dir()
  local pid = lurk.pid()
  local start = M.stat(pid)
  local mark = slurp(state .. "/pid." .. pid)
  local run = { pid = pid, start = start, state = state }
  if mark then
    local dir, st, role, img = mark:match("^(%S+) (%S+) (%a+) (%d+)")
    if st == start and slurp(dir .. "/config") then
      run.dir, run.root = dir, role == "root" -- the root may exec too
      run.image = tonumber(img)
      run.config = json.decode(slurp(dir .. "/config"))
    end
  end
  if not run.dir then
    run.root, run.image = true, 0
    run.dir = state .. "/run." .. pid .. "." .. start
    assert(lurk.mkdir(run.dir, 448))
    run.config = config
    spit(run.dir .. "/config", json.encode(config))
    M.member(run, pid, start, true)
  end
  run.out = assert(io.open(run.dir .. "/records.jsonl", "a"))
  run.out:setvbuf("no")
  return run
end

--- Mark pid (a new child) as a member of run.
-- image: how many execs pid made (event ids are PID.IMAGE:N). only_new:
-- leave a member file that exists (the child's own is newer).
function M.member(run, pid, start, root, image, only_new)
  if only_new and slurp(run.state .. "/pid." .. pid) then return end
  spit(run.state .. "/pid." .. pid, string.format("%s %s %s %d", run.dir, start or M.stat(pid) or "?",
                                                  root and "root" or "member", image or 0))
end

--- Append one record (a table) to the run's records.
function M.put(run, rec)
  run.out:write(json.encode(rec, { sort_keys = false }) .. "\n")
end

--- Read back every record, in order.
function M.records(run)
  local t = {}
  for line in io.lines(run.dir .. "/records.jsonl") do
    local ok, r = pcall(json.decode, line)
    if ok and r then t[#t + 1] = r end
  end
  return t
end

--- Is member pid (started at start) still running (a zombie is not)?
function M.alive(pid, start)
  local st, state = M.stat(pid)
  return st ~= nil and st == start and state ~= "Z" and state ~= "X"
end

--- Remove the run directory and its member files.
function M.cleanup(run)
  for _, n in ipairs(lurk.dir(run.state) or {}) do
    if n:match("^pid%.%d+$") then
      local mark = slurp(run.state .. "/" .. n)
      if mark and mark:match("^(%S+)") == run.dir then os.remove(run.state .. "/" .. n) end
    end
  end
  for _, name in ipairs(lurk.dir(run.dir) or {}) do os.remove(run.dir .. "/" .. name) end
  os.remove(run.dir)
end

return M
