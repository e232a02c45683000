--- opcodes: the most executed instruction mnemonics, with counts and
-- percentages of all the instructions executed.
--
--   lurk run -t opcodes -- ls /tmp              # the top 20
--   lurk run -t opcodes=50 -- ./prog            # the top 50
--   lurk run -t opcodes=all -- ./prog           # every mnemonic seen
--   lurk run opcodes.lua 10 -- ./prog           # as a script, the top 10
--   lurk run -t opcodes=10,json -- ./prog       # the report as JSON
--
-- Options: N (or `top=N`), how many mnemonics to print (default 20);
-- `all` prints all of them. Ties are sorted by name. `json` writes the
-- report as one line of JSON on lurk's output instead of the text;
-- `json=FILE` appends it to FILE (`%p`: the pid) and keeps the text:
--
--   {"instructions":403406,"mnemonics":108,"pid":4242,"tool":"opcodes",
--    "top":[{"count":96937,"mnemonic":"mov","percent":24.03},...]}
--
-- Sample output (cd /usr/share && lurk run -t opcodes=8 -- /bin/ls, to
-- lurk's output):
--
--   opcodes: 403406 instructions executed, 108 mnemonics; top 8:
--   opcodes:          count       %  mnemonic
--   opcodes:          96937   24.03  mov
--   opcodes:          36521    9.05  cmp
--   opcodes:          26632    6.60  test
--   opcodes:          26012    6.45  jz
--   opcodes:          21334    5.29  push
--   opcodes:          20312    5.04  pop
--   opcodes:          19341    4.79  add
--   opcodes:          16085    3.99  jnz
--
-- Mnemonics are Zydis's (lower case; `jz`/`jnz`, not `je`/`jne`).
--
-- How: the `bb` handler gives each translated block an id and precomputes
-- its mnemonic counts ({mnemonic index, count} pairs); one clean call at
-- the block's start, with the id as a constant argument, adds one to the
-- block's execution counter, a cell of a lurk.counters array: the handler
-- is compiled, so the block does a single add and no Lua runs (about 0.06 s
-- against 0.73 s with --no-inline for ls -R /usr/share/doc). At exit every block's counts are multiplied
-- by its executions and summed, which gives the same totals as adding the
-- counts in every call, for a fraction of the work. A block is counted
-- whole when it starts: one that faults halfway counts every instruction.
-- A forked child inherits the counters (its report covers the process's
-- history up to the fork).
local M = {}

local format = string.format
local log = lurk.log
local report = require "lurk.report"

local names, index = {}, {} -- mnemonic <-> small integer
local mix = {}              -- block id -> { m1, c1, m2, c2, ... }
local nblocks = 0

-- Executions per block, in lurk.counters of CHUNK blocks each, with one
-- counting handler per chunk (compiled inline: a single add in the block).
local CHUNK = 4096
local chunks, counting = {}, {}
local function chunk(k)
  if not chunks[k] then
    local c = assert(lurk.counters(CHUNK))
    chunks[k] = c
    counting[k] = function(ctx, i) c[i] = c[i] + 1 end
  end
  return counting[k]
end
local function execs(id) return chunks[math.floor((id - 1) / CHUNK) + 1][(id - 1) % CHUNK + 1] end

local function on_bb(bb)
  local counts, order = {}, {}
  for i = 1, #bb do
    local m = bb[i].mnemonic
    local k = index[m]
    if not k then
      k = #names + 1
      names[k], index[m] = m, k
    end
    if not counts[k] then counts[k] = 0 order[#order + 1] = k end
    counts[k] = counts[k] + 1
  end
  local t = {}
  for _, k in ipairs(order) do t[#t + 1] = k t[#t + 1] = counts[k] end
  nblocks = nblocks + 1
  mix[nblocks] = t
  bb:call_before(1, chunk(math.floor((nblocks - 1) / CHUNK) + 1), (nblocks - 1) % CHUNK + 1)
end

--- Start counting; the argument is the number of mnemonics to print.
function M.start(...)
  local top, json = 20, nil
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    local n = type(a) == "string" and (a:match("^top=(%d+)$") or a:match("^(%d+)$"))
    local j = report.json_option(a)
    if n then top = tonumber(n)
    elseif a == "all" then top = math.huge
    elseif j then json = j
    elseif a ~= "" then error(format("opcodes: unknown option '%s' (N, top=N, all, json, json=FILE)", tostring(a)), 2) end
  end
  lurk.on("bb", on_bb)
  lurk.on("exit", function()
    local total, byname = 0, {}
    for id = 1, nblocks do
      local n, t = execs(id), mix[id]
      if n > 0 then
        for j = 1, #t, 2 do
          local m = names[t[j]]
          byname[m] = (byname[m] or 0) + n * t[j + 1]
        end
      end
    end
    local keys = report.sorted(byname)
    for _, m in ipairs(keys) do total = total + byname[m] end
    local shown = math.min(top, #keys)
    if json then
      local list = {}
      for i = 1, shown do
        local n = byname[keys[i]]
        -- the percentage as the text shows it (two decimals)
        list[i] = { mnemonic = keys[i], count = n, percent = tonumber(format("%.2f", 100 * n / total)) }
      end
      assert(report.json({ tool = "opcodes", pid = lurk.pid(), instructions = total, mnemonics = #keys,
        top = require("lurk.json").array(list) }, json))
      if json == true then return end
    end
    log("opcodes: %d instructions executed, %d mnemonics; %s:", total, #keys,
        shown == #keys and "all" or "top " .. shown)
    log("opcodes: %14s  %6s  %s", "count", "%", "mnemonic")
    for i = 1, shown do
      local n = byname[keys[i]]
      log("opcodes: %14d  %6.2f  %s", n, 100 * n / total, keys[i])
    end
  end)
end

return M
