--- countcalls: count the direct calls, indirect calls and returns the
-- program executes, per thread and in total (DynamoRIO's countcalls
-- sample, the tutorial tool).
--
--   lurk run -t countcalls -- ls /tmp
--   lurk run countcalls.lua -- ./prog           # the same as a script
--   lurk run -t countcalls=json -- ./prog       # the report as JSON
--
-- Options: `json` writes the report as one line of JSON on lurk's output
-- instead of the text; `json=FILE` appends it to FILE (`%p`: the pid) and
-- keeps the text. The JSON holds the same facts (docs/tools.md):
--
--   {"pid":20917,"threads":[{"direct":6710,"indirect":929,"main":true,"returns":7636,
--    "tid":20917}],"tool":"countcalls","total":{"direct":6710,"indirect":929,
--    "returns":7636,"threads":1}}
--
-- Each thread's line is printed when the thread exits; the threads still
-- running when the process ends (the main thread among them, marked
-- "main") and the total follow at exit. Sample output (cd /usr/share &&
-- lurk run -t countcalls -- /bin/ls, to lurk's output):
--
--   countcalls: thread 20917 (main): 6710 direct calls, 929 indirect calls, 7636 returns
--   countcalls: total, 1 thread: 6710 direct calls, 929 indirect calls, 7636 returns
--
-- and for spec/lua/tools_calls.c (two threads making 10000 direct and 3000
-- indirect calls each):
--
--   countcalls: thread 32459: 10013 direct calls, 3002 indirect calls, 13014 returns
--   countcalls: thread 32460: 10013 direct calls, 3002 indirect calls, 13014 returns
--   countcalls: thread 32458 (main): 186 direct calls, 30 indirect calls, 213 returns
--   countcalls: total, 3 threads: 20212 direct calls, 6034 indirect calls, 26241 returns
--
-- A direct call has an immediate target (`call 0x401126`), an indirect one
-- reads it from a register or memory (`call rax`, `call qword ptr [rip+x]`);
-- every `ret` is a return. Calls and returns need not balance: lurk starts
-- counting in the middle of the program's start-up (returns from frames
-- entered before), exit() never returns, longjmp skips returns.
--
-- How: a block ends at its first call or return, so a block holds at most
-- one of them, as its last instruction. The `bb` handler inserts one clean
-- call before it, with the kind as a constant argument; the handler adds
-- one to that kind's cell of a lurk.counters array, so it is compiled: a
-- single add in the block, no Lua runs (docs/lua-api.md, Compiled
-- handlers). Counters keep one share per thread: a thread's line is its
-- share (c:thread), the total is the sum, which also holds threads that
-- exited, vfork children (their share joins the total when they exec)
-- and, in a forked child, the other threads of the parent up to the fork
-- (only the forking thread goes on in the child, with its own share).
local M = {}

local format, sort = string.format, table.sort
local log = lurk.log
local report = require "lurk.report"

local DIRECT, INDIRECT, RET = 1, 2, 3
local C = assert(lurk.counters(3)) -- direct calls, indirect calls, returns
local live = {}            -- tid -> true while the thread runs (in this process)
local nthreads = 0
local mypid = lurk.pid()   -- the process this state belongs to
local json               -- the json option's destination (true: lurk's output)
local records = {}       -- the threads' lines, for json

local function on_branch(ctx, kind) C[kind] = C[kind] + 1 end

-- A thread's share of the three counters.
local function share(tid)
  return { C:thread(1, tid) or 0, C:thread(2, tid) or 0, C:thread(3, tid) or 0 }
end

local function line(who, c)
  if json ~= true then
    log("countcalls: %s: %d direct calls, %d indirect calls, %d returns", who, c[1], c[2], c[3])
  end
end

local function record(tid, c)
  if json then
    records[#records + 1] = { tid = tid, main = tid == lurk.pid(), direct = c[1], indirect = c[2], returns = c[3] }
  end
end

local function thread_name(tid)
  return format("thread %d%s", tid, tid == lurk.pid() and " (main)" or "")
end

local function seen(tid)
  if not live[tid] then live[tid] = true; nthreads = nthreads + 1 end
end

function M.start(...)
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    local j = report.json_option(a)
    if j then json = j
    elseif a ~= "" then error(format("countcalls: unknown option '%s' (json, json=FILE)", tostring(a)), 2) end
  end
  seen(lurk.tid())
  lurk.on("bb", function(bb)
    local n = #bb
    local last = bb[n]
    local kind = last.is_ret and RET or last.is_call and not last.is_far and
                 (last.is_direct and DIRECT or INDIRECT)
    if kind then bb:call_before(n, on_branch, kind) end
  end)
  lurk.on("thread_init", function(e) seen(e.tid) end)
  lurk.on("thread_exit", function(e)
    local c = share(e.tid)
    line(thread_name(e.tid), c)
    record(e.tid, c)
    live[e.tid] = nil
  end)
  lurk.on("fork", function()
    -- only the forking thread goes on in the child, with its own share
    live, mypid = { [lurk.tid()] = true }, lurk.pid()
  end)
  lurk.on("exec", function()
    -- a vfork child shares this Lua state until it execs: its thread_init
    -- was raised here, its thread_exit never is; its share joins the total
    if lurk.pid() ~= mypid then live[lurk.tid()] = nil end
  end)
  lurk.on("exit", function()
    local tids = {}
    for t in pairs(live) do tids[#tids + 1] = t end
    sort(tids)
    for _, t in ipairs(tids) do
      local c = share(t)
      line(thread_name(t), c)
      record(t, c)
    end
    local total = { C[1], C[2], C[3] }
    line(format("total, %d thread%s", nthreads, nthreads == 1 and "" or "s"), total)
    if json then
      assert(report.json({ tool = "countcalls", pid = lurk.pid(), threads = records,
        total = { threads = nthreads, direct = total[1], indirect = total[2], returns = total[3] } }, json))
    end
  end)
end

return M
