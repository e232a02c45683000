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

-- A cache's geometry: size, assoc, line (sets and line powers of two).
local function check(name, size, assoc, line)
  local sets = size / (assoc * line)
  if not (pow2(line) and sets >= 1 and pow2(sets) and sets == floor(sets)) then
    error(format("cachesim: %s=%d,%d,%d: sets (size / (assoc * line)) and line must be powers of two",
                 name, size, assoc, line), 0)
  end
  return size, assoc, line, sets
end

local function geometry(name, spec, default)
  local s = spec or default
  local a, b, c = s:match("^(%d+),(%d+),(%d+)$")
  if not a then error(format("cachesim: %s wants size,assoc,line (got '%s')", name, s), 0) end
  return tonumber(a), tonumber(b), tonumber(c)
end

function M.start(...)
  local words, json, nofilter = {}, nil, false
  for i = 1, select("#", ...) do words[#words + 1] = select(i, ...) end
  -- "D1=32768,8,64,LL=..." arrives split at commas: glue the numbers back
  local opts, cur = {}, nil
  for _, w in ipairs(words) do
    local k, v = w:match("^(%u%w*)=(.*)$")
    local j = report.json_option(w)
    if k then opts[k] = v; cur = k
    elseif j then json = j; cur = nil
    elseif w == "filter=0" or w == "filter=1" then nofilter = w == "filter=0"; cur = nil
    elseif cur and w:match("^%d+$") then opts[cur] = opts[cur] .. "," .. w
    elseif w ~= "" then error(format("cachesim: unknown option '%s' (D1=size,assoc,line, LL=size,assoc,line, json, json=FILE, filter=0|1)", w), 2) end
  end
  for k in pairs(opts) do
    if k ~= "D1" and k ~= "LL" then error(format("cachesim: unknown cache '%s' (D1, LL)", k), 2) end
  end
  local d1size, d1assoc, d1line, d1sets = check("D1", geometry("D1", opts.D1, "32768,8,64"))
  local llsize, llassoc, llline = check("LL", geometry("LL", opts.LL, "1048576,16,64"))
  -- The simulation: lurk.cachesim, cachegrind's model in C (cg_sim.c: an
  -- access looks up the first and the last line it touches in D1, and the
  -- ones D1 missed in LL), takes the recorded batches itself: no Lua runs
  -- per record (docs/decisions.md: the same model in Lua took 60% of the
  -- matrix product's time).
  local sim = lurk.cachesim(d1size, d1assoc, d1line, llsize, llassoc, llline)
  local buf = assert(lurk.buffer(2, sim, 65536))
  -- In the block, compiled: an access within one line that is already the
  -- most recent of its D1 set is a hit that changes nothing (LRU), so it
  -- is only counted; every other access is recorded, and its line (both,
  -- for one across two lines) becomes its set's most recent, as the
  -- simulation will make it. The most recent line of each set is kept per
  -- thread (lurk.perthread), which is exact for one thread; threads'
  -- records interleave by batches anyway.
  local shift, nbits = floor(math.log(d1line) / math.log(2) + 0.5), floor(math.log(d1sets) / math.log(2) + 0.5)
  local mru = d1sets > 1 and not nofilter and assert(lurk.perthread(d1sets))
  local hits = assert(lurk.counters(2)) -- reads, writes
  -- (made from source: a shift by a constant is what compiles)
  local rec = mru and assert(load(([[
    local mru, hits, buf = ...
    local low, shr = lurk.low, lurk.shr
    return function(ctx, ea, info, last, kind)
      local b = shr(ea, SHIFT)
      local s = low(b, NBITS) + 1
      if low(ea, SHIFT) + last < LINE then
        if mru[s] == b + 1 then
          hits[kind] = hits[kind] + 1
          return
        end
        mru[s] = b + 1
      else
        -- the first and the last line (xsave's 512 bytes and more span
        -- several; the simulation looks at those two, as cachegrind)
        mru[s] = b + 1
        local b2 = b + shr(low(low(ea, SHIFT) + last, 31), SHIFT)
        local s2 = low(b2, NBITS) + 1
        mru[s2] = b2 + 1
      end
      buf(ea, info)
    end]]):gsub("%u+", { SHIFT = shift, NBITS = nbits, LINE = d1line }), "=cachesim (D1 filter)"))(mru, hits, buf)
  local function rec_all(ctx, ea, info) buf(ea, info) end
  lurk.on("bb", function(bb)
    memrec.each(bb, function(i, ea, info)
      local size = info % 65536
      if mru then bb:call_before(i, rec, ea, info, size > 0 and size - 1 or 0, info >= 65536 and 2 or 1)
      else bb:call_before(i, rec_all, ea, info) end
    end)
  end)

  lurk.on("exit", function()
    local rd, wr, m1rd, m1wr, mLrd, mLwr = sim:counts()
    local refs, m1, mL = { rd + hits[1], wr + hits[2] }, { m1rd, m1wr }, { mLrd, mLwr }
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
