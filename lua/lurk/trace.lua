--- lurk.trace: Chrome trace-event JSON, the format chrome://tracing,
-- Perfetto (ui.perfetto.dev) and speedscope open: complete events (ph X),
-- begin/end pairs (B/E), instants (i), counters (C) and metadata (M:
-- process and thread names).
--
--   local trace = require "lurk.trace"
--   local t = trace.new("trace.json", { pid = 4242 })  -- or trace.new() to keep it in memory
--   t:process_name("python3")
--   t:thread_name(4243, "worker")
--   t:complete("parse", 10.5, 2.25, { tid = 4243, args = { file = "a.py" } })
--   t:begin("request", 20, { tid = 4243 })
--   t:finish("request", 35.125, { tid = 4243 })
--   t:instant("gc", 21, { scope = "p" })
--   t:counter("heap", 30, { bytes = 65536 })
--   t:close()
--
-- writes (one event a line; timestamps and durations in microseconds,
-- fractions allowed):
--
--   [
--   {"ph":"M","name":"process_name","pid":4242,"tid":4242,"args":{"name":"python3"}},
--   {"ph":"M","name":"thread_name","pid":4242,"tid":4243,"args":{"name":"worker"}},
--   {"ph":"X","name":"parse","ts":10.5,"dur":2.25,"pid":4242,"tid":4243,"args":{"file":"a.py"}},
--   {"ph":"B","name":"request","ts":20,"pid":4242,"tid":4243},
--   {"ph":"E","name":"request","ts":35.125,"pid":4242,"tid":4243},
--   {"ph":"i","name":"gc","ts":21,"pid":4242,"tid":4242,"s":"p"},
--   {"ph":"C","name":"heap","ts":30,"pid":4242,"tid":4242,"args":{"bytes":65536}}
--   ]
--
-- The file is the JSON Array Format of the Trace Event spec, written as
-- events come (nothing is kept in memory): a trace cut short by a crash
-- lacks only the closing `]`, which Chrome and Perfetto accept. A trace
-- still open when the process exits is closed by an `exit` handler (priority
-- 200, after the tools' own handlers). Each event's options: tid (default:
-- the trace's pid), pid (default: the trace's, i.e. new's opts.pid, else
-- lurk.pid(), else 0), cat (category string), args (a table, encoded by
-- lurk.json), and for instants scope ("t" thread, the default; "p"
-- process; "g" global). Names and args are JSON-escaped (lurk.json).
local M = {}

local json = require "lurk.json"
local format, concat = string.format, table.concat
local quote, number, encode = json.quote, json.number, json.encode
local type, error, setmetatable, tostring = type, error, setmetatable, tostring

local open_traces = {}  -- traces not closed yet (closed at exit)
local hooked = false

local Trace = {}
Trace.__index = Trace
Trace.__name = "lurk.trace"
function Trace:__tostring()
  return format("trace (%d events%s)", self.n, self.closed and ", closed" or "")
end

local function argerr(n, fname, msg)
  error(format("bad argument #%d to '%s' (%s)", n, fname, msg), 3)
end

--- A new trace, written to file (a file name, truncated, or an open file)
-- or kept in memory (file nil; read it with t:text()). opts.pid: the
-- process id of its events. Returns nil and a message when the file
-- cannot be opened.
function M.new(file, opts)
  if opts ~= nil and type(opts) ~= "table" then argerr(2, "new", "table expected, got " .. type(opts)) end
  local pid = opts and opts.pid
  if pid == nil then pid = type(lurk) == "table" and lurk.pid and lurk.pid() or 0 end
  local t = setmetatable({ pid = pid, n = 0, closed = false }, Trace)
  if type(file) == "string" then
    local f, err = io.open(file, "w")
    if not f then return nil, err end
    t.file, t.owned = f, true
  elseif file ~= nil then
    t.file = file
  else
    t.buf = {}
  end
  t:_put("[\n")
  open_traces[t] = true
  if not hooked and type(lurk) == "table" and lurk.on then
    hooked = true
    lurk.on("exit", function()
      for tr in pairs(open_traces) do if not tr.closed then tr:close() end end
    end, { priority = 200 })
  end
  return t
end

function Trace:_put(s)
  if self.buf then self.buf[#self.buf + 1] = s else self.file:write(s) end
end

local function checkname(name, fname)
  if type(name) ~= "string" then argerr(1, fname, "string expected, got " .. type(name)) end
end

local function checknum(v, n, fname, what)
  if type(v) ~= "number" or v ~= v then argerr(n, fname, what .. " (a number) expected, got " .. type(v)) end
end

-- Write one event: ph, name, then the fields in order.
function Trace:_event(fname, ph, name, ts, dur, opts, extra)
  if self.closed then error(format("'%s': the trace is closed", fname), 3) end
  if opts ~= nil and type(opts) ~= "table" then argerr(4, fname, "table expected, got " .. type(opts)) end
  opts = opts or {}
  local pid = opts.pid or self.pid
  local tid = opts.tid or pid
  local s = { '{"ph":"', ph, '","name":', quote(name) }
  if opts.cat then s[#s + 1] = ',"cat":' s[#s + 1] = quote(tostring(opts.cat)) end
  if ts then s[#s + 1] = ',"ts":' s[#s + 1] = number(ts) end
  if dur then s[#s + 1] = ',"dur":' s[#s + 1] = number(dur) end
  s[#s + 1] = ',"pid":' s[#s + 1] = number(pid)
  s[#s + 1] = ',"tid":' s[#s + 1] = number(tid)
  if extra then s[#s + 1] = extra end
  if opts.args ~= nil then
    if type(opts.args) ~= "table" then argerr(4, fname, "args: table expected, got " .. type(opts.args)) end
    s[#s + 1] = ',"args":' s[#s + 1] = encode(json.object(opts.args))
  end
  s[#s + 1] = "}"
  self:_put((self.n > 0 and ",\n" or "") .. concat(s))
  self.n = self.n + 1
  return self
end

--- A complete event (ph X): name, start ts and duration dur (microseconds).
function Trace:complete(name, ts, dur, opts)
  checkname(name, "complete")
  checknum(ts, 2, "complete", "timestamp")
  checknum(dur, 3, "complete", "duration")
  return self:_event("complete", "X", name, ts, dur, opts)
end

--- The start of a slice (ph B) on the thread; end it with finish.
function Trace:begin(name, ts, opts)
  checkname(name, "begin")
  checknum(ts, 2, "begin", "timestamp")
  return self:_event("begin", "B", name, ts, nil, opts)
end

--- The end of the thread's innermost open slice (ph E).
function Trace:finish(name, ts, opts)
  checkname(name, "finish")
  checknum(ts, 2, "finish", "timestamp")
  return self:_event("finish", "E", name, ts, nil, opts)
end

local SCOPES = { t = true, p = true, g = true }

--- An instant event (ph i); opts.scope "t" (thread), "p" or "g".
function Trace:instant(name, ts, opts)
  checkname(name, "instant")
  checknum(ts, 2, "instant", "timestamp")
  local scope = opts and opts.scope or "t"
  if not SCOPES[scope] then argerr(3, "instant", "scope must be 't', 'p' or 'g'") end
  return self:_event("instant", "i", name, ts, nil, opts, ',"s":"' .. scope .. '"')
end

--- A counter sample (ph C): values is { series = number, ... }.
function Trace:counter(name, ts, values, opts)
  checkname(name, "counter")
  checknum(ts, 2, "counter", "timestamp")
  if type(values) ~= "table" then argerr(3, "counter", "table expected, got " .. type(values)) end
  for k, v in pairs(values) do
    if type(k) ~= "string" or type(v) ~= "number" then
      argerr(3, "counter", "values: a table of names to numbers expected")
    end
  end
  local o = {}
  if opts then for k, v in pairs(opts) do o[k] = v end end
  o.args = values
  return self:_event("counter", "C", name, ts, nil, o)
end

--- Name the process (metadata event process_name) pid (default the trace's).
function Trace:process_name(name, pid)
  checkname(name, "process_name")
  return self:_event("process_name", "M", "process_name", nil, nil,
    { pid = pid, tid = pid or self.pid, args = { name = name } })
end

--- Name the thread tid (metadata event thread_name), of process pid.
function Trace:thread_name(tid, name, pid)
  if tid == nil then argerr(1, "thread_name", "thread id expected, got nil") end
  if type(name) ~= "string" then argerr(2, "thread_name", "string expected, got " .. type(name)) end
  return self:_event("thread_name", "M", "thread_name", nil, nil,
    { pid = pid, tid = tid, args = { name = name } })
end

--- End the trace (the closing `]`), close the file new opened; returns
-- true. Closing twice is harmless.
function Trace:close()
  if self.closed then return true end
  self:_put("\n]\n")
  self.closed = true
  open_traces[self] = nil
  if self.owned then self.file:close() elseif self.file and self.file.flush then self.file:flush() end
  return true
end

--- The text of a trace kept in memory (closed or not; an open one gets
-- its `]` in the text only).
function Trace:text()
  if not self.buf then error("'text': the trace is written to a file", 2) end
  local s = concat(self.buf)
  if not self.closed then s = s .. "\n]\n" end
  return s
end

return M
