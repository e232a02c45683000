-- lua/lurk/* under lurk (LuaJIT, lurk's io, the exit event) on real
-- programs: aggregations printed at exit and checked against strace.lua's
-- lines of the same run, per-thread shards on a threaded program, and every
-- writer's file read by its consumer (python3's json and xml modules,
-- callgrind_annotate).
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"

local tmp = h.tmpdir()
teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)

local function lines_of(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

describe("lurk.agg under lurk", function()
  it("prints its maps at exit, after the tools' exit handlers, with counts strace agrees with", function()
    local st = tmp .. "/strace.txt"
    local r = h.run({ "-t", "strace=" .. st, "-e", [[
      local agg = require "lurk.agg"
      local calls = agg.count("calls")
      local bytes = agg.sum("bytes")
      local printed = agg.count("printed")
      lurk.on("syscall_pre", function(e) calls:add(e.name) printed:add(1) end)
      lurk.on("syscall_post", function(e)
        if e.name == "write" and e.result > 0 then bytes:add(e.result, e.args[1]) end
      end)
      lurk.on("exit", function() print("exit handler") agg.print(printed) end)
    ]], "--", "/bin/ls", "-l", "/usr/share" })
    assert.equal(0, r.status, r.stderr)
    local out = lines_of(r.stderr)
    -- the script's own exit handler and its print of @printed come first
    assert.equal("exit handler", out[1])
    assert.matches("^@printed%[1%]: %d+$", out[2])
    -- then @calls, sorted by count, the largest last
    local calls, last, i = {}, 0, 3
    while out[i] and out[i]:match("^@calls") do
      local name, n = out[i]:match("^@calls%[([%w_]+)%]: (%d+)$")
      assert.truthy(name, out[i])
      n = tonumber(n)
      assert.is_true(n >= last, "sorted: " .. out[i])
      calls[name], last, i = n, n, i + 1
    end
    assert.equal(tonumber(out[2]:match("(%d+)$")), (function() local s = 0 for _, n in pairs(calls) do s = s + n end return s end)())
    -- strace's lines of the same run: one per call
    local want = {}
    for _, l in ipairs(lines_of(h.slurp(st))) do
      local name = l:match("^([%w_]+)%(")
      if name then want[name] = (want[name] or 0) + 1 end
    end
    assert.same(want, calls)
    -- a blank line, then @bytes: ls wrote its listing to fd 1
    assert.equal("", out[i])
    assert.equal(#r.stdout, tonumber(out[i + 1]:match("^@bytes%[1%]: (%d+)$")))
    assert.equal(i + 1, #out)
  end)

  it("merges per-thread shards: each worker thread's own calls, exactly", function()
    local prog = h.gcc(tmp .. "/thr", S .. "strace_thr.c", "-pthread")
    local r = h.run({ "-e", [[
      local agg = require "lurk.agg"
      local per = agg.count("per", { print = false })
      local shared = agg.count("shared", { print = false })
      lurk.on("syscall_pre", function(e) per:thread(e.tid):add(e.name) shared:add(e.name) end)
      lurk.on("exit", function()
        print(per:format() == shared:format():gsub("@shared", "@per"))
        local tids = {}
        for tid in pairs(per:threads()) do tids[#tids + 1] = tid end
        table.sort(tids)
        for _, tid in ipairs(tids) do
          local s = per:thread(tid)
          print(tid == lurk.pid() and "main" or "worker", s.data.openat, s.data.write, s.data.read, s.data.close)
        end
      end)
    ]], "--", prog })
    assert.equal(0, r.status, r.stderr)
    local out = lines_of(r.stderr)
    assert.equal("true", out[1])
    local workers = 0
    for i = 2, #out do
      if out[i]:match("^worker") then
        workers = workers + 1
        assert.equal("worker\t2\t1\t1\t2", out[i])
      end
    end
    assert.equal(3, workers)
  end)
end)

describe("the writers under lurk", function()
  it("write JSON, a Chrome trace, folded stacks, an SVG and a callgrind file from a real run", function()
    local base = tmp .. "/w"
    local r = h.run({ "-e", [[
      local json, trace = require "lurk.json", require "lurk.trace"
      local folded, flame = require "lurk.folded", require "lurk.flame"
      local callgrind = require "lurk.callgrind"
      local base = ]] .. string.format("%q", base) .. [[
      local t = trace.new(base .. ".trace.json")
      t:process_name("ls")
      local st, counts, n = folded.new(), {}, 0
      lurk.on("syscall_pre", function(e)
        n = n + 1
        t:complete(e.name, n, 0.5, { tid = e.tid, args = { a1 = e.args[1] } })
        t:counter("calls", n, { n = n })
        st:add({ "ls", e.name:sub(1, 1), e.name })
        counts[e.name] = (counts[e.name] or 0) + 1
      end)
      lurk.on("exit", function()
        t:instant("exit", n + 1, { scope = "p" })
        -- the trace is left open: lurk.trace closes it at exit
        assert(json.write({ total = n, calls = counts, big = 0x7fffffffffffffffLL, u = 18446744073709551615ULL,
          neg = -5LL }, base .. ".json"))
        assert(st:write(base .. ".folded"))
        assert(flame.svg(st, base .. ".svg", { title = "ls syscalls" }))
        local p = callgrind.new({ cmd = "ls" })
        local root = p:fn({ name = "ls", file = "ls.c", line = 1 })
        for name, c in pairs(counts) do
          local f = p:fn({ name = name, file = "kernel.c", line = 2 })
          p:cost(f, 2, c)
          p:call(root, f, { count = c, inclusive = c })
        end
        assert(p:write(base .. ".callgrind"))
      end)
    ]], "--", "/bin/ls", "/" })
    assert.equal(0, r.status, r.stderr)
    local status, out = h.python([==[
import json, sys, xml.etree.ElementTree as ET
base = sys.argv[1]
d = json.load(open(base + ".json"))
assert d["big"] == 2**63 - 1 and d["u"] == 2**64 - 1 and d["neg"] == -5, d
assert sum(d["calls"].values()) == d["total"]
ev = json.load(open(base + ".trace.json"))
xs = [e for e in ev if e["ph"] == "X"]
assert len(xs) == d["total"] and all(e["dur"] == 0.5 for e in xs)
assert sum(1 for e in ev if e["ph"] == "C") == d["total"]
assert ev[0]["ph"] == "M" and ev[-1]["ph"] == "i"
fold = {}
for line in open(base + ".folded"):
    stack, n = line.rsplit(" ", 1)
    fold[stack.split(";")[-1]] = int(n)
assert fold == d["calls"], (fold, d["calls"])
svg = ET.parse(base + ".svg").getroot()
names = [g.get("data-name") for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "f"]
assert "all" in names and "ls" in names and set(d["calls"]) <= set(names)
print(d["total"])
]==], base)
    assert.equal(0, status, out)
    local total = tonumber(out:match("^(%d+)\n$"))
    assert.truthy(total and total > 10, out)
    -- callgrind_annotate: ls's inclusive cost is every call
    local ann = h.capture("callgrind_annotate --inclusive=yes " .. h.quote(base .. ".callgrind") .. " 2>&1")
    local inc = ann:match("\n%s*([%d,]+) %(100%.0%%%)%s+ls%.c:ls\n")
    assert.truthy(inc, ann)
    assert.equal(total, tonumber((inc:gsub(",", ""))))
  end)
end)

describe("lurk.engine_ranges", function()
  -- LuaJIT maps its heap and its machine code itself (not through lurk's
  -- allocator): liblurk.so wraps mmap/munmap/mremap to note them
  -- (engine/mem_wrap.c), so that shepherd refuses system calls on them too
  it("lists LuaJIT's heap (a table's address) and a trace's machine code", function()
    local r = h.run({ "-e", [[
      local function inside(a)
        for _, r in ipairs(lurk.engine_ranges()) do
          if a >= r.lo and a < r.hi then return r.kind end
        end
        return "outside"
      end
      local t = {}
      for i = 1, 200000 do t[i] = { i } end -- past the heap's first chunk
      print("table", inside(tonumber(string.format("%p", t[200000]):sub(3), 16)))
      local s = 0
      for i = 1, 100000 do s = s + i % 7 end -- a trace
      local _, a = require("jit.util").tracemc(1)
      print("mcode", a and inside(a) or "no trace")
    ]], "--", "/bin/true" })
    assert.equal(0, r.status, r.stderr)
    assert.truthy(r.stderr:find("table\tengine\nmcode\tengine\n", 1, true), r.stderr) -- (print: lurk's output)
  end)
end)
