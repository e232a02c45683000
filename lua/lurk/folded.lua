--- lurk.folded: folded stacks, the text format of Brendan Gregg's
-- FlameGraph (stackcollapse output) that flamegraph.pl, speedscope,
-- inferno and lurk.flame read: one line per distinct stack, the frames
-- from the root to the leaf joined by `;`, a space, and a count.
--
--   local folded = require "lurk.folded"
--   local st = folded.new()
--   st:add({ "main", "parse", "malloc" }, 3)      -- root first
--   st:add_backtrace({ "malloc", "parse", "main" }) -- innermost first (a backtrace)
--   st:add({ "main", "run" })                       -- count 1
--   st:write("out.folded")                          -- or io.write(st:format())
--
-- writes
--
--   main;parse;malloc 4
--   main;run 1
--
-- Lines are sorted by stack (byte order), as stackcollapse writes them.
-- A frame's name cannot hold `;` (the separator) or a line break: `;` is
-- written as `:` and a line break as a space; an empty name is written
-- `[unknown]` (FlameGraph's name for a frame without a symbol). Counts
-- are numbers (samples, instructions, bytes...), integral or not.
-- folded.parse(text) reads the format back (lines without a count are
-- errors: `nil, "line N: ..."`).
local M = {}

local format, gsub, concat, sort = string.format, string.gsub, table.concat, table.sort
local type, pairs, tostring, tonumber, error, setmetatable = type, pairs, tostring, tonumber,
  error, setmetatable

local Folded = {}
Folded.__index = Folded
Folded.__name = "lurk.folded"
function Folded:__tostring() return format("folded (%d stacks)", self:size()) end

local function argerr(n, fname, msg)
  error(format("bad argument #%d to '%s' (%s)", n, fname, msg), 3)
end

--- A frame's name as written in a folded line.
function M.frame(name)
  name = tostring(name)
  if name == "" then return "[unknown]" end
  return (gsub(gsub(name, ";", ":"), "[\r\n]", " "))
end
local frame = M.frame

--- A new, empty set of stacks.
function M.new()
  return setmetatable({ counts = {}, n = 0 }, Folded)
end

local function checkcount(n, argn, fname)
  if n == nil then return 1 end
  if type(n) ~= "number" or n ~= n then argerr(argn, fname, "number expected, got " .. type(n)) end
  return n
end

--- Add n (default 1) to the stack key (frames already joined by `;`).
function Folded:add_key(key, n)
  if type(key) ~= "string" then argerr(1, "add_key", "string expected, got " .. type(key)) end
  n = checkcount(n, 2, "add_key")
  local c = self.counts
  if c[key] == nil then self.n = self.n + 1 c[key] = n else c[key] = c[key] + n end
end

--- Add n (default 1) to the stack frames (a list, root first).
function Folded:add(frames, n)
  if type(frames) ~= "table" then argerr(1, "add", "table expected, got " .. type(frames)) end
  n = checkcount(n, 2, "add")
  local t = {}
  for i = 1, #frames do t[i] = frame(frames[i]) end
  local key = concat(t, ";")
  local c = self.counts
  if c[key] == nil then self.n = self.n + 1 c[key] = n else c[key] = c[key] + n end
end

--- Add n (default 1) to the stack frames (a list, innermost first, as
-- backtraces are).
function Folded:add_backtrace(frames, n)
  if type(frames) ~= "table" then argerr(1, "add_backtrace", "table expected, got " .. type(frames)) end
  n = checkcount(n, 2, "add_backtrace")
  local t, m = {}, #frames
  for i = 1, m do t[i] = frame(frames[m + 1 - i]) end
  local key = concat(t, ";")
  local c = self.counts
  if c[key] == nil then self.n = self.n + 1 c[key] = n else c[key] = c[key] + n end
end

--- The number of distinct stacks.
function Folded:size() return self.n end

--- The sum of the counts.
function Folded:total()
  local s = 0
  for _, n in pairs(self.counts) do s = s + n end
  return s
end

--- The stacks, sorted: a list of { stack = "a;b;c", count = n }.
function Folded:stacks()
  local list = {}
  for k, n in pairs(self.counts) do list[#list + 1] = { stack = k, count = n } end
  sort(list, function(a, b) return a.stack < b.stack end)
  return list
end

local function numtext(n)
  if n == math.floor(n) and n > -2 ^ 63 and n < 2 ^ 63 then return format("%.0f", n) end
  for _, f in ipairs({ "%.15g", "%.16g" }) do
    local s = format(f, n)
    if tonumber(s) == n then return s end
  end
  return format("%.17g", n)
end

--- The folded text (one line per stack, each ending in a newline).
function Folded:format()
  local out = {}
  for i, e in ipairs(self:stacks()) do out[i] = e.stack .. " " .. numtext(e.count) end
  if #out == 0 then return "" end
  return concat(out, "\n") .. "\n"
end

--- Write the folded text to f (a file, or a file name: truncated).
-- Returns true, or nil and a message when the file cannot be opened.
function Folded:write(f)
  local text = self:format()
  if type(f) == "string" then
    local file, err = io.open(f, "w")
    if not file then return nil, err end
    file:write(text)
    file:close()
    return true
  end
  (f or io.stdout):write(text)
  return true
end

--- Read folded text: a new set, or nil and "line N: message".
function M.parse(text)
  if type(text) ~= "string" then argerr(1, "parse", "string expected, got " .. type(text)) end
  local st = M.new()
  local ln = 0
  for line in (text:gsub("\r\n", "\n") .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do
    ln = ln + 1
    if line ~= "" then
      local key, n = line:match("^(.-)%s+(%S+)$")
      n = n and tonumber(n)
      if not key or not n or key == "" then
        return nil, format("line %d: not 'frame;frame;... count': %s", ln, line)
      end
      st:add_key(key, n)
    end
  end
  return st
end

--- Is x a set of stacks made by this module?
function M.is(x) return getmetatable(x) == Folded end

return M
