--- bbcount: count the basic blocks the program executes: the total, the
-- distinct blocks (distinct start pcs), and both per module; with `threads`,
-- the blocks each thread executed too.
--
--   lurk run -t bbcount -- ls /tmp              # report at exit
--   lurk run -t bbcount=threads -- ./prog       # and one line per thread
--   lurk run bbcount.lua threads -- ./prog      # the same as a script
--   lurk run -t bbcount=json -- ./prog          # the report as JSON
--
-- Options (any order): `threads` prints each thread's executed blocks when
-- it exits (the threads still running, the main one among them, at the
-- process's exit). `json` writes the report as one line of JSON on lurk's
-- output instead of the text; `json=FILE` appends it to FILE (`%p`: the
-- pid) and keeps the text:
--
--   {"distinct":2547,"executed":98865,"modules":[{"distinct":1755,"executed":59841,
--    "path":"/usr/lib/x86_64-linux-gnu/libc.so.6"},...],"pid":4242,"threads":[],
--    "tool":"bbcount","translations":2547}
--
-- ("threads" lists { tid, main, executed } with `threads`.)
--
-- Sample output (cd /usr/share && lurk run -t bbcount -- /bin/ls, to lurk's
-- output; with `threads`, "bbcount: thread 20968: 30486 blocks executed"
-- lines come first, one per thread, the main one marked "(main)"):
--
--   bbcount: 98865 blocks executed, 2547 distinct (2547 translations)
--   bbcount:     executed  distinct  module
--   bbcount:        59841      1755  /usr/lib/x86_64-linux-gnu/libc.so.6
--   bbcount:        35165       504  /usr/bin/ls
--   bbcount:         3664       219  /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
--   bbcount:          155        29  /usr/lib/x86_64-linux-gnu/libselinux.so.1
--   bbcount:           10        10  (no module)
--   bbcount:           10        10  /usr/lib/x86_64-linux-gnu/libZydis.so.4.0.0.0
--   bbcount:           10        10  /usr/lib/x86_64-linux-gnu/libm.so.6
--   bbcount:           10        10  /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0.11.2
--
-- Modules are sorted by blocks executed. The 10 blocks of libZydis, libm
-- and "(no module)" (lurk's liblurk.so, which is not a module) are their
-- destructors (__do_global_dtors_aux, _fini), which ld.so runs at exit
-- like the program's own.
--
-- How: a `bb` handler inserts one clean call at the block's start, to a
-- handler of the block's module that adds one to that module's counter (an
-- upvalue, so lurk inlines the call: a counter add in the block, no Lua;
-- docs/lua-api.md). With `threads`, a second call (made, not inlined: it
-- reads ctx.tid) counts per thread. A block is counted when it starts, so one
-- that faults halfway counts as executed. Distinct blocks are counted at
-- translation, in a set of start pcs: a block may be translated more than
-- once (after a flush, or when its page turned read-only), which the
-- "translations" figure shows. A block is "executed" in the sense of the
-- translator: a jump into the middle of a known block starts a new one,
-- and a block ends at every branch, call, return and system call.
--
-- A forked child inherits the counters: its report covers the process's
-- history up to the fork, then the child's own blocks. A vfork child (sh
-- and posix_spawn use vfork) shares the parent's Lua state until it execs:
-- its blocks count in the parent's report.
local M = {}

local format, sort = string.format, table.sort
local module_at = lurk.module_at
local report_ = require "lurk.report"
local json                -- the json option's destination (true: lurk's output)
local records = {}        -- threads' lines, for json

-- lurk.log, unless the report goes to lurk's output as JSON.
local function log(...)
  if json ~= true then lurk.log(...) end
end

local count = {}     -- module path -> handler adding one to the module's counter
local executed = {}  -- module path -> function returning that counter
local nblocks = 0    -- translations
local seen = {}      -- start pc -> module path, the first time it is translated
local distinct = 0
local per = {}       -- tid -> blocks executed (with `threads`)
local mypid = lurk.pid() -- the process this state belongs to

-- The counting handler of module m (one per module: an upvalue each).
local function counter(m)
  if not count[m] then
    local c = 0
    count[m] = function(ctx) c = c + 1 end
    executed[m] = function() return c end
  end
  return count[m]
end

local function on_block_thread(ctx)
  local t = ctx.tid
  per[t] = (per[t] or 0) + 1
end

local function thread_line(tid, n)
  if json then records[#records + 1] = { tid = tid, main = tid == lurk.pid(), executed = n } end
  log("bbcount: thread %d%s: %d blocks executed", tid, tid == lurk.pid() and " (main)" or "", n)
end

local function report()
  local total, bymod, dmod = 0, {}, {}
  for m, get in pairs(executed) do
    bymod[m] = get()
    total = total + bymod[m]
  end
  for _, m in pairs(seen) do dmod[m] = (dmod[m] or 0) + 1 end
  log("bbcount: %d blocks executed, %d distinct (%d translations)", total, distinct, nblocks)
  local mods = {}
  for m in pairs(dmod) do mods[#mods + 1] = m end
  sort(mods, function(a, b)
    local x, y = bymod[a] or 0, bymod[b] or 0
    if x ~= y then return x > y end
    return a < b
  end)
  log("bbcount: %12s  %8s  %s", "executed", "distinct", "module")
  for _, m in ipairs(mods) do log("bbcount: %12d  %8d  %s", bymod[m] or 0, dmod[m], m) end
  if json then
    local list = {}
    for i, m in ipairs(mods) do list[i] = { path = m, executed = bymod[m] or 0, distinct = dmod[m] } end
    local J = require "lurk.json"
    assert(report_.json({ tool = "bbcount", pid = lurk.pid(), executed = total, distinct = distinct,
      translations = nblocks, modules = J.array(list), threads = J.array(records) }, json))
  end
end

--- Start counting; the arguments are the options above.
function M.start(...)
  local threads = false
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    local j = report_.json_option(a)
    if a == "threads" then threads = true
    elseif j then json = j
    elseif a ~= "" then error(format("bbcount: unknown option '%s' (known: threads, json, json=FILE)", tostring(a)), 2) end
  end
  lurk.on("bb", function(bb)
    local pc = bb.pc
    nblocks = nblocks + 1
    local m = seen[pc]
    if not m then
      local mod = module_at(pc)
      m = mod and mod.path or "(no module)"
      seen[pc] = m
      distinct = distinct + 1
    end
    bb:call_before(1, counter(m))
    if threads then bb:call_before(1, on_block_thread) end
  end)
  if threads then
    lurk.on("thread_exit", function(e)
      thread_line(e.tid, per[e.tid] or 0)
      per[e.tid] = nil
    end)
    lurk.on("fork", function()
      -- the child's one thread goes on with the forking thread's count
      -- (lurk's thread data follow the same rule); the others are the parent's
      per = { [lurk.tid()] = per[lurk.thread_data().bbcount_tid or -1] or 0 }
      mypid = lurk.pid()
    end)
    lurk.on("exec", function()
      -- a vfork child shares this Lua state until it execs: its thread_init
      -- was raised here, its thread_exit never is
      if lurk.pid() ~= mypid then per[lurk.tid()] = nil end
    end)
    lurk.on("thread_init", function(e) e.data.bbcount_tid = e.tid end)
  end
  lurk.on("exit", function()
    if threads then
      local tids = {}
      for t in pairs(per) do tids[#tids + 1] = t end
      sort(tids)
      for _, t in ipairs(tids) do thread_line(t, per[t]) end
    end
    report()
  end)
end

return M
