--- cachesim: a data-cache simulator in the manner of cachegrind: a
-- set-associative L1 data cache (D1) and a last-level cache (LL), LRU,
-- write-allocate, fed with every load and store by compiled code in
-- batches (lurk.memrec, lurk.buffer).
--
--   lurk run -t cachesim -- ./prog
--   lurk run -t cachesim=D1=32768,8,64,LL=1048576,16,64 -- ./prog
--   lurk run -t cachesim=json -- ./prog
--
-- Options: `D1=size,assoc,line` and `LL=size,assoc,line` (bytes; the
-- number of sets, size / (assoc * line), and line must be powers of two),
-- as cachegrind's --D1 and --LL (defaults: D1 32768,8,64; LL
-- 1048576,16,64); `json` for the report as JSON on lurk's output
-- (`json=FILE` to append it to FILE and keep the text).
--
-- Output (to lurk's output), in cachegrind's terms:
--
--   cachesim: D   refs:   170,650,172  (110,249,351 rd + 60,400,821 wr)
--   cachesim: D1  misses:   1,171,020  (    646,700 rd +    524,320 wr)
--   cachesim: LLd misses:     592,001  (    330,500 rd +    261,501 wr)
--   cachesim: D1  miss rate:      0.7%
--   cachesim: LLd miss rate:      0.3%
--
-- The model is cachegrind's (cg_sim.c): an access is looked up in D1; an
-- access that straddles two lines looks both up and is one miss if either
-- misses; a D1 miss looks the line(s) up in LL. Stores allocate like
-- loads. There is no instruction cache: cachegrind's I1 misses also fill
-- LL, so on code-heavy programs its LLd figures can differ a little from
-- these (cachegrind shares LL between instructions and data). What is
-- counted follows lurk.memrec (a rep string instruction counts one
-- element per execution, where cachegrind counts every iteration).
local M = {}

local floor, format = math.floor, string.format
local memrec = require "lurk.memrec"
local report = require "lurk.report"

local function group(n)
  local s = format("%d", n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

local function pow2(n) return n >= 1 and n == 2 ^ floor(math.log(n) / math.log(2) + 0.5) end

-- A cache: size, assoc, line -> { lookup = function(block) -> true on a miss }.
local function cache(name, size, assoc, line)
  local sets = size / (assoc * line)
  if not (pow2(line) and sets >= 1 and pow2(sets) and sets == floor(sets)) then
    error(format("cachesim: %s=%d,%d,%d: sets (size / (assoc * line)) and line must be powers of two",
                 name, size, assoc, line), 0)
  end
  local ffi = require "ffi"
  local tags = ffi.new("double[?]", sets * assoc)
  for i = 0, sets * assoc - 1 do tags[i] = -1 end
  -- block -> miss? (LRU: the set's ways in recency order, MRU first)
  local function lookup(block)
    local base = (block % sets) * assoc
    if tags[base] == block then return false end
    for w = 1, assoc - 1 do
      if tags[base + w] == block then
        for j = w, 1, -1 do tags[base + j] = tags[base + j - 1] end
        tags[base] = block
        return false
      end
    end
    for j = assoc - 1, 1, -1 do tags[base + j] = tags[base + j - 1] end
    tags[base] = block
    return true
  end
  return lookup, line, tags, sets, assoc
end

local function geometry(name, spec, default)
  local s = spec or default
  local a, b, c = s:match("^(%d+),(%d+),(%d+)$")
  if not a then error(format("cachesim: %s wants size,assoc,line (got '%s')", name, s), 0) end
  return tonumber(a), tonumber(b), tonumber(c)
end

function M.start(...)
  local words, json = {}, nil
  for i = 1, select("#", ...) do words[#words + 1] = select(i, ...) end
  -- "D1=32768,8,64,LL=..." arrives split at commas: glue the numbers back
  local opts, cur = {}, nil
  for _, w in ipairs(words) do
    local k, v = w:match("^(%u%w*)=(.*)$")
    local j = report.json_option(w)
    if k then opts[k] = v; cur = k
    elseif j then json = j; cur = nil
    elseif cur and w:match("^%d+$") then opts[cur] = opts[cur] .. "," .. w
    elseif w ~= "" then error(format("cachesim: unknown option '%s' (D1=size,assoc,line, LL=size,assoc,line, json, json=FILE)", w), 2) end
  end
  for k in pairs(opts) do
    if k ~= "D1" and k ~= "LL" then error(format("cachesim: unknown cache '%s' (D1, LL)", k), 2) end
  end
  local d1, d1line
  d1, d1line, M.tags, M.sets, M.assoc = cache("D1", geometry("D1", opts.D1, "32768,8,64"))
  local ll, llline = cache("LL", geometry("LL", opts.LL, "1048576,16,64"))
  local refs = { 0, 0 }  -- reads, writes
  local m1 = { 0, 0 }
  local mL = { 0, 0 }

  -- One access: a D1 lookup of each line it touches, then LL for misses.
  local function access(ea, size, k)
    refs[k] = refs[k] + 1
    local last = ea + (size > 0 and size or 1) - 1
    local b1, b2 = floor(ea / d1line), floor(last / d1line)
    if b1 == b2 then
      if d1(b1) then
        m1[k] = m1[k] + 1
        if ll(floor(ea / llline)) then mL[k] = mL[k] + 1 end
      end
    else
      local x, y = d1(b1), d1(b2)
      if x or y then
        m1[k] = m1[k] + 1
        local lx = x and ll(floor(ea / llline))
        local ly = y and ll(floor(last / llline))
        if lx or ly then mL[k] = mL[k] + 1 end
      end
    end
  end

  -- The common case first, inline: one line, the most recent of its D1 set.
  local d1tags, d1sets, d1assoc = M.tags, M.sets, M.assoc
  local nrd, nwr = 0, 0
  local function batch(r, n)
    for i = 0, n - 1 do
      local ea, info = tonumber(r[2 * i]), tonumber(r[2 * i + 1])
      local size = info % 65536
      local b = floor(ea / d1line)
      if d1tags[(b % d1sets) * d1assoc] == b and floor((ea + size - 1) / d1line) == b then
        if info >= 65536 then nwr = nwr + 1 else nrd = nrd + 1 end
      else
        access(ea, size, info >= 65536 and 2 or 1)
      end
    end
  end
  local buf = assert(lurk.buffer(2, batch, 65536))
  local function rec(ctx, ea, info) buf(ea, info) end
  lurk.on("bb", function(bb) memrec.instrument(bb, rec, true) end)

  lurk.on("exit", function()
    refs[1], refs[2] = refs[1] + nrd, refs[2] + nwr
    local D = refs[1] + refs[2]
    local function row(label, t)
      return format("cachesim: %-10s %14s  (%14s rd + %14s wr)", label, group(t[1] + t[2]), group(t[1]), group(t[2]))
    end
    if json ~= true then
      lurk.log("%s", row("D   refs:", refs))
      lurk.log("%s", row("D1  misses:", m1))
      lurk.log("%s", row("LLd misses:", mL))
      lurk.log("cachesim: D1  miss rate: %8.1f%%", D > 0 and 100 * (m1[1] + m1[2]) / D or 0)
      lurk.log("cachesim: LLd miss rate: %8.1f%%", D > 0 and 100 * (mL[1] + mL[2]) / D or 0)
    end
    if json then
      assert(report.json({ tool = "cachesim", pid = lurk.pid(),
        D = { refs = D, rd = refs[1], wr = refs[2] },
        D1 = { misses = m1[1] + m1[2], rd = m1[1], wr = m1[2] },
        LLd = { misses = mL[1] + mL[2], rd = mL[1], wr = mL[2] } }, json))
    end
  end)
end

return M
