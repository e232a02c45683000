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
-- call before that instruction, with the kind (1 direct call, 2 indirect
-- call, 3 return) as a constant argument; blocks without one get no call.
-- The call adds one to the counter of the kind for its thread (ctx.tid), in
-- a table created at thread_init and kept in the thread's lurk.thread_data
-- too, so that a forked child goes on with the counts of the thread that
-- forked (its report covers the process's history up to the fork; the
-- other threads' counts of that history are in its total). A vfork child
-- (sh and posix_spawn use vfork) shares the parent's Lua state until it
-- execs: it is counted as one of the parent's threads.
local M = {}

local format, sort = string.format, table.sort
local log = lurk.log
local report = require "lurk.report"

local DIRECT, INDIRECT, RET = 1, 2, 3
local per = {}             -- tid -> { direct, indirect, returns }
local done = { 0, 0, 0 }   -- threads that exited
local nthreads = 0
local mypid = lurk.pid()   -- the process this state belongs to
local json               -- the json option's destination (true: lurk's output)
local records = {}       -- the threads' lines, for json

local function counts_of(tid)
  local c = per[tid]
  if not c then
    c = { 0, 0, 0 }
    per[tid] = c
    nthreads = nthreads + 1
  end
  return c
end

local function on_branch(ctx, kind)
  local c = per[ctx.tid] or counts_of(ctx.tid)
  c[kind] = c[kind] + 1
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

local function add(to, c)
  for k = 1, 3 do to[k] = to[k] + c[k] end
end

--- Start counting; the argument is the json option (or none).
function M.start(...)
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    local j = report.json_option(a)
    if j then json = j
    elseif a ~= "" then error(format("countcalls: unknown option '%s' (json, json=FILE)", tostring(a)), 2) end
  end
  lurk.on("bb", function(bb)
    local n = #bb
    local last = bb[n]
    local kind = last.is_ret and RET or last.is_call and not last.is_far and
                 (last.is_direct and DIRECT or INDIRECT)
    if kind then bb:call_before(n, on_branch, kind) end
  end)
  lurk.on("thread_init", function(e)
    e.data.countcalls = counts_of(e.tid)
  end)
  lurk.on("thread_exit", function(e)
    local c = counts_of(e.tid)
    line(thread_name(e.tid), c)
    record(e.tid, c)
    add(done, c)
    per[e.tid] = nil
  end)
  lurk.on("fork", function()
    -- only the forking thread goes on in the child: its counts (lurk's
    -- thread data follow the same rule); the others' are history
    local mine = lurk.thread_data().countcalls or { 0, 0, 0 }
    for _, c in pairs(per) do if c ~= mine then add(done, c) end end
    per, mypid = { [lurk.tid()] = mine }, lurk.pid()
  end)
  lurk.on("exec", function()
    -- a vfork child shares this Lua state until it execs: its thread_init
    -- was raised here, its thread_exit never is; its counts stay in the total
    if lurk.pid() ~= mypid then
      local c = per[lurk.tid()]
      if c then add(done, c) per[lurk.tid()] = nil end
    end
  end)
  lurk.on("exit", function()
    local tids, total = {}, { done[1], done[2], done[3] }
    for t in pairs(per) do tids[#tids + 1] = t end
    sort(tids)
    for _, t in ipairs(tids) do
      line(thread_name(t), per[t])
      record(t, per[t])
      add(total, per[t])
    end
    line(format("total, %d thread%s", nthreads, nthreads == 1 and "" or "s"), total)
    if json then
      assert(report.json({ tool = "countcalls", pid = lurk.pid(), threads = records,
        total = { threads = nthreads, direct = total[1], indirect = total[2], returns = total[3] } }, json))
    end
  end)
end

return M
