--- lurk.repl: what the control channel runs in the target (lurk repl,
-- lurk nudge). serve(kind, payload, send, interrupted) handles one request
-- of engine/ctl.h's protocol; pretty() and complete() are also usable from
-- scripts and run without the engine (spec/unit/repl_spec.lua).
--
--   local repl = require "lurk.repl"
--   print(repl.pretty({ 1, "a", x = { y = true } }))   --> { 1, "a", x = { y = true } }
--   repl.complete("string.for")                         --> { "string.format" }
local M = {}

local type, pairs, tostring, select, rawget = type, pairs, tostring, select, rawget
local getmetatable, sort, concat = getmetatable, table.sort, table.concat
local fmt = string.format

-- -- Pretty printing ----------------------------------------------------------

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not
  or repeat return then true until while]]):gmatch("%a+") do keywords[w] = true end

local function is_ident(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") and not keywords[k]
end

-- An integer that lies in a module: "0x401136 <main+0x6 in prog>".
local function address(n)
  local lurk = rawget(_G, "lurk")
  if not lurk or n < 0x1000 or n >= 2^47 or n % 1 ~= 0 then return nil end
  local ok, m = pcall(lurk.module_at, n)
  if not ok or not m then return nil end
  local s = fmt("0x%x", n)
  local ok2, si = pcall(lurk.sym, n, false)
  if ok2 and si and si.name then
    local off = si.offset or 0
    return fmt("%s <%s%s in %s>", s, si.name, off ~= 0 and fmt("+0x%x", off) or "", m.name)
  end
  return fmt("%s <%s+0x%x>", s, m.name, n - m.base)
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return fmt("%q", v):gsub("\\\n", "\\n") end
  if t == "number" then return address(v) or tostring(v) end
  if t == "function" then
    local info = debug.getinfo(v, "S")
    if info and info.what ~= "C" then return fmt("%s (%s:%d)", tostring(v), info.short_src, info.linedefined) end
    return tostring(v)
  end
  return tostring(v)
end

local function keyorder(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local MAX_ITEMS, MAX_DEPTH, WIDTH = 200, 4, 78

-- v as text: tables nested up to MAX_DEPTH, on one line when short, else one
-- field a line; tostring for objects with __tostring (insns, modules...).
local function pretty(v, indent, seen)
  if type(v) ~= "table" then return scalar(v) end
  local mt = getmetatable(v)
  if mt and rawget(mt, "__tostring") then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if indent >= MAX_DEPTH then return "{...}" end
  seen[v] = true
  local n, keys = #v, {}
  for k in pairs(v) do
    if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then keys[#keys + 1] = k end
  end
  sort(keys, keyorder)
  local parts, total = {}, 0
  for i = 1, n do
    if #parts >= MAX_ITEMS then parts[#parts + 1] = "..."; break end
    parts[#parts + 1] = pretty(v[i], indent + 1, seen)
  end
  for _, k in ipairs(keys) do
    if #parts >= MAX_ITEMS then parts[#parts + 1] = "..."; break end
    local ks = is_ident(k) and k or "[" .. scalar(k) .. "]"
    parts[#parts + 1] = ks .. " = " .. pretty(v[k], indent + 1, seen)
  end
  seen[v] = nil
  if #parts == 0 then return "{}" end
  for _, p in ipairs(parts) do total = total + #p + 2 end
  local multi = total + 2 * indent > WIDTH
  for _, p in ipairs(parts) do if p:find("\n", 1, true) then multi = true end end
  if not multi then return "{ " .. concat(parts, ", ") .. " }" end
  local pad = ("  "):rep(indent + 1)
  return "{\n" .. pad .. concat(parts, ",\n" .. pad) .. "\n" .. ("  "):rep(indent) .. "}"
end

--- pretty(...): the values as the prompt shows them, separated by tabs.
function M.pretty(...)
  local out = {}
  for i = 1, select("#", ...) do out[i] = pretty((select(i, ...)), 0, {}) end
  return concat(out, "\t")
end

-- -- Completion ---------------------------------------------------------------

-- The fields an object offers: a table's string keys, then what its
-- metatable's __index tables give (userdata: only those). No function runs.
local function fields(obj, out, depth)
  if depth > 4 then return end
  if type(obj) == "table" then
    for k in pairs(obj) do if is_ident(k) then out[k] = out[k] or obj[k] end end
  end
  local mt = (type(obj) == "table" or type(obj) == "userdata") and getmetatable(obj)
  local idx = type(mt) == "table" and rawget(mt, "__index")
  if type(idx) == "table" then fields(idx, out, depth + 1) end
  if type(obj) == "string" then fields(string, out, depth + 1) end
end

local function field(obj, k)
  if type(obj) == "table" then
    local v = rawget(obj, k)
    if v ~= nil then return v end
  end
  if type(obj) == "string" then return rawget(string, k) end
  local mt = (type(obj) == "table" or type(obj) == "userdata") and getmetatable(obj)
  local idx = type(mt) == "table" and rawget(mt, "__index")
  if type(idx) == "table" then return field(idx, k) end
  return nil
end

--- complete(word [, env]): completions of a word such as "lurk.mod",
-- "string.f", "f:re" or "pri", from the live values in env (default _G);
-- sorted full words.
function M.complete(word, env)
  env = env or _G
  local head, sep, prefix = word:match("^(.-)([%.:])([%w_]*)$")
  local obj, out = env, {}
  if head then
    for name, s in ("." .. head):gmatch("([%.:])([^%.:]+)") do
      if not is_ident(name == "." and s or s) then return {} end
      obj = field(obj, s)
      if obj == nil then return {} end
    end
  else
    prefix, head, sep = word, "", ""
    if not prefix:match("^[%w_]*$") then return {} end
    for k in pairs(keywords) do out[#out + 1] = k end
  end
  local f = {}
  fields(obj, f, 0)
  for k, v in pairs(f) do
    if sep ~= ":" or type(v) == "function" then out[#out + 1] = k end
  end
  local res, seen = {}, {}
  for _, k in ipairs(out) do
    if k:sub(1, #prefix) == prefix and not seen[k] then
      seen[k] = true
      res[#res + 1] = head .. sep .. k
    end
  end
  sort(res)
  return res
end

-- -- Requests -----------------------------------------------------------------

-- Compile a line as lua.c does: first as an expression, then as statements;
-- an error at <eof> means "incomplete" when more input may come.
local function compile(code, name, more_ok)
  local f1, e1 = loadstring("return " .. code, name)
  -- select(1, ...) keeps every value and is not a tail call of the code's
  -- last call, whose frame (and error position) would be lost.
  if f1 then return loadstring("return select(1, " .. code .. "\n)", name) or f1 end
  local f, e2 = loadstring(code, name)
  if f then return f end
  if more_ok and (e1:find("<eof>'?$") or e2:find("<eof>'?$")) then return nil, "more" end
  return nil, e2
end

local function traceback(e)
  local msg = type(e) == "string" and e or (getmetatable(e) and tostring(e)) or
    ("(error object is a " .. type(e) .. " value)")
  local tb = debug.traceback(msg, 2)
  -- Drop the frames of this module below the evaluated code.
  tb = tb:gsub("\n%s*%[C%]: in function 'xpcall'.*$", "")
  -- and the interrupt hook's own frames
  return (tb:gsub("\n%s*%[C%]: in function 'error'\n[^\n]*lurk/repl%.lua:[^\n]*", ""))
end

local HOOK_COUNT = 100000

-- Run f with the interrupt hook set and the JIT off (compiled loops do not
-- call hooks: the JIT records no new trace meanwhile, old traces stay),
-- print sent to the client. Returns xpcall's results.
local function run(f, send, interrupted, ...)
  local jit_on = jit and jit.status()
  local real_print = print
  local hook, mask, count = debug.gethook()
  _G.print = function(...)
    local t = {}
    for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
    send("O", concat(t, "\t") .. "\n")
  end
  if jit_on then jit.off() end
  debug.sethook(function()
    if interrupted() then error("interrupted", 2) end
  end, "", HOOK_COUNT)
  local r = table.pack and table.pack(xpcall(f, traceback, ...)) or { n = 0 }
  if not table.pack then
    local function pack(...) return { n = select("#", ...), ... } end
    r = pack(xpcall(f, traceback, ...))
  end
  if hook then debug.sethook(hook, mask, count) else debug.sethook() end
  if jit_on then jit.on() end
  if _G.print ~= real_print then _G.print = real_print end
  return r
end

-- -- Scripts loaded live: %load, %reload, --watch ---------------------------------
-- A unit is a script file loaded through the channel: the handlers its top
-- level and start() registered (lurk.on), the functions it wrapped or
-- replaced (lurk.wrap, lurk.replace), its module table and its kept state
-- (lurk.keep while its code runs). Reloading it calls the old module's
-- stop(), removes those handlers and wraps, flushes the code cache (blocks
-- carry the old version's clean calls) and runs the file again.

local units, order = {}, {}
local cur -- the unit whose top level or start() is running
local lurk_on

local function hook_on()
  if lurk_on then return end
  local lurk = _G.lurk
  local real = { on = lurk.on, wrap = lurk.wrap, replace = lurk.replace }
  lurk_on = real.on
  lurk.on = function(ev, fn, ...)
    local r = real.on(ev, fn, ...) -- bad arguments raise as 'on'
    if cur then cur.handlers[#cur.handlers + 1] = { ev, fn } end
    return r
  end
  -- (a wrap's handle removes it: h:remove())
  for _, name in ipairs({ "wrap", "replace" }) do
    local f = real[name]
    lurk[name] = function(...)
      local h, err = f(...)
      if h and cur then cur.wraps[#cur.wraps + 1] = h end
      return h, err
    end
  end
end

local function unload(u)
  if type(u.mod) == "table" and type(u.mod.stop) == "function" then pcall(u.mod.stop) end
  for i = #u.handlers, 1, -1 do
    local h = u.handlers[i]
    _G.lurk.off(h[1], h[2])
  end
  u.handlers = {}
  for i = #u.wraps, 1, -1 do u.wraps[i]:remove() end
  u.wraps = {}
  _G.lurk.flush()
end

local base_keep

--- load(path, ...): run a script file as `lurk run` does (its top level, then
-- start() if it returns a table with one); returns what the top level
-- returned. Loading a path again reloads it: see reload.
function M.load(path, ...)
  local f, err = loadfile(path)
  if not f then error(err, 0) end -- the old version, if any, stays
  hook_on()
  local lurk = _G.lurk
  local u = units[path]
  if u then unload(u) else order[#order + 1] = path end
  local args = { n = select("#", ...), ... }
  u = { path = path, keep = u and u.keep or {}, handlers = {}, wraps = {}, args = args,
        version = (u and u.version or 0) + 1 }
  units[path] = u
  base_keep = base_keep or lurk.keep
  local prev = cur
  cur, lurk.keep = u, u.keep
  local r = f(...)
  if type(r) == "table" and type(r.start) == "function" then r.start(...) end
  cur, lurk.keep = prev, base_keep
  u.mod = r
  return r
end

--- reload([path]): load again the script at path (with the arguments of its
-- first load), or every script loaded so far, in load order. Returns the
-- paths reloaded; an error if none.
function M.reload(path)
  local list = path and { path } or order
  if path and not units[path] then error("not loaded: " .. path, 0) end
  if #list == 0 then error("nothing to reload: no script was loaded (%load FILE)", 0) end
  local done = {}
  for _, p in ipairs(list) do
    local a = units[p].args
    M.load(p, unpack(a, 1, a.n))
    done[#done + 1] = p
  end
  return done
end

--- kept([path]): the lurk.keep table of the script loaded from path (default:
-- the last one loaded), to look at a script's state from the prompt.
function M.kept(path)
  local u = units[path or order[#order]]
  return u and u.keep
end

--- units(): { path = version } of the scripts loaded so far.
function M.units()
  local t = {}
  for p, u in pairs(units) do t[p] = u.version end
  return t
end

--- serve(kind, payload, send, interrupted): one request (engine/ctl.h).
function M.serve(kind, payload, send, interrupted)
  if cur then -- an error in a script's top level left it set
    cur = nil
    _G.lurk.keep = base_keep
  end
  if kind == "C" then
    send("R", concat(M.complete(payload), "\n"))
    return
  end
  local f, err
  if kind == "L" then
    -- "" is %reload (every script loaded so far), "@PATH" %reload PATH
    f = function()
      if payload == "" then return M.reload() end
      if payload:sub(1, 1) == "@" then return M.reload(payload:sub(2)) end
      return M.load(payload)
    end
  else
    f, err = compile(payload, kind == "E" and "=(repl)" or "=(nudge)", kind == "E")
    if not f then send(err == "more" and "M" or "X", err == "more" and "" or err) return end
  end
  local r = run(f, send, interrupted)
  if r[1] then
    send("R", r.n > 1 and M.pretty(unpack(r, 2, r.n)) or "")
  else
    send("X", tostring(r[2]))
  end
end

return M
