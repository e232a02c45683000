--- lurk.callgrind: profiles in the callgrind format (Valgrind's
-- callgrind-format, version 1), which KCachegrind, QCachegrind and
-- callgrind_annotate read: per-function exclusive costs by source line,
-- and call edges with their call counts and inclusive costs.
--
--   local callgrind = require "lurk.callgrind"
--   local p = callgrind.new({ events = { "Ir" }, cmd = "./prog 10", pid = 4242 })
--   local main = p:fn({ name = "main", file = "prog.c", line = 10, object = "/tmp/prog" })
--   local fib = p:fn({ name = "fib", file = "prog.c", line = 3, object = "/tmp/prog" })
--   p:cost(main, 12, 20)                                       -- 20 Ir at prog.c:12
--   p:cost(fib, 4, 800)
--   p:call(main, fib, { line = 13, count = 1, inclusive = 800 }) -- main:13 calls fib
--   assert(p:write("callgrind.out.4242"))
--
-- writes
--
--   # callgrind format
--   version: 1
--   creator: lurk
--   pid: 4242
--   cmd: ./prog 10
--   part: 1
--
--   positions: line
--   events: Ir
--   summary: 820
--
--   ob=(1) /tmp/prog
--   fl=(1) prog.c
--   fn=(1) main
--   12 20
--   cfi=(1)
--   cfn=(2) fib
--   calls=1 3
--   13 800
--
--   fn=(2)
--   4 800
--
-- and `callgrind_annotate --inclusive=yes callgrind.out.4242` lists main
-- with 820 and fib with 800. The same data can be given as one table:
-- callgrind.write(file, { events, cmd, pid, functions = { {name, file,
-- line, object, cost = n or {n, ...}, lines = {[line] = cost}} ... },
-- calls = { {caller, callee, count, inclusive, line} ... } }), where caller
-- and callee are function tables, indexes in `functions`, or names.
--
-- Costs are numbers (one event) or lists (one number per event, in the
-- order of `events`); they are written as integers (rounded). A call's
-- inclusive cost is the callee's whole cost for those calls (callgrind's
-- meaning: callgrind_annotate --inclusive=yes shows a called function's
-- inclusive cost as the sum of its incoming calls). A function without a
-- file is in "???" (as callgrind writes it), without a line at line 0.
-- Names with a line break have it replaced by a space.
local M = {}

local format, gsub, concat, sort = string.format, string.gsub, table.concat, table.sort
local floor = math.floor
local type, pairs, ipairs, tostring, error, setmetatable = type, pairs, ipairs, tostring, error,
  setmetatable

local function argerr(n, fname, msg, level)
  error(format("bad argument #%d to '%s' (%s)", n, fname, msg), 2 + (level or 1))
end

