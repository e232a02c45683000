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

return M
