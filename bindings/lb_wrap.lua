-- lurk: the Lua side of lurk.wrap / lurk.unwrap / lurk.replace, compiled
-- into liblurk.so and run once by lb_wrap_open (bindings/lb_wrap.c) with:
--   C     primitives: add(pc, wid), remove(pc), replace(pc, to), flags(wid,
--         haspre, haspost), gen(n), skipped(), addr(x)
--   call  the one call object handlers get (lurk.call)
--   ffi, fail (ends the run with a message), tb (traceback), lurk, HMT (the
--   lurk.wrap metatable for handles)
-- Returns the dispatchers' FFI callback addresses (pre, post) and the 64-bit
-- helpers.
local C, call, ffi, fail, tb, lurk, HMT = ...
local type, tonumber, tostring, error, ipairs, pairs, select, xpcall, setmetatable, rawget =
  type, tonumber, tostring, error, ipairs, pairs, select, xpcall, setmetatable, rawget
local bit, string = bit, string

-- -- Handler lists ----------------------------------------------------------------
-- lists[wid]: the handles attached to one function (a new table on every
-- change, so a list being run is never edited). wid_of[pc] = wid. pres[wid]
-- and posts[wid]: what to call, the handler itself when there is one (the
-- common case: no loop between the callback and the handler).
local lists, wid_of, gen = {}, {}, 0
local pres, posts, newest = {}, {}, {}
local run_pre, run_post

