--- profile: a sampling profiler. Every thread is sampled HZ times per
-- second of its CPU time; each sample's call stack (CFI unwinding,
-- symbolized with lurk.sym) is counted. At exit: the top functions by
-- samples, and on request folded stacks (FlameGraph, speedscope) and a
-- self-contained flame-graph SVG.
--
--   lurk run profile -- python3 app.py                 # top 20 to lurk's output
--   lurk run profile --svg prof.svg -- ./prog           # and a flame graph
--   lurk run profile --folded prof.folded --hz 499 -- ./prog
--   lurk run -t profile=--top,40 -- ./prog
--
-- Options:
--   --hz N         samples per CPU-second per thread (default 1000)
--   --top N        functions in the table (default 20; 0: none)
--   --depth N      frames kept per sample (default 128; deeper stacks lose their root)
--   --folded FILE  folded stacks, one line per distinct stack: "a;b;c N"
--   --svg FILE     a flame graph (open it in a browser)
--   --threads      one root frame per thread in the folded stacks and SVG
--
-- Sample output (lurk run profile -- python3 -c '...'):
--
--   profile: 1204 samples, 1 thread, 1000 Hz (391 ticks in lurk's own code not counted)
--     self%  total%  samples  function
--     21.8%   21.8%      262  _PyEval_EvalFrameDefault (python3.11)
--      9.1%   12.0%      109  dict_subscript (python3.11)
--      ...
--
-- A forked child reports its own samples (from the fork on) and writes
-- FILE.PID; a program it execs starts a new profile of its own.
--
-- A tick that lands in lurk's own code (its indirect-branch lookups, the
-- translator) is time lurk spends for the program, which the program would
-- not spend natively: it is not counted (the header says how many).
--
-- self: samples whose innermost frame is in the function; total: samples
-- with the function anywhere on the stack (once per sample, so recursion
-- does not count twice). A frame with no symbol shows as module+0xOFFSET,
-- a pc in no module as its address. Return addresses are symbolized at
-- pc-1 (the call), as gdb and perf do.
local M = {}

local format, concat, sort, log = string.format, table.concat, table.sort, lurk.log

local opts
local stacks = {}      -- root (tid with --threads, else 0) -> trie of pcs (on_sample)
local nsamples = 0
local threads = {}

local function parse(argv)
  opts = require("lurk.args").parse("profile", argv, {
    hz = { "count", 1000, min = 1 }, top = { "count", 20 }, depth = { "count", 128, min = 1 },
    folded = { "string" }, svg = { "string" }, threads = { "flag" },
  })
end

-- The samples in a trie per thread (one root without --threads): a node per
-- frame from the outermost in, keyed by pc; node[true] counts the samples
-- whose innermost frame it is (no string is built per sample).
local function on_sample(e)
  nsamples = nsamples + 1
  local tid = e.tid
  threads[tid] = true
  local pcs = e:backtrace(opts.depth)
  local r = opts.threads and tid or 0
  local node = stacks[r]
  if not node then node = {} stacks[r] = node end
  for i = #pcs, 1, -1 do
    local pc = pcs[i]
    local c = node[pc]
    if not c then c = {} node[pc] = c end
    node = c
  end
  node[true] = (node[true] or 0) + 1
end

-- pc -> frame name, cached (return addresses looked up at pc - 1).
local names = {}
local function frame_name(pc, ret)
  local q = ret and pc - 1 or pc
  local n = names[q]
  if n then return n end
  local s = lurk.sym(q, false) -- names only: no line tables to read
  if not s then n = format("0x%x", pc)
  else
    local mod = s.module or "?"
    if type(mod) == "table" then mod = mod.name end
    n = s.name and format("%s (%s)", s.name, mod) or format("%s+0x%x", mod, q - s.base)
  end
  names[q] = n
  return n
end

-- The samples as a list of {frames (outermost first), count}.
local function resolved()
  local out = {}
  local path = {}
  local function walk(node, depth, root)
    for pc, child in pairs(node) do
      if pc ~= true then
        path[depth + 1] = pc
        local count = child[true]
        if count then
          local f = {}
          if root then f[1] = root end
          -- every frame but the innermost is a return address
          for j = 1, depth + 1 do f[#f + 1] = frame_name(path[j], j <= depth) end
          out[#out + 1] = { frames = f, count = count }
        end
        walk(child, depth + 1, root)
      end
    end
    path[depth + 1] = nil
  end
  for r, node in pairs(stacks) do walk(node, 0, opts.threads and ("thread " .. r) or nil) end
  -- distinct pcs may name the same stack: merge them
  local merged, list = {}, {}
  for _, x in ipairs(out) do
    local k = concat(x.frames, ";")
    if merged[k] then merged[k].count = merged[k].count + x.count
    else merged[k] = x list[#list + 1] = x end
  end
  sort(list, function(a, b) return concat(a.frames, ";") < concat(b.frames, ";") end)
  return list
end

local function report()
  local all = resolved()
  local nt = 0
  for _ in pairs(threads) do nt = nt + 1 end
  local _, dropped = lurk.sampling()
  log("profile: %d samples, %d thread%s, %d Hz (%d ticks in lurk's own code not counted)",
      nsamples, nt, nt == 1 and "" or "s", opts.hz, dropped)
  if opts.top > 0 and nsamples > 0 then
    local self, total = {}, {}
    for _, s in ipairs(all) do
      local leaf = s.frames[#s.frames]
      self[leaf] = (self[leaf] or 0) + s.count
      local seen = {}
      for _, f in ipairs(s.frames) do
        if not seen[f] and not f:match("^thread %d+$") then
          seen[f] = true
          total[f] = (total[f] or 0) + s.count
        end
      end
    end
    local fns = {}
    for f in pairs(total) do fns[#fns + 1] = f end
    sort(fns, function(a, b)
      local sa, sb = self[a] or 0, self[b] or 0
      if sa ~= sb then return sa > sb end
      if total[a] ~= total[b] then return total[a] > total[b] end
      return a < b
    end)
    log("  %6s  %6s  %7s  %s", "self%", "total%", "samples", "function")
    for i = 1, math.min(opts.top, #fns) do
      local f = fns[i]
      log("  %5.1f%%  %5.1f%%  %7d  %s", 100 * (self[f] or 0) / nsamples, 100 * total[f] / nsamples,
          self[f] or 0, f)
    end
  end
  if opts.folded or opts.svg then
    local st = require("lurk.folded").new()
    for _, x in ipairs(all) do st:add(x.frames, x.count) end
    if opts.folded then
      local ok, err = st:write(opts.folded)
      if not ok then log("profile: %s", err) end
    end
    if opts.svg then
      local ok, err = require("lurk.flame").svg(st, opts.svg, { title = "lurk profile", count = "samples" })
      if not ok then log("profile: %s", err) end
    end
  end
end

--- Start profiling (options as on the command line).
function M.start(...)
  parse({ ... })
  assert(lurk.sampling(opts.hz))
  lurk.on("sample", on_sample)
  lurk.on("fork", function()
    -- the child reports its own samples, into FILE.PID
    stacks, nsamples, threads = {}, 0, {}
    if opts.folded then opts.folded = opts.folded .. "." .. lurk.pid() end
    if opts.svg then opts.svg = opts.svg .. "." .. lurk.pid() end
  end)
  lurk.on("exit", report)
end

return M
