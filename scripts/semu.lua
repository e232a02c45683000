--- semu: behaviour logging and sandboxing of an untrusted program and its
-- whole process tree (a Linux Dr.Semu). See docs/tools.md, "semu".
--
--   lurk run semu -- ./prog args                       # log to ./semu.json
--   lurk run semu --report out.json --net deny -- sh ./install.sh
--
-- Options:
--   --report FILE      the behaviour log (default semu.json, in the root's cwd)
--   --timeout S        watchdog: stop the whole tree after S seconds (0: none);
--                      the root exits with 124. SIGTERM/SIGINT/SIGHUP to the
--                      root (when they would end it) stop the tree the same way.
--   --wait S           at the root's end, wait up to S seconds for the rest of
--                      the tree before writing the log (default 3)
--   --overlay DIR      sandbox: writes go into DIR, reads see DIR first
--   --sandbox PATHS    the paths redirected, ':'-separated (default /: all but
--                      the overlay, /proc, /dev, /sys and semu's state)
--   --net MODE         allow (default: allow and log) or deny[=ERRNO] (ECONNREFUSED)
--   --rules PATH       a rules file or folder (default: lua/lurk/semu/rules)
--   --no-rules         run no rules
--   --allow-kill       let kill() reach processes outside the tree
--   --reads            log read-only opens too (default: opens that write or create)
local M = {}

local args = require "lurk.args"
local json = require "lurk.json"
local calls = require "lurk.semu.calls"
local runm = require "lurk.semu.run"
local logm = require "lurk.semu.log"

local run, opts
local pending = {}   -- tid -> the event of the call in progress
local nev = 0
local me             -- this process: { pid, start }
local hooks = { pre = {}, post = {}, exit = {} }   -- the sandbox's and watchdog's
M.hooks = hooks

local fs = {}
function fs.cwd() return lurk.readlink("/proc/self/cwd") or "/" end
function fs.fdpath(fd) return lurk.readlink("/proc/self/fd/" .. fd) end
M.fs = fs

local function put(rec) runm.put(run, rec) end
M.put = put
function M.run_pid() return me.pid end

local function cmdline()
  local s = runm.slurp("/proc/self/cmdline") or ""
  local t = {}
  for a in s:gmatch("([^%z]*)%z") do t[#t + 1] = a end
  return t
end

local function image_record(how, ppid)
  local real = lurk.readlink("/proc/self/exe")
  local exe = fs.virt and fs.virt(real) or real
  put({ k = "proc", pid = lurk.pid(), ppid = ppid or lurk.ppid(), t = lurk.now(), how = how,
        exe = exe, argv = json.array(cmdline()), elf = real and logm.elf_facts(real) or "no exe" })
end

local function new_id()
  nev = nev + 1
  local pid = lurk.pid()
  return pid .. "." .. (pid == me.pid and run.image or 0) .. ":" .. nev
end

--- Log an event now (sandbox decisions, module loads): ev has call,
-- category, args; result and error optional.
function M.event(ev, tid)
  ev.k, ev.id, ev.t, ev.pid, ev.tid = "ev", new_id(), lurk.now(), lurk.pid(), tid or lurk.tid()
  put(ev)
end

-- -- Processes ----------------------------------------------------------------------

-- A vfork child runs on the parent's Lua state: it is known by its pid
-- differing from the state's. It gets its member file before its exec.
local function vfork_child()
  local pid = lurk.pid()
  if pid == me.pid then return end
  local start = runm.stat(pid)
  -- image 1 after the exec: the ids of this child's events before it
  -- (PID.0:N, counted on the parent's state) stay apart from the new image's
  runm.member(run, pid, start, false, 1)
  put({ k = "proc", pid = pid, ppid = me.pid, t = lurk.now(), how = "vfork" })
end

local function wait_status(e)
  local r = tonumber(e.result)
  if r <= 0 or e.args[2] == 0 then return end
  local b = lurk.read(e.args[2], 4)
  if not b then return end
  local st = b:byte(1) + 256 * b:byte(2)
  local sig = st % 128
  local rec = { k = "reap", pid = r, t = lurk.now() }
  if sig == 0 then rec.status = math.floor(st / 256) % 256
  elseif sig ~= 127 then rec.signal = require("lurk.protos").types.signal.fmt(sig) end
  if rec.status or rec.signal then put(rec) end
end

-- -- Events -------------------------------------------------------------------------

-- Calls logged as they start: a new process's events come after them.
local UNFINISHED = { execve = true, execveat = true, fork = true, vfork = true, clone = true, clone3 = true }

-- The event of a pre (nil when the log does not want it).
local function pre_event(e)
  local n = e.name
  if not calls.wanted(e) then return nil end
  if n == "clone" and tonumber(e.args[1] % 131072) >= 65536 then return nil end -- a thread
  if (n == "openat" or n == "open") and not run.config.reads then
    local fl = tonumber(e.args[n == "open" and 2 or 3] % 4096)
    if fl % 4 == 0 and fl % 128 < 64 and fl % 1024 < 512 then return nil end -- O_RDONLY, no O_CREAT/O_TRUNC
  end
  local ev = calls.decode(e, fs)
  if n == "write" or n == "pwrite64" then
    local f = ev.args.file
    if not f or f:sub(1, 1) ~= "/" or f:match("^/dev/") or f:match("^/proc/") then return nil end
  end
  ev.k, ev.id, ev.t, ev.pid, ev.tid = "ev", new_id(), lurk.now(), lurk.pid(), e.tid
  return ev
end

-- Hooks (sandbox, overlay, watchdog) run after the event is decoded (so it
-- has the program's own arguments); one that returns a result skips the
-- call with it (and a reason to log as `refused`).
local function on_pre(e)
  local n = e.name
  if n == "execve" or n == "execveat" then vfork_child() end
  local ev = pre_event(e)
  for _, h in ipairs(hooks.pre) do
    local r, why = h(e)
    if r then
      e:skip(r)
      if ev then
        ev.result, ev.error = calls.result(n, r)
        ev.refused = why
        put(ev)
      end
      return
    end
  end
  if not ev then return end
  if UNFINISHED[n] then -- logged now, completed at post (if there is one)
    ev.unfinished = true
    put(ev)
  end
  pending[e.tid] = ev
end

local function on_post(e)
  for _, h in ipairs(hooks.post) do h(e) end
  if e.name == "wait4" then return wait_status(e) end
  local ev = pending[e.tid]
  if not ev or ev.call ~= e.name then return end
  pending[e.tid] = nil
  ev.result, ev.error = calls.result(e.name, e.result)
  ev.unfinished = nil
  if UNFINISHED[e.name] and ev.result > 0 and e.name ~= "execve" and e.name ~= "execveat" then
    -- the new process is a member from now on, for a kill that comes before
    -- the child ran its own fork handler (same content as the child writes)
    runm.member(run, ev.result, nil, false, 0, true)
  end
  if UNFINISHED[e.name] then
    put({ k = "ev", id = ev.id, result = ev.result, error = ev.error })
  else
    put(ev)
  end
end

local function on_fork(e)
  me = { pid = e.pid, start = runm.stat(e.pid) }
  pending, nev, run.image, run.root = {}, 0, 0, false
  runm.member(run, me.pid, me.start)
  local exe = lurk.readlink("/proc/self/exe")
  put({ k = "proc", pid = e.pid, ppid = e.ppid, t = lurk.now(), how = "fork",
        exe = fs.virt and exe and fs.virt(exe) or exe, argv = json.array(cmdline()) })
end

local function on_module(m)
  if m.main then return end
  M.event({ call = "module_load", category = "module",
            args = { path = m.path, base = tonumber(m.base), size = tonumber(m.size) } })
end

-- The root: wait for the tree, merge the records, run the rules, write the log.
local function finish(status)
  local deadline = lurk.now() + (run.config.wait or 3)
  local recs
  while true do
    recs = runm.records(run)
    local started, ended = {}, {}
    for _, r in ipairs(recs) do
      if r.k == "proc" and r.how ~= "exec" then started[r.pid] = true end
      if r.k == "exit" or r.k == "reap" then ended[r.pid] = true end
    end
    local live = false
    for pid in pairs(started) do
      if not ended[pid] and pid ~= me.pid and runm.alive(pid, runm.stat(pid)) then live = true end
    end
    if not live or lurk.now() > deadline then break end
    lurk.sleep(0.02)
  end
  local meta = { command = run.config.command, start = run.config.start, finish = lurk.now(),
                 root = me.pid, options = run.config.options, sandbox = M.sandbox_report and M.sandbox_report() }
  local doc = logm.build(recs, meta)
  if not run.config.no_rules then
    local rules = require "lurk.semu.rules"
    local v, err = rules.run(doc, run.config.rules)
    if not v then io.stderr:write("semu: ", err, "\n") else doc.verdicts = json.array(v) end
  end
  local f, err = io.open(run.config.log, "w")
  if not f then
    io.stderr:write("semu: cannot write the log: ", err, "\n")
  else
    f:write(json.encode(doc, { indent = 1 }), "\n")
    f:close()
  end
  runm.cleanup(run)
end

local function on_exit(e)
  for _, h in ipairs(hooks.exit) do h(e) end
  put({ k = "exit", pid = lurk.pid(), t = lurk.now(), status = e.status })
  if run.root and lurk.pid() == me.pid then finish(e.status) end
end

--- The system calls semu needs to see.
function M.syscalls()
  local t = calls.names()
  t[#t + 1] = "wait4"
  for _, n in ipairs(M.extra_syscalls or {}) do t[#t + 1] = n end
  return t
end

local KINDS = {
  report = { "string", "semu.json" }, timeout = { "string", "0" }, wait = { "string", "3" },
  overlay = { "string" }, sandbox = { "string" }, net = { "string", "allow" },
  rules = { "string" }, ["no-rules"] = { "flag" }, ["allow-kill"] = { "flag" }, reads = { "flag" },
}

local function number_opt(name, v)
  local n = tonumber(v)
  if not n or n < 0 then error(string.format("semu: option '--%s' needs a number of seconds >= 0 (got '%s')", name, v), 0) end
  return n
end

function M.start(...)
  opts = args.parse("semu", { ... }, KINDS)
  local cwd = fs.cwd()
  local function abs(p) return p and calls.normalize(p, cwd) end
  if opts.sandbox and not opts.overlay then error("semu: option '--sandbox' needs '--overlay DIR'", 0) end
  local net, neterr = opts.net:match("^(%a+)=?(.*)$")
  if net ~= "allow" and net ~= "deny" then
    error("semu: option '--net' must be allow or deny[=ERRNO] (got '" .. opts.net .. "')", 0)
  end
  local config = {
    log = abs(opts.report), timeout = number_opt("timeout", opts.timeout), wait = number_opt("wait", opts.wait),
    overlay = abs(opts.overlay), sandbox = opts.sandbox, net = net, net_errno = neterr ~= "" and neterr or nil,
    rules = abs(opts.rules), no_rules = opts["no-rules"], allow_kill = opts["allow-kill"], reads = opts.reads,
    command = json.array(cmdline()), start = lurk.now(),
  }
  config.options = { timeout = config.timeout, overlay = config.overlay, net = opts.net,
                     rules = config.rules, log = config.log }
  run = runm.join(config)
  M.run = run
  me = { pid = lurk.pid(), start = run.start }
  if run.config.overlay or run.config.net == "deny" or not run.config.allow_kill then
    require("lurk.semu.sandbox").setup(M, run)
  end
  local wd = require("lurk.semu.watchdog")
  wd.setup(M, run)
  --- Stop the whole tree now, as a nudge: `lurk nudge PID 'semu.stop()'`
  -- (with `lurk run --ctl semu ...`); the root exits 143.
  function M.stop() wd.stop("nudge", 15) end
  rawset(_G, "semu", M)
  image_record(run.root and "root" or "exec")
  local only = { only = M.syscalls() }
  lurk.on("syscall_pre", on_pre, only)
  lurk.on("syscall_post", on_post, only)
  lurk.on("fork", on_fork)
  lurk.on("exec", function()
    if lurk.pid() == me.pid then runm.member(run, me.pid, me.start, run.root, run.image + 1) end
  end)
  lurk.on("module_load", on_module)
  lurk.on("exit", on_exit)
end

return M
