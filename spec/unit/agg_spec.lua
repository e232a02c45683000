-- lua/lurk/agg.lua in the specs' Lua (pure Lua, no engine); lualib_spec
-- runs it under lurk (printing at exit).
local h = require "spec.util.helper"
h.lualib()
local agg = require "lurk.agg"

local BAR = 52
-- One bpftrace histogram line: label, count, bar of `at` @ of 52.
local function row(label, n, at)
  return string.format("%-16s %8d |%s%s|", label, n, string.rep("@", at), string.rep(" ", BAR - at))
end

-- A sink with write(), for agg.print.
local function sink()
  local s = { text = "" }
  function s:write(x) self.text = self.text .. x return self end
  return s
end

describe("lurk.agg", function()
  it("counts by key, printed sorted by value (largest last)", function()
    local m = agg.count("calls", { print = false })
    for _ = 1, 5 do m:add("read") end
    m:add("close")
    m:add("mmap") m:add("mmap")
    assert.equal("@calls[close]: 1\n@calls[mmap]: 2\n@calls[read]: 5\n", m:format())
    assert.equal("@calls[mmap]: 2\n@calls[read]: 5\n", m:format(2))
    assert.equal(5, m:get("read"))
    assert.is_nil(m:get("open"))
  end)

  it("keys by several values (tuples) of any type; ties sorted by key", function()
    local m = agg.sum("bytes", { print = false })
    m:add(10, "write", 1)
    m:add(5, "write", 2)
    m:add(7, "write", 1)
    m:add(5, "read", 0)
    m:add(1, true, 2.5)
    assert.equal("@bytes[true, 2.5]: 1\n@bytes[read, 0]: 5\n@bytes[write, 2]: 5\n@bytes[write, 1]: 17\n",
      m:format())
    assert.equal(17, m:get("write", 1))
    assert.equal(5, m:get("write", 2))
    local keys = {}
    for k, v in m:pairs() do keys[#keys + 1] = table.concat({ tostring(k[1]), tostring(k[2]), v }, ":") end
    assert.same({ "true:2.5:1", "read:0:5", "write:2:5", "write:1:17" }, keys)
  end)

  it("has no key when none is given (bpftrace's @x = count())", function()
    local m = agg.count("n", { print = false })
    m:add() m:add() m:add()
    assert.equal("@n: 3\n", m:format())
    local u = agg.sum(nil, { print = false })
    u:add(2.5) u:add(0.25)
    assert.equal("@: 2.75\n", u:format())
  end)

  it("keeps min, max, avg and stats", function()
    local mn, mx = agg.min("lo", { print = false }), agg.max("hi", { print = false })
    local av, st = agg.avg("av", { print = false }), agg.stats("st", { print = false })
    for _, v in ipairs({ 5, -3, 12, 7 }) do
      mn:add(v, "k") mx:add(v, "k") av:add(v, "k") st:add(v, "k")
    end
    st:add(100, "j")
    assert.equal("@lo[k]: -3\n", mn:format())
    assert.equal("@hi[k]: 12\n", mx:format())
    assert.equal("@av[k]: 5.25\n", av:format())
    assert.equal("@st[j]: count 1, average 100, total 100\n@st[k]: count 4, average 5.25, total 21\n", st:format())
    assert.same({ count = 4, average = 5.25, total = 21 }, st:get("k"))
  end)

  it("puts values in power-of-two buckets with bpftrace's labels and bars", function()
    local m = agg.hist("sizes", { print = false })
    -- (..., 0): 1; [0]: 2 (0 and 0.5); [1]: 1; [2, 4): 2; [4, 8): 4; [8, 16): 0; [16, 32): 1
    for _, v in ipairs({ -1, 0, 0.5, 1, 2, 3, 4, 5, 6, 7, 16 }) do m:add(v) end
    local want = table.concat({
      "@sizes:",
      row("(..., 0)", 1, 13), row("[0]", 2, 26), row("[1]", 1, 13), row("[2, 4)", 2, 26),
      row("[4, 8)", 4, 52), row("[8, 16)", 0, 0), row("[16, 32)", 1, 13), "" }, "\n")
    assert.equal(want, m:format())
  end)

  it("labels large buckets with K, M, G and puts 2^k - 1 and 2^k apart", function()
    local m = agg.hist("big", { print = false })
    m:add(1023) m:add(1024) m:add(2 ^ 20) m:add(2 ^ 20 - 1) m:add(2 ^ 30) m:add(2 ^ 40 + 5)
    local b = {}
    for _, bk in ipairs(m:get()) do b[#b + 1] = string.format("%g-%g:%d", bk.lo, bk.hi, bk.count) end
    assert.same({ "512-1024:1", "1024-2048:1", "524288-1.04858e+06:1", "1.04858e+06-2.09715e+06:1",
      "1.07374e+09-2.14748e+09:1", "1.09951e+12-2.19902e+12:1" }, b)
    local text = m:format()
    assert.truthy(text:find("\n[512, 1K)    ", 1, true))
    assert.truthy(text:find("\n[1K, 2K)     ", 1, true))
    assert.truthy(text:find("\n[512K, 1M)   ", 1, true))
    assert.truthy(text:find("\n[1G, 2G)     ", 1, true))
    assert.truthy(text:find("\n[1T, 2T)     ", 1, true))
    for e = 0, 62 do -- every boundary
      assert.equal(e + 2, agg.hist_index(2 ^ e))
      if e > 0 and e <= 53 then assert.equal(e + 1, agg.hist_index(2 ^ e - 1)) end -- exact doubles
    end
  end)

  it("puts values in linear buckets (lhist), with under and over buckets", function()
    local m = agg.lhist("lat", 0, 100, 10, { print = false })
    for _, v in ipairs({ -5, 0, 9, 10, 55, 99, 100, 200 }) do m:add(v) end
    local want = { "@lat:", row("(..., 0)", 1, 26), row("[0, 10)", 2, 52), row("[10, 20)", 1, 26) }
    for lo = 20, 40, 10 do want[#want + 1] = row(string.format("[%d, %d)", lo, lo + 10), 0, 0) end
    want[#want + 1] = row("[50, 60)", 1, 26)
    for lo = 60, 80, 10 do want[#want + 1] = row(string.format("[%d, %d)", lo, lo + 10), 0, 0) end
    want[#want + 1] = row("[90, 100)", 1, 26)
    want[#want + 1] = row("[100, ...)", 2, 52)
    assert.equal(table.concat(want, "\n") .. "\n", m:format())
    local k = agg.lhist("kb", 0, 4096, 1024, { print = false })
    k:add(1500) k:add(5000)
    assert.equal("@kb:\n" .. row("[1K, 2K)", 1, 52) .. "\n" .. row("[2K, 3K)", 0, 0) .. "\n"
      .. row("[3K, 4K)", 0, 0) .. "\n" .. row("[4K, ...)", 1, 52) .. "\n", k:format())
  end)

  it("prints one histogram per key, sorted by total count", function()
    local m = agg.hist("h", { print = false })
    m:add(3, "b") m:add(3, "b") m:add(100, "a")
    assert.equal("@h[a]:\n" .. row("[64, 128)", 1, 52) .. "\n\n@h[b]:\n" .. row("[2, 4)", 2, 52) .. "\n",
      m:format())
  end)

  it("merges per-thread shards when read and printed", function()
    local c = agg.count("c", { print = false })
    c:thread(101):add("x") c:thread(102):add("x") c:thread(102):add("y") c:add("x")
    assert.equal("@c[y]: 1\n@c[x]: 3\n", c:format())
    assert.equal(2, c:thread(102).data.x == nil and 0 or (c:thread(102).data.x + c:thread(102).data.y))
    local n = 0
    for tid in pairs(c:threads()) do n = n + tid end
    assert.equal(203, n)
    local mn = agg.min("m", { print = false })
    mn:thread(1):add(5, "k") mn:thread(2):add(3, "k") mn:add(4, "k")
    assert.equal(3, mn:get("k"))
    local st = agg.stats("s", { print = false })
    st:thread(1):add(2) st:thread(2):add(4)
    assert.same({ count = 2, average = 3, total = 6 }, st:get())
    local l = agg.lhist("l", 0, 10, 5, { print = false })
    l:thread(7):add(1) l:thread(8):add(2) l:thread(8):add(50)
    assert.equal("@l:\n" .. row("[0, 5)", 2, 52) .. "\n" .. row("[5, 10)", 0, 0) .. "\n"
      .. row("[10, ...)", 1, 26) .. "\n", l:format())
    -- a shard is checked against the map's number of keys
    assert.has_error(function() c:thread(103):add("a", "b") end,
      "bad argument #2 to 'add' (agg.count (@c) has 1 key, got 2)")
  end)

  it("clears", function()
    local m = agg.count("c", { print = false })
    m:add("a") m:thread(3):add("a")
    m:clear()
    assert.equal("", m:format())
    m:add(1, 2) -- the number of keys is free again after clear
    assert.equal("@c[1, 2]: 1\n", m:format())
  end)

  it("checks its arguments", function()
    local m = agg.count("c", { print = false })
    m:add("a")
    assert.has_error(function() m:add("a", "b") end, "bad argument #2 to 'add' (agg.count (@c) has 1 key, got 2)")
    assert.has_error(function() m:add() end, "bad argument #1 to 'add' (agg.count (@c) has 1 key, got 0)")
    assert.has_error(function() m:add(nil) end, "bad argument #1 to 'add' (key is nil)")
    assert.has_error(function() m:add(0 / 0) end, "bad argument #1 to 'add' (key is " .. tostring(0 / 0) .. ")")
    local s = agg.sum("s", { print = false })
    assert.has_error(function() s:add("x", "k") end, "bad argument #1 to 'add' (number expected, got string)")
    s:add(1, "a", "b")
    assert.has_error(function() s:add(1, "a", nil) end, "bad argument #3 to 'add' (key is nil)")
    assert.has_error(function() agg.count(5) end, "bad argument #1 to 'count' (string expected, got number)")
    assert.has_error(function() agg.lhist("x", 0, 10, 3) end,
      "bad argument #4 to 'lhist' (max - min must be a multiple of step)")
    assert.has_error(function() agg.lhist("x", 10, 0, 1) end, "bad argument #3 to 'lhist' (max must be greater than min)")
    assert.has_error(function() agg.lhist("x", 0, 10, 0) end, "bad argument #4 to 'lhist' (step must be positive)")
    assert.has_error(function() agg.print({}) end, "bad argument #1 to 'print' (agg map expected, got table)")
    assert.equal("agg.count (@c)", tostring(m))
  end)

  it("prints at exit the maps the script did not print", function()
    local a = agg.count("auto_a")
    local b = agg.count("auto_b")
    local q = agg.count("auto_quiet", { print = false })
    local e = agg.count("auto_empty")
    a:add("x") b:add("y") q:add("z")
    local s1 = sink()
    agg.print(b, nil, s1)
    assert.equal("@auto_b[y]: 1\n", s1.text)
    local s2 = sink()
    agg.print_pending(s2)
    assert.equal("@auto_a[x]: 1\n", s2.text)
    -- printed once: nothing is left
    local s3 = sink()
    agg.print_pending(s3)
    assert.equal("", s3.text)
    assert.is_true(#agg.maps() >= 4)
    assert.equal(0, #e:entries())
  end)
end)
