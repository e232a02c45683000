--- spec/util/helper.lua: run the real lurk binary from busted specs.
--
--   local h = require "spec.util.helper"
--   local r = h.run{ "-e", "print(1)", "--", "/bin/true" }
--   assert.equal(0, r.status); assert.equal("1\n", r.stderr)
--
-- The lurk binary is $LURK (spec/run-busted.sh sets it), else build/lurk.
-- Lua 5.4 (Debian's busted) runs the specs, not lurk's LuaJIT.
local M = {}

local src = debug.getinfo(1, "S").source:match("^@(.*)$")
local root = src:match("^(.*)/spec/util/helper%.lua$") or (src:match("^spec/") and ".") or "."
if root:sub(1, 1) ~= "/" then root = (os.getenv("PWD") or ".") .. (root == "." and "" or "/" .. root) end
M.root = root
M.lurk = os.getenv("LURK") or (root .. "/build/lurk")

--- Quote one word for /bin/sh.
function M.quote(s)
  s = tostring(s)
  if s:match("^[%w%./_%-=:,+@]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
M.slurp = slurp

--- Run a shell command; its exit status (128 + signal if killed).
function M.sh(cmd)
  local _, how, code = os.execute(cmd)
  return how == "exit" and code or 128 + (code or 0)
end

--- Run a shell command; its standard output.
function M.capture(cmd)
  local p = assert(io.popen(cmd))
  local s = p:read("a")
  p:close()
  return s
end

--- A new empty temporary directory (the spec removes it in teardown).
function M.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(M.sh("mkdir -p " .. M.quote(d)) == 0, "cannot make " .. d)
  return d
end

--- gcc -o out WORDS... (sources and flags, each quoted); raises if it fails.
function M.gcc(out, ...)
  local cmd = { "gcc -o", M.quote(out) }
  for _, a in ipairs({ ... }) do cmd[#cmd + 1] = M.quote(a) end
  assert(M.sh(table.concat(cmd, " ") .. " 2>&1") == 0, "cannot build " .. out)
  return out
end

--- Write s to a new temporary file; returns its path.
function M.tmpfile(s, suffix)
  local p = os.tmpname()
  if suffix then os.remove(p); p = p .. suffix end
  local f = assert(io.open(p, "wb"))
  f:write(s or "")
  f:close()
  return p
end

--- Run lurk with the argument list args (after "lurk run" unless
-- opts.raw). opts.env: "VAR=value ..." prefix; opts.cwd; opts.stdin.
-- Returns { status, stdout, stderr }.
function M.run(args, opts)
  opts = opts or {}
  local words = { M.quote(M.lurk) }
  if not opts.raw then words[#words + 1] = "run" end
  for _, a in ipairs(args) do words[#words + 1] = M.quote(a) end
  local out, err = os.tmpname(), os.tmpname()
  local cmd = table.concat(words, " ")
  if opts.env then cmd = opts.env .. " " .. cmd end
  if opts.cwd then cmd = "cd " .. M.quote(opts.cwd) .. " && " .. cmd end
  cmd = "(" .. cmd .. ") >" .. out .. " 2>" .. err .. " <" .. (opts.stdin or "/dev/null")
  local ok, how, code = os.execute(cmd)
  local r = { stdout = slurp(out) or "", stderr = slurp(err) or "" }
  r.status = how == "exit" and code or 128 + (code or 0)
  os.remove(out)
  os.remove(err)
  return r
end

--- Make lurk's Lua library (lua/lurk/*.lua) loadable by require in the
-- specs' Lua (the pure-Lua tier, spec/unit/*_spec.lua).
function M.lualib()
  local p = root .. "/lua/?.lua;"
  if package.path:sub(1, #p) ~= p then package.path = p .. package.path end
end

--- Run python3 on the program text prog with the arguments (each
-- quoted); returns its exit status and its stdout+stderr.
function M.python(prog, ...)
  local file = M.tmpfile(prog, ".py")
  local words = { "python3", M.quote(file) }
  for _, a in ipairs({ ... }) do words[#words + 1] = M.quote(a) end
  local out = os.tmpname()
  local status = M.sh(table.concat(words, " ") .. " >" .. out .. " 2>&1")
  local text = slurp(out) or ""
  os.remove(out)
  os.remove(file)
  return status, text
end

--- Run a Lua chunk under lurk with /bin/true as the program; the chunk's
-- output (lurk's output = stderr) is returned as r.stderr.
function M.eval(code, prog)
  local args = { "-e", code, "--" }
  for _, w in ipairs(prog or { "/bin/true" }) do args[#args + 1] = w end
  return M.run(args)
end

-- Start the shell command CMD in the background, its stdout, stderr and
-- exit status in files under DIR; returns {pid, out, err} once ready(pid)
-- is true (checked every 20 ms, about 10 s at most). PID is the process
-- CMD execs into (the shell's pid).
function M.background(dir, cmd, ready, what)
  local n = math.random(1e9)
  local out, err, pidf = dir .. "/out" .. n, dir .. "/err" .. n, dir .. "/pid" .. n
  M.sh(("(sh -c 'echo $$ >%s; exec %s' >%s 2>%s; echo $? >%s.status) &"):format(pidf, cmd:gsub("'", "'\\''"), out, err, out))
  for _ = 1, 500 do
    local pid = tonumber(M.slurp(pidf) or "")
    if pid and ready(pid) then return { pid = pid, out = out, err = err } end
    M.sh("sleep 0.02")
  end
  error(what or ("the command did not start: " .. cmd))
end

-- Wait for a command M.background started to end (about 60 s at most);
-- its status, stdout and stderr.
function M.finish(t)
  for _ = 1, 3000 do
    local s = M.slurp(t.out .. ".status")
    if s and s:match("%d") then return tonumber(s), M.slurp(t.out), M.slurp(t.err) end
    M.sh("sleep 0.02")
  end
  error("the target did not end")
end

-- `lurk nudge PID CODE`: status, stdout, stderr (files under dir).
function M.nudge(dir, pid, code)
  local o, e = dir .. "/nout", dir .. "/nerr"
  local st = M.sh(("%s nudge %s %s >%s 2>%s"):format(M.quote(M.lurk), pid, M.quote(code), o, e))
  return st, M.slurp(o), M.slurp(e)
end

return M