local Profile = {}
Profile.__index = Profile
Profile.__name = "lurk.callgrind"
function Profile:__tostring()
  return format("callgrind profile (%d functions, %d calls)", #self.fns, #self.calls)
end

local Fn = { __name = "lurk.callgrind.fn" }
Fn.__index = Fn
function Fn:__tostring() return "callgrind function " .. self.name end

--- A new profile. opts: events (list of event names, default {"Ir"}),
-- cmd, pid, creator (default "lurk"), descriptions ({ Ir = "Instruction
-- Fetches" }: written as `event:` lines).
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then argerr(1, "new", "table expected, got " .. type(opts)) end
  opts = opts or {}
  local events = opts.events or { "Ir" }
  if type(events) ~= "table" or #events == 0 then argerr(1, "new", "events: a non-empty list expected") end
  for _, e in ipairs(events) do
    if type(e) ~= "string" or not e:match("^[%w_]+$") then
      argerr(1, "new", "events: names of letters, digits and _ expected, got " .. tostring(e))
    end
  end
  return setmetatable({ events = events, cmd = opts.cmd, pid = opts.pid,
    creator = opts.creator or "lurk", descriptions = opts.descriptions, fns = {}, calls = {} }, Profile)
end

local function clean(s) return (gsub(tostring(s), "[\r\n]", " ")) end

--- A new function: { name, file, line, object }; returns its handle.
function Profile:fn(t)
  if type(t) ~= "table" or type(t.name) ~= "string" then
    argerr(1, "fn", "table with a name expected")
  end
  local f = setmetatable({ name = clean(t.name), file = t.file and clean(t.file) or "???",
    line = t.line or 0, object = t.object and clean(t.object), self = {}, id = #self.fns + 1,
    profile = self }, Fn)
  self.fns[#self.fns + 1] = f
  return f
end

-- A cost as a list of numbers, one per event.
local function costlist(self, c, argn, fname)
  if type(c) == "number" then return { c } end
  if type(c) ~= "table" then argerr(argn, fname, "number or list of numbers expected, got " .. type(c), 2) end
  if #c > #self.events then argerr(argn, fname, "more costs than events", 2) end
  for _, v in ipairs(c) do
    if type(v) ~= "number" then argerr(argn, fname, "number or list of numbers expected", 2) end
  end
  return c
end

local function add(dst, src)
  for i, v in ipairs(src) do dst[i] = (dst[i] or 0) + v end
end

local function checkfn(self, f, argn, fname)
  if getmetatable(f) ~= Fn or f.profile ~= self then
    argerr(argn, fname, "a function of this profile expected", 2)
  end
end

--- Add an exclusive cost of f at source line `line` (of `file`, default
-- the function's own file: a line of another file is written after an
-- `fi=` line, as callgrind does for code inlined from a header).
function Profile:cost(f, line, c, file)
  checkfn(self, f, 1, "cost")
  if type(line) ~= "number" then argerr(2, "cost", "line number expected, got " .. type(line)) end
  local list = costlist(self, c, 3, "cost")
  local lines = f.self
  if file ~= nil then
    if type(file) ~= "string" then argerr(4, "cost", "file name expected, got " .. type(file)) end
    file = clean(file)
    if file ~= f.file then
      f.other = f.other or {}
      lines = f.other[file]
      if not lines then lines = {} f.other[file] = lines end
    end
  end
  local l = lines[line]
  if not l then l = {} lines[line] = l end
  add(l, list)
  return self
end

--- Add calls from caller to callee. opts: count (default 1), inclusive
-- (the callee's cost in those calls: a number or a list), line (the
-- caller's line of the call, default the caller's line).
function Profile:call(caller, callee, opts)
  checkfn(self, caller, 1, "call")
  checkfn(self, callee, 2, "call")
  if type(opts) ~= "table" then argerr(3, "call", "table expected, got " .. type(opts)) end
  local count = opts.count or 1
  if type(count) ~= "number" or count < 0 then argerr(3, "call", "count: a non-negative number expected") end
  local inc = costlist(self, opts.inclusive or 0, 3, "call")
  local line = opts.line or caller.line
  -- merge with an edge of the same caller, callee and line
  self.edges = self.edges or {}
  local key = caller.id .. " " .. callee.id .. " " .. line
  local e = self.edges[key]
  if e then
    e.count = e.count + count
    add(e.inclusive, inc)
    return self
  end
  e = { caller = caller, callee = callee, count = count, line = line, inclusive = {} }
  add(e.inclusive, inc)
  self.calls[#self.calls + 1] = e
  self.edges[key] = e
  return self
end

local function costtext(c, n)
  local t = {}
  for i = 1, n do
    local v = c[i] or 0
    t[i] = format("%.0f", floor(v + 0.5))
  end
  -- trailing zeros may be left out
  while #t > 1 and t[#t] == "0" do t[#t] = nil end
  return concat(t, " ")
end

--- The sum of every function's exclusive cost (a list, one per event).
function Profile:total()
  local sum = {}
  for i = 1, #self.events do sum[i] = 0 end
  for _, f in ipairs(self.fns) do
    for _, c in pairs(f.self) do add(sum, c) end
    for _, lines in pairs(f.other or {}) do
      for _, c in pairs(lines) do add(sum, c) end
    end
  end
  return sum
end

--- The text of the profile in the callgrind format.
function Profile:format()
  local n = #self.events
  local out = { "# callgrind format", "version: 1", "creator: " .. clean(self.creator) }
  if self.pid then out[#out + 1] = "pid: " .. tostring(self.pid) end
  if self.cmd then out[#out + 1] = "cmd: " .. clean(self.cmd) end
  out[#out + 1] = "part: 1"
  out[#out + 1] = ""
  if self.descriptions then
    for _, e in ipairs(self.events) do
      if self.descriptions[e] then out[#out + 1] = format("event: %s : %s", e, clean(self.descriptions[e])) end
    end
  end
  out[#out + 1] = "positions: line"
  out[#out + 1] = "events: " .. concat(self.events, " ")
  out[#out + 1] = "summary: " .. costtext(self:total(), n)
  out[#out + 1] = ""
  -- name compression: a separate id space for ob, fl and fn
  local ids = { ob = {}, fl = {}, fn = {} }
  local nids = { ob = 0, fl = 0, fn = 0 }
  local function name(space, s, key)
    key = key or s
    local id = ids[space][key]
    if id then return "(" .. id .. ")" end
    nids[space] = nids[space] + 1
    ids[space][key] = nids[space]
    return "(" .. nids[space] .. ") " .. s
  end
  local by_caller = {}
  for _, e in ipairs(self.calls) do
    local l = by_caller[e.caller]
    if not l then l = {} by_caller[e.caller] = l end
    l[#l + 1] = e
  end
  local cur_ob, cur_fl
  for _, f in ipairs(self.fns) do
    if f.object and f.object ~= cur_ob then
      out[#out + 1] = "ob=" .. name("ob", f.object)
      cur_ob = f.object
    end
    if f.file ~= cur_fl then
      out[#out + 1] = "fl=" .. name("fl", f.file)
      cur_fl = f.file
    end
    -- functions are told apart by object, file and name
    out[#out + 1] = "fn=" .. name("fn", f.name, f)
    local lines = {}
    for l in pairs(f.self) do lines[#lines + 1] = l end
    sort(lines)
    for _, l in ipairs(lines) do out[#out + 1] = format("%d %s", l, costtext(f.self[l], n)) end
    local calls = by_caller[f] or {}
    sort(calls, function(a, b)
      if a.line ~= b.line then return a.line < b.line end
      return a.callee.id < b.callee.id
    end)
    for _, e in ipairs(calls) do
      local c = e.callee
      if c.object and c.object ~= f.object then out[#out + 1] = "cob=" .. name("ob", c.object) end
      out[#out + 1] = "cfi=" .. name("fl", c.file)
      out[#out + 1] = "cfn=" .. name("fn", c.name, c)
      out[#out + 1] = format("calls=%.0f %d", e.count, c.line)
      out[#out + 1] = format("%d %s", e.line, costtext(e.inclusive, n))
    end
    -- lines of other files (inlined code), each after an fi= line
    if f.other then
      local files = {}
      for file in pairs(f.other) do files[#files + 1] = file end
      sort(files)
      for _, file in ipairs(files) do
        out[#out + 1] = "fi=" .. name("fl", file)
        local ls = {}
        for l in pairs(f.other[file]) do ls[#ls + 1] = l end
        sort(ls)
        for _, l in ipairs(ls) do out[#out + 1] = format("%d %s", l, costtext(f.other[file][l], n)) end
      end
      out[#out + 1] = "fe=" .. name("fl", f.file)
    end
    out[#out + 1] = ""
  end
  return concat(out, "\n")
end

--- Write the profile to file (a name, truncated, or an open file).
-- Returns true, or nil and a message.
function Profile:write(file)
  local text = self:format()
  if type(file) == "string" then
    local f, err = io.open(file, "w")
    if not f then return nil, err end
    f:write(text)
    f:close()
    return true
  end
  if file == nil then argerr(1, "write", "file name or file expected, got nil") end
  file:write(text)
  return true
end

--- Write the profile described by data (see above) to file.
function M.write(file, data)
  if type(data) ~= "table" then argerr(2, "write", "table expected, got " .. type(data)) end
  local p = M.new({ events = data.events, cmd = data.cmd, pid = data.pid, creator = data.creator,
    descriptions = data.descriptions })
  local byname, handles = {}, {}
  for i, t in ipairs(data.functions or {}) do
    local f = p:fn(t)
    handles[i], handles[t] = f, f
    if byname[t.name] == nil then byname[t.name] = f else byname[t.name] = false end
    if t.lines then
      for l, c in pairs(t.lines) do p:cost(f, l, c) end
    end
    if t.cost then p:cost(f, f.line, t.cost) end
  end
  local function find(ref, what, i)
    local f = handles[ref]
    if f == nil and type(ref) == "string" then
      f = byname[ref]
      if f == false then
        error(format("bad argument #2 to 'write' (calls[%d].%s: several functions are named '%s')", i, what, ref), 3)
      end
    end
    if not f then
      error(format("bad argument #2 to 'write' (calls[%d].%s: no such function: %s)", i, what, tostring(ref)), 3)
    end
    return f
  end
  for i, e in ipairs(data.calls or {}) do
    p:call(find(e.caller, "caller", i), find(e.callee, "callee", i),
      { count = e.count, inclusive = e.inclusive, line = e.line })
  end
  return p:write(file)
end

return M