local function refresh(wid, pc)
  local l, npre, npost, fpre, fpost = lists[wid], 0, 0, nil, nil
  for i = 1, #l do
    if l[i].pre then npre, fpre = npre + 1, l[i].pre end
    if l[i].post then npost, fpost = npost + 1, l[i].post end
  end
  pres[wid] = npre == 1 and fpre or function(c) run_pre(wid) end
  posts[wid] = npost == 1 and fpost or function(c, g) run_post(wid, g) end
  newest[wid] = l[#l] and l[#l].gen or 0
  C.flags(wid, npre > 0, npost > 0)
  if #l == 0 then C.remove(pc) else C.add(pc, wid, npost > 0) end
end

local function attach(h, pc)
  local wid = wid_of[pc]
  if not wid then
    wid = #lists + 1
    lists[wid], wid_of[pc] = {}, wid
  end
  local old, l = lists[wid], {}
  for i = 1, #old do l[i] = old[i] end
  gen = gen + 1
  h.gen = gen
  C.gen(gen)
  l[#l + 1] = h
  lists[wid] = l
  refresh(wid, pc)
end

local function detach(h, pc)
  local wid = wid_of[pc]
  if not wid then return end
  local l = {}
  for _, x in ipairs(lists[wid]) do if x ~= h then l[#l + 1] = x end end
  lists[wid] = l
  refresh(wid, pc)
end

-- -- The dispatchers ------------------------------------------------------------------
function run_pre(wid)
  local l = lists[wid]
  local n = #l
  for i = 1, n do
    local f = l[i].pre
    if f then
      f(call)
      if i < n and C.skipped() then return end -- a skipped call runs no more pre
    end
  end
end

function run_post(wid, g)
  local l = lists[wid]
  for i = #l, 1, -1 do
    local h = l[i]
    local f = h.post
    if f and h.gen <= g then f(call) end -- not for a wrap attached after the pre
  end
end

local function pre_cb(wid)
  local ok, err = xpcall(pres[wid], tb, call)
  if not ok then fail(err) end
end

-- g: the call's generation; a handle attached after its pre gets no post
local function slow_post(wid, g)
  local ok, err = xpcall(run_post, tb, wid, g)
  if not ok then fail(err) end
end

local function post_cb(wid, g)
  if g < newest[wid] then return slow_post(wid, g) end
  local ok, err = xpcall(posts[wid], tb, call, g)
  if not ok then fail(err) end
end

local cbpre = ffi.cast("void (*)(int)", pre_cb)
local cbpost = ffi.cast("void (*)(int, int)", post_cb)

-- -- Targets ------------------------------------------------------------------------
-- Raise at the script's call: the first level outside this chunk.
local getinfo = debug.getinfo
local function argerr(n, fname, msg)
  local level = 2
  while getinfo(level, "S") and getinfo(level, "S").source == "=lurk.wrap" do level = level + 1 end
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), level)
end

-- The addresses a name stands for now (a list, maybe empty).
local function resolve(name, fname)
  if name:find("[%*%?%[]") then
    local f = rawget(lurk, "symbols")
    if type(f) ~= "function" then
      argerr(1, fname, "symbol names need lurk.symbols, which this lurk does not have")
    end
    local out = {}
    for _, s in ipairs(f(name) or {}) do out[#out + 1] = C.addr(s.addr) end
    return out
  end
  local f = rawget(lurk, "addr")
  if type(f) ~= "function" then
    argerr(1, fname, "symbol names need lurk.addr, which this lurk does not have")
  end
  local a = f(name)
  return a and { C.addr(a) } or {}
end

local named = {}     -- handles with a symbol name: resolved again as modules load
local watching = false

local function has(list, a)
  for _, x in ipairs(list) do if x == a then return true end end
  return false
end

local replaced = {}  -- pc -> the handle whose address replacement is in force

local function apply(h, a)
  h.addrs[#h.addrs + 1] = a
  if h.to then
    replaced[a] = h
    C.replace(a, h.to)
  else
    attach(h, a)
  end
end

local function unapply(h, a)
  if h.to then
    if replaced[a] == h then replaced[a] = nil; C.replace(a, 0) end
  else
    detach(h, a)
  end
end

local function watch()
  if watching then return end
  watching = true
  lurk.on("module_load", function()
    for h in pairs(named) do
      for _, a in ipairs(resolve(h.target, "wrap")) do
        if not has(h.addrs, a) then apply(h, a) end
      end
    end
  end)
  lurk.on("module_unload", function(m)
    for h in pairs(named) do
      local keep = {}
      for _, a in ipairs(h.addrs) do
        if a >= m.base and a < m["end"] then unapply(h, a) else keep[#keep + 1] = a end
      end
      h.addrs = keep
    end
  end)
end

-- -- Handles ------------------------------------------------------------------------
local methods = {}

function methods.remove(h)
  if getmetatable(h) ~= HMT then argerr(1, "remove", "wrap handle expected") end
  if h.removed then return false end
  h.removed = true
  named[h] = nil
  for _, a in ipairs(h.addrs) do unapply(h, a) end
  return true
end

HMT.__index = methods
HMT.__tostring = function(h)
  local t = type(h.target) == "string" and h.target or string.format("0x%x", h.target)
  return string.format("<%s %s, %d address%s%s>", h.to and "replace" or "wrap", t, #h.addrs,
    #h.addrs == 1 and "" or "es", h.removed and ", removed" or "")
end

local function target_of(x, fname)
  local tx = type(x)
  if tx == "string" then return x end
  if tx == "number" or tx == "cdata" then
    local ok, a = pcall(C.addr, x)
    if ok then return a end
  end
  argerr(1, fname, "address or symbol name expected, got " .. (tx == "number" and "bad address " .. tostring(x) or tx))
end

local function make(target, pre, post, to, fname)
  target = target_of(target, fname)
  local h = setmetatable({ target = target, pre = pre, post = post, to = to, addrs = {} }, HMT)
  if type(target) == "string" then
    for _, a in ipairs(resolve(target, fname)) do if not has(h.addrs, a) then apply(h, a) end end
    named[h] = true
    watch()
  else
    apply(h, target)
  end
  return h
end

function lurk.wrap(target, t)
  if type(t) ~= "table" then argerr(2, "wrap", "table expected, got " .. type(t)) end
  for k, v in pairs(t) do
    if k ~= "pre" and k ~= "post" then argerr(2, "wrap", "unknown field '" .. tostring(k) .. "'") end
    if type(v) ~= "function" then argerr(2, "wrap", "'" .. k .. "' must be a function") end
  end
  if not t.pre and not t.post then argerr(2, "wrap", "a pre or post function expected") end
  return make(target, t.pre, t.post, nil, "wrap")
end

function lurk.unwrap(h)
  if getmetatable(h) ~= HMT then argerr(1, "unwrap", "wrap handle expected, got " .. type(h)) end
  return h:remove()
end

local function result(v)
  if v == nil or v == false then return nil end
  if v == true then return 1 end
  return v
end

function lurk.replace(target, by)
  if type(by) == "function" then
    local fn = by
    return make(target, function(c)
      local a = c.args
      c:skip(result(fn(a[1], a[2], a[3], a[4], a[5], a[6], c)))
    end, nil, nil, "replace")
  end
  local ok, to = pcall(C.addr, by)
  if not ok or (type(by) ~= "number" and type(by) ~= "cdata") then
    argerr(2, "replace", "function or address expected, got " .. type(by))
  end
  return make(target, nil, nil, to, "replace")
end

return tonumber(ffi.cast("uintptr_t", cbpre)), tonumber(ffi.cast("uintptr_t", cbpost))
