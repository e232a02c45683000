--- lurk.shepherd.policy: shepherd's policy, the defaults and a policy file.
--
--   local policy = require "lurk.shepherd.policy"
--   local p = assert(policy.load("my.policy"))     -- or policy.load() for the defaults
--   policy.glob_match(p.jit, "luajit")             --> true
--
-- A policy file is Lua returning a table; its fields replace the defaults
-- (docs/tools.md, "shepherd"):
--
--   return {
--     returns = "after-call",           -- or "shadow-stack" (exact, slower)
--     jit = { "node", "luajit*" },      -- modules that may run code they generate
--     exec = { "/usr/bin/*", "/bin/*" },-- execve only of these paths (nil: any)
--     mprotect_exec = "modules",        -- or "any": who may be made PROT_EXEC
--     allow = { "mod!sym" },            -- extra function entries (calls/jumps)
--   }
local M = {}

local format = string.format

--- The default policy (each entry says why it is there).
function M.defaults()
  return {
    -- returns: "after-call" (the paper's rule: a return goes to the
    -- instruction after a call lurk has seen; compiled into the block) or
    -- "shadow-stack" (exactly to its own call's return address, per
    -- thread; a Lua call at every call and return)
    returns = "after-call",
    -- JIT runtimes: while a module of one of these names is loaded, code
    -- from anonymous memory the program made executable (mmap/mprotect
    -- PROT_EXEC) may run, and the check of its calls and returns is off.
    -- Heap and stack code stays a violation.
    jit = {
      "node", "nodejs", "libnode.so*",   -- V8
      "luajit*", "libluajit*",           -- LuaJIT's trace compiler
      "java", "libjvm.so",               -- HotSpot
      "ruby*", "libruby*",               -- YJIT
      "pypy*", "libpypy*",               -- PyPy
    },
    -- execve: nil allows any path; a list of globs allows only those
    exec = nil,
    -- mmap/mprotect with PROT_EXEC: "modules" allows it for file-backed
    -- mappings (ld.so, dlopen) and, with a JIT module loaded, anonymous
    -- memory; "any" allows every one
    mprotect_exec = "modules",
    -- extra function entries: "MODULE!symbol" patterns (lurk.symbols)
    allow = {},
  }
end

local KEYS = { returns = "string", jit = "table", exec = "table", mprotect_exec = "string", allow = "table" }

-- A glob (`*`, `?`) as an anchored Lua pattern.
local function glob_pattern(g)
  return "^" .. g:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
end

--- Does s match one of the globs in list?
function M.glob_match(list, s)
  if not list or not s then return false end
  for _, g in ipairs(list) do
    if s:match(glob_pattern(g)) then return true end
  end
  return false
end

--- The policy: the defaults, with the fields of the file at path (if any)
-- replacing them. nil, msg on a missing or bad file.
function M.load(path)
  local p = M.defaults()
  if not path then return p end
  local chunk, err = loadfile(path)
  if not chunk then return nil, format("shepherd: cannot load policy: %s", err) end
  local ok, t = pcall(chunk)
  if not ok then return nil, format("shepherd: policy %s: %s", path, tostring(t)) end
  if type(t) ~= "table" then return nil, format("shepherd: policy %s: must return a table, got %s", path, type(t)) end
  for k, v in pairs(t) do
    if not KEYS[k] then return nil, format("shepherd: policy %s: unknown field '%s'", path, tostring(k)) end
    if type(v) ~= KEYS[k] then
      return nil, format("shepherd: policy %s: field '%s' must be a %s, got %s", path, k, KEYS[k], type(v))
    end
    p[k] = v
  end
  if p.returns ~= "after-call" and p.returns ~= "shadow-stack" then
    return nil, format("shepherd: policy %s: returns must be 'after-call' or 'shadow-stack', got '%s'", path, p.returns)
  end
  if p.mprotect_exec ~= "modules" and p.mprotect_exec ~= "any" then
    return nil, format("shepherd: policy %s: mprotect_exec must be 'modules' or 'any', got '%s'", path, p.mprotect_exec)
  end
  return p
end

return M
