--- calltrace: trace calls to the functions matching globs, with their
-- arguments and results, as ltrace does (libc's common functions are typed
-- by the prototypes of lurk.protos).
--
--   lurk run calltrace 'libc.so.6!open*' malloc -- ls /tmp
--   lurk run calltrace -T -tt -o trace.txt 'str*' -- ./prog    # times, to a file
--   lurk run calltrace -c '*!SSL_*' -- curl -s https://x/      # a summary at exit
--   lurk run -t calltrace=-s,64,getenv -- python3 -c 1         # as a tool (commas)
--
-- GLOB is a lurk.symbols pattern (docs/lua-api.md): `malloc`, `str*`,
-- `libc.so.6!open*`, `prog!main`, `*!SSL_*`. Without `MODULE!` only global
-- (exported) functions match; with it, static ones too. Every function
-- matching is traced, in every module, including those loaded later
-- (dlopen), however it is called (PLT, direct, indirect), also from inside
-- other libraries (libc's own calls to malloc), as `ltrace -x` does.
-- Aliases (open/open64, malloc/__libc_malloc) are one function, shown by
-- the name that has a prototype, else the one without leading underscores.
--
-- Options:
--   -o FILE      write to FILE (appended; forked and exec'd processes add to it)
--                instead of lurk's output (stderr, or lurk's --output)
--   -s N         show N bytes of strings and buffers (default 32); paths whole
--   -T           time spent in each call, `<0.000012>` (seconds, wall clock)
--   -tt, -ttt    prefix each line with the time of day (UTC) with microseconds,
--                or seconds since the epoch (lurk's own `-t TOOL` takes the plain
--                `-t`; it works in the tool form, `-t calltrace=-t,malloc`)
--   -c           no trace: a summary at exit, like ltrace -c (calls, self time,
--                errors: -1 or NULL results of the functions whose prototype
--                says so, non-zero pthread results)
--   -X GLOB, --exclude GLOB      do not trace these functions (repeatable)
--   --depth N    trace only calls at most N deep in traced calls (1: outermost)
--   --from-entry trace only once the program's entry point has run: not the
--                calls of ld.so's work and of the libraries' constructors,
--                which lurk sees from the first instruction and ltrace does not
--   --no-args    functions without a prototype: `f()` instead of their six
--                integer registers in hex
--   --pids       `[pid TID]` on every line (else only once the process has
--                several threads or is a forked child, as strace -f)
--   --proto DECL a prototype of one's own (`'int cmp(string a, string b)'`;
--                types in docs/lua-api.md, "lurk.protos"); -F FILE: one per line
--   --json       JSON Lines instead of text (to -o FILE or lurk's output): one
--                object per call when it returns, innermost first, with tid,
--                name, depth (1: outermost), args (each as the text shows it),
--                retval (the text), result (the value), errno (its name, for
--                errors), time (-T), ts (-tt: seconds since the epoch);
--                `"unwound":true` instead of a result; calls still in flight
--                when their thread or the process ends `"unfinished":true`;
--                the last line `{"exited":STATUS,"tid":T}`. With -c, the
--                summary as one object: {"tool":"calltrace","pid":P,
--                "functions":[{"name","calls","seconds","errors"}],"total":{...}}
--
--   {"args":["\"/nonexistent/ct\"","O_WRONLY|O_CREAT|O_TRUNC","0640"],"depth":1,
--    "errno":"ENOENT","name":"open","result":-1,"retval":"-1","tid":4358}
--
-- Sample output (lurk run calltrace setlocale getenv opendir readdir closedir
-- -- ls /usr/share/doc/ltrace, to lurk's output):
--
--   setlocale(LC_ALL, "" <unfinished ...>
--     getenv("LOCPATH") = NULL
--     getenv("LC_ALL") = NULL
--     getenv("LANG") = "C.UTF-8"
--     ...
--   <... setlocale resumed> ) = "C.UTF-8"
--   ...
--   opendir("/usr/share/doc/ltrace") = 0x5615311f4270
--   readdir(0x5615311f4270) = {d_name="copyright"}
--   ...
--   readdir(0x5615311f4270) = NULL
--   closedir(0x5615311f4270) = 0
--   +++ exited (status 0) +++
--
-- and with threads and -T (spec/lua/calltrace_prog.c threads: one thread's
-- call in flight while another's runs; --proto 'int ct_block(int x)' ...):
--
--   [pid 26563] ct_block(1 <unfinished ...>
--   [pid 26564] ct_ping(2) = 3 <0.000005>
--   [pid 26563] <... ct_block resumed> ) = 1 <0.001080>
--   [pid 26562] +++ exited (status 0) +++
--
-- and -c (calltrace -c printf open ... -- calltrace_prog args, shortened):
--
--   % time     seconds  usecs/call     calls    errors function
--   ------ ----------- ----------- --------- --------- --------------------
--    76.13    0.002479         248        10           printf
--     1.02    0.000033          33         1         1 open
--   ------ ----------- ----------- --------- --------- --------------------
--   100.00    0.003257                    22         1 total
--
-- A failed call's errno is named: `open("/x", O_RDONLY) = -1 ENOENT (No such
-- file or directory)`.
--
-- A call that makes traced calls, or that another thread's line
-- interrupts, is printed in two parts (`<unfinished ...>`, `<... f
-- resumed>`); nested calls are indented two spaces per level of traced
-- calls in flight on their thread. A call left by longjmp or an exception
-- ends `= <unwound>` when lurk sees its frame is gone (docs/lua-api.md,
-- lurk.wrap). Functions without a prototype show their six integer
-- registers in hex and their result (rax) in hex. Strings are C literals
-- (`"a\tb\n"`, octal escapes), cut after N bytes with `...`; flags are named
-- (O_RDONLY|O_CLOEXEC, AT_FDCWD, SIGINT, LC_ALL, ...); printf-family
-- arguments follow the format's conversions. What the function writes
-- (read's buffer, fgets's string) is shown when it returns, in the one-line
-- form only.
local M = {}

local protos = require "lurk.protos"
local ffi = require "ffi"
local format, rep, concat, floor = string.format, string.rep, table.concat, math.floor
local tonumber, type, pairs, ipairs = tonumber, type, pairs, ipairs
local cstring, read = lurk.cstring, lurk.read

-- -- Options --------------------------------------------------------------------

local maxdepth = math.huge
local timing, counting, noargs, always_pid, jsonmode = false, false, false, false, false
local stamps            -- nil, "t", "tt", "ttt"
local globs, excludes = {}, {}
local maxstr            -- -s N
local from_entry        -- --from-entry
local entered = true    -- false until the program's entry ran, with --from-entry
local out               -- function(text)

-- A usage error: the message, and the run ends (status 2) before the program starts.
local function usage(msg)
  lurk.log("calltrace: %s (see: lurk help calltrace)", msg)
  os.exit(2)
end

local function addproto(decl, where)
  local p, err = protos.add(decl)
  if not p then usage(err .. (where or "")) end
end

local function options(args)
  local file
  local i = 1
  local function value(a)
    i = i + 1
    if args[i] == nil then usage("option '" .. a .. "' needs a value") end
    return args[i]
  end
  local function number(a, v)
    local n = tonumber(v)
    if not n or n < 0 or n ~= floor(n) then usage(format("option '%s' needs a whole number, got '%s'", a, v)) end
    return n
  end
  while i <= #args do
    local a = args[i]
    local key, eq = a:match("^(%-%-[%w-]+)=(.*)$")
    local function val() if eq then return eq end return value(a) end
    key = key or a
    if key == "-o" then file = val()
    elseif key == "-s" then maxstr = number(a, val())
    elseif key == "-T" then timing = true
    elseif key == "-t" or key == "-tt" or key == "-ttt" then stamps = key:sub(2)
    elseif key == "-c" then counting = true
    elseif key == "-X" or key == "--exclude" then excludes[#excludes + 1] = val()
    elseif key == "--depth" then maxdepth = number(a, val()) if maxdepth == 0 then usage("--depth must be at least 1") end
    elseif key == "--no-args" then noargs = true
    elseif key == "--from-entry" and not eq then from_entry = true
    elseif key == "--pids" then always_pid = true
    elseif key == "--json" and not eq then jsonmode = true
    elseif key == "--proto" then addproto(val())
    elseif key == "-F" then
      local name = val()
      local f, err = io.open(name)
      if not f then usage("cannot read prototypes: " .. err) end
      local n = 0
      for line in f:lines() do
        n = n + 1
        if not line:match("^%s*$") and not line:match("^%s*#") and not line:match("^%s*%-%-") then
          addproto(line, format(" (%s:%d)", name, n))
        end
      end
      f:close()
    elseif a:sub(1, 1) == "-" and a ~= "-" then usage("unknown option '" .. a .. "'")
    elseif a == "" then usage("empty function pattern")
    else globs[#globs + 1] = a end
    i = i + 1
  end
  if #globs == 0 then usage("no functions to trace: give one or more GLOBs (calltrace 'libc.so.6!open*' -- PROG)") end
  if file then
    local f, err = io.open(file, "a")
    if not f then usage("cannot open output: " .. err) end
    out = function(s) f:write(s) end
  else
    local w = io.stderr
    out = function(s) w:write(s) end
  end
end

-- -- Clocks: the vDSO's clock_gettime through the FFI (no system call, no lock) ----

local mono, real
local function clocks()
  local a = lurk.addr("__vdso_clock_gettime")
  if a then
    local f = ffi.cast("int (*)(int, int64_t *)", a)
    local ts = ffi.new("int64_t[2]")
    mono = function() f(1, ts) return tonumber(ts[0]) + tonumber(ts[1]) * 1e-9 end
    real = function() f(0, ts) return tonumber(ts[0]), tonumber(ts[1]) end
  else -- no vDSO: the process's CPU time and whole seconds
    mono = os.clock
    real = function() return os.time(), 0 end
  end
end

local function now() local s, ns = real() return s + floor(ns / 1000) * 1e-6 end

local function stamp()
  local s, ns = real()
  local us = floor(ns / 1000)
  if stamps == "ttt" then return format("%d.%06d ", s, us) end
  local d = s % 86400
  local hms = format("%02d:%02d:%02d", floor(d / 3600), floor(d / 60) % 60, d % 60)
  if stamps == "tt" then return format("%s.%06d ", hms, us) end
  return hms .. " "
end

-- -- Values: lurk.protos reads the call through this --------------------------------

local cur      -- the call object of the handler running
local src = { maxstr = 32 }
function src:arg(i) return cur.args[i] end
function src:farg(i) return cur.fargs[i] end
function src:cstring(a, max) return cstring(a, max) end
function src:read(a, n) return read(a, n) end
local symcache = {}
function src:sym(a)
  local n = symcache[a]
  if n == nil then
    local s = lurk.sym(a)
    n = s and s.offset == 0 and s.name or false
    symcache[a] = n
  end
  return n or nil
end

-- -- errno: read through libc's __errno_location (no lock, no allocation) -----------

local errloc = {}    -- tid -> the address of its errno (false: none)
local errno_fn
local errno = require "lurk.errno"
local json = require "lurk.json"

local function errnum(tid)
  local a = errloc[tid]
  if a == nil then
    if errno_fn == nil then
      local f = lurk.addr("libc.so.6!__errno_location")
      errno_fn = f and ffi.cast("int *(*)(void)", f) or false
    end
    a = errno_fn and lurk.app_state(errno_fn) or false
    errloc[tid] = a
  end
  return a and a[0] or nil
end

-- -- Functions traced ----------------------------------------------------------------

local wrapped = {}   -- address -> { name, proto, addr, h }
local matched = {}   -- glob -> true once it matched a function
local pre, post

-- Is symbol a a better name than b for one address?
local function better(a, b)
  local pa, pb = protos.get(a.name) ~= nil, protos.get(b.name) ~= nil
  if pa ~= pb then return pa end
  if a.global ~= b.global then return a.global end
  local ua, ub = #a.name:match("^_*"), #b.name:match("^_*")
  if ua ~= ub then return ua < ub end
  if #a.name ~= #b.name then return #a.name < #b.name end
  return a.name < b.name
end

-- Wrap what the globs match now, in [lo, hi) when given.
local function resolve(lo, hi)
  local excl = {}
  for _, x in ipairs(excludes) do
    for _, s in ipairs(lurk.symbols(x) or {}) do excl[s.addr] = true end
  end
  local best = {}
  for _, g in ipairs(globs) do
    local statics = g:find("!", 1, true) ~= nil
    for _, s in ipairs(lurk.symbols(g) or {}) do
      local a = s.addr
      if s.kind == "function" and (statics or s.global) and not s.name:find(".cold", 1, true)
         and (not lo or (a >= lo and a < hi)) then
        matched[g] = true
        if not excl[a] and (not best[a] or better(s, best[a])) then best[a] = s end
      end
    end
  end
  for a, s in pairs(best) do
    if not wrapped[a] then
      local w = { name = s.name, proto = protos.get(s.name), addr = a }
      w.h = lurk.wrap(a, { pre = pre, post = post })
      wrapped[a] = w
    end
  end
end

-- -- Lines --------------------------------------------------------------------------------

local live, nlive, forked = {}, 0, false
local stacks = {}    -- tid -> the traced calls in flight on that thread
local held           -- the call whose line is not written yet
local stats = {}     -- -c: name -> { calls, time, errors }

local function prefix(tid)
  if always_pid or nlive > 1 or forked then return format("[pid %d] ", tid) end
  return ""
end

local function write(e, st, text)
  out(prefix(e.tid) .. (st or "") .. rep("  ", e.depth) .. text .. "\n")
end

-- The held call's first half, when something else is to be written.
local function unhold()
  local e = held
  held = nil
  write(e, e.stamp, e.info.name .. "(" .. e.args .. " <unfinished ...>")
  e.split = true
end

-- --json: one object per call when it returns (or is left unfinished).
local function emit_json(e, call, rtext, result, ename)
  local o = { tid = e.tid, name = e.info.name, depth = e.depth + 1, ts = e.ts }
  local unwound = call and call.unwound
  if call and not unwound and e.post then
    local _, list = protos.args_after(e, src, result)
    o.args = json.array(list)
  else
    o.args = json.array(e.out)
  end
  if not call then o.unfinished = true
  elseif unwound then o.unwound = true
  else o.retval, o.result, o.errno = rtext, result, ename end
  if call and timing then o.time = e.t1 - e.t0 end
  out(json.encode(o) .. "\n")
end

-- Calls still in flight when their thread or the process ends.
local function unfinished(tid)
  if jsonmode then
    local st = stacks[tid] or {}
    for k = #st, 1, -1 do if not st[k].hidden then emit_json(st[k]) end end
  elseif held and held.tid == tid then
    unhold()
  end
end

function pre(call)
  local info = wrapped[call.func]
  if not info or not entered then return end
  local tid = call.tid
  local st = stacks[tid]
  if not st then
    st = {}
    stacks[tid] = st
    lurk.thread_data().calltrace = st
  end
  local n = #st
  local e = { info = info, depth = n, tid = tid }
  st[n + 1] = e
  if n >= maxdepth then e.hidden = true return end
  if not counting then
    cur = call
    local p = info.proto
    if p then e.args = protos.args(p, src, e)
    elseif noargs then e.args, e.out = "", {}
    else e.args, e.out = protos.raw_args(src) end
    if jsonmode then
      if stamps then e.ts = now() end
    else
      if held then unhold() end
      if stamps then e.stamp = stamp() end
      held = e
    end
  end
  if timing or counting then e.t0 = mono() end
end

function post(call)
  local t1 = (timing or counting) and mono()
  local st = stacks[call.tid]
  if not st then return end
  -- the innermost call of this function in flight on the thread: every pre
  -- gets its post (returned or unwound), innermost first; calls above it
  -- are those a later wrap's pre skipped (no post for them)
  local func = call.func
  local n = #st
  local k = n
  while k > 0 and st[k].info.addr ~= func do k = k - 1 end
  if k == 0 then return end
  local e = st[k]
  for j = n, k, -1 do
    if st[j] == held and j > k then held = nil end
    st[j] = nil
  end
  if e.hidden then return end
  local info, p = e.info, e.info.proto
  local unwound = call.unwound
  local ret = not unwound and call.ret
  e.t1 = t1
  if counting then
    local dt = t1 - e.t0
    local parent = st[k - 1]
    if parent and parent.t0 then parent.child = (parent.child or 0) + dt end
    local s = stats[info.name]
    if not s then s = { 0, 0, 0 } stats[info.name] = s end
    s[1], s[2] = s[1] + 1, s[2] + dt - (e.child or 0)
    local err = p and not unwound and (p.ret.err or (p.ret.kind == "errnum" and p.ret.type.err))
    if err and err(ret) then s[3] = s[3] + 1 end
    return
  end
  cur = call
  local rtext, err
  if unwound then rtext = "<unwound>"
  elseif p then
    -- errno first, before more Lua work
    local en = p.ret.kind ~= "errnum" and p.ret.err and p.ret.err(ret) and errnum(call.tid)
    local fret = p.ret.type.float and call.fret
    rtext, err = protos.result(p, src, ret, fret)
    if err and p.ret.kind == "errnum" then en = tonumber(ret % 4294967296) end
    if jsonmode then return emit_json(e, call, rtext, protos.value(p, ret, fret), en and errno.name[en] or nil) end
    if en and errno.name[en] then rtext = format("%s %s (%s)", rtext, errno.name[en], errno.message[en]) end
  else rtext = protos.hex(ret) end
  if jsonmode then return emit_json(e, call, rtext, not unwound and ret) end
  local tail = timing and format(" <%.6f>", t1 - e.t0) or ""
  if held == e then
    held = nil
    local args = (e.post and not unwound) and protos.args_after(e, src, ret) or e.args
    write(e, e.stamp, info.name .. "(" .. args .. ") = " .. rtext .. tail)
  else
    if held then unhold() end
    write(e, stamps and stamp(), "<... " .. info.name .. " resumed> ) = " .. rtext .. tail)
  end
end

-- -- The summary (-c), as ltrace -c and strace -c print it ----------------------------------

local function summary()
  local names, total, calls, errors = {}, 0, 0, 0
  if jsonmode then
    local fs = {}
    for name, s in pairs(stats) do
      fs[#fs + 1] = { name = name, calls = s[1], seconds = s[2], errors = s[3] }
      calls, total, errors = calls + s[1], total + s[2], errors + s[3]
    end
    table.sort(fs, function(a, b) if a.seconds ~= b.seconds then return a.seconds > b.seconds end return a.name < b.name end)
    out(json.encode({ tool = "calltrace", pid = lurk.pid(), functions = json.array(fs),
      total = { calls = calls, seconds = total, errors = errors } }) .. "\n")
    return
  end
  for name, s in pairs(stats) do
    names[#names + 1] = name
    total, calls, errors = total + s[2], calls + s[1], errors + s[3]
  end
  table.sort(names, function(a, b)
    local x, y = stats[a], stats[b]
    if x[2] ~= y[2] then return x[2] > y[2] end
    if x[1] ~= y[1] then return x[1] > y[1] end
    return a < b
  end)
  local dash = "------ ----------- ----------- --------- --------- --------------------\n"
  local t = { "% time     seconds  usecs/call     calls    errors function\n", dash }
  for _, name in ipairs(names) do
    local s = stats[name]
    t[#t + 1] = format("%6.2f %11.6f %11d %9d %9s %s\n", total > 0 and 100 * s[2] / total or 0, s[2],
      floor(1e6 * s[2] / s[1] + 0.5), s[1], s[3] > 0 and tostring(s[3]) or "", name)
  end
  t[#t + 1] = dash
  t[#t + 1] = format("%6.2f %11.6f %11s %9d %9s total\n", 100, total, "", calls, errors > 0 and tostring(errors) or "")
  out(concat(t))
end

--- Start tracing: the command line's words (options and globs).
function M.start(...)
  local args = { ... }
  for i = 1, #args do
    if type(args[i]) ~= "string" then
      error(format("bad argument #%d to 'start' (string expected, got %s)", i, type(args[i])), 2)
    end
  end
  options(args)
  if from_entry then
    entered = false
    lurk.on("entry", function() entered = true end)
  end
  if maxstr then src.maxstr = maxstr end
  if timing or counting or stamps then clocks() end
  -- the modules mapped now are resolved at once; those mapped later at their load
  local known = {}
  for _, m in ipairs(lurk.modules()) do known[m.base] = true end
  resolve()
  lurk.on("module_load", function(m)
    if known[m.base] then known[m.base] = nil return end
    resolve(m.base, m["end"])
  end)
  lurk.on("module_unload", function(m)
    for a, w in pairs(wrapped) do
      if a >= m.base and a < m["end"] then w.h:remove() wrapped[a] = nil end
    end
  end)
  lurk.on("thread_init", function(e)
    if not live[e.tid] then live[e.tid] = true nlive = nlive + 1 end
  end)
  lurk.on("thread_exit", function(e)
    if live[e.tid] then live[e.tid] = nil nlive = nlive - 1 end
    unfinished(e.tid)
    stacks[e.tid], errloc[e.tid] = nil, nil
  end)
  lurk.on("fork", function()
    -- the child goes on with the stack of the thread that forked
    local tid = lurk.tid()
    local st = lurk.thread_data().calltrace
    stacks, live, nlive, forked, errloc = {}, { [tid] = true }, 1, true, {}
    local keep = false
    for _, e in ipairs(st or {}) do keep = keep or e == held end
    if not keep then held = nil end
    if st then
      stacks[tid] = st
      for _, e in ipairs(st) do e.tid = tid end
      lurk.thread_data().calltrace = st
    end
    for name in pairs(stats) do stats[name] = nil end
  end)
  lurk.on("exit", function(e)
    if held then unhold() end
    if jsonmode and not counting then
      for tid in pairs(stacks) do unfinished(tid) end
      out(json.encode({ tid = lurk.tid(), exited = e.status }) .. "\n")
    elseif counting then summary()
    else out(prefix(lurk.tid()) .. format("+++ exited (status %d) +++\n", e.status)) end
    for _, g in ipairs(globs) do
      if not matched[g] then lurk.log("calltrace: no function matches '%s'", g) end
    end
  end)
end

return M
