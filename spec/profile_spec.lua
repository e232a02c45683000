-- scripts/profile.lua: the sampling profiler's table, folded stacks and
-- flame graph, on a program whose CPU time is known to be in one function,
-- with threads, with a fork, and on python3.
local h = require "spec.util.helper"

local tmp = h.tmpdir()
local prog = tmp .. "/sample_prog"
h.gcc(prog, "-O1", "-g", "-pthread", h.root .. "/spec/lua/sample_prog.c")

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

-- Folded text -> list of {frames, count}; raises on a malformed line.
local function parse_folded(text)
  local out = {}
  for l in text:gmatch("[^\n]+") do
    local stack, n = l:match("^(.+) (%d+)$")
    assert(stack, "malformed folded line: " .. l)
    local frames = {}
    for f in (stack .. ";"):gmatch("([^;]*);") do
      assert(f ~= "", "empty frame in: " .. l)
      frames[#frames + 1] = f
    end
    out[#out + 1] = { frames = frames, count = tonumber(n) }
  end
  return out
end

describe("profile", function()
  it("finds where the CPU time goes, in its table, folded stacks and flame graph", function()
    local folded, svg = tmp .. "/p.folded", tmp .. "/p.svg"
    local r = h.run({ "profile", "--top", "3", "--folded", folded, "--svg", svg, "--", prog })
    assert.equal(0, r.status, r.stderr)
    assert.equal("done\n", r.stdout)
    local l = lines(r.stderr)
    local n = tonumber(l[1]:match("^profile: (%d+) samples, 1 thread, 1000 Hz %(%d+ ticks in lurk's own code not counted%)$"))
    assert.truthy(n, r.stderr)
    assert.is_true(n >= 100, r.stderr)
    assert.matches("self%%%s+total%%%s+samples%s+function", l[2])
    local self, total, cnt, fn = l[3]:match("^%s+([%d.]+)%%%s+([%d.]+)%%%s+(%d+)%s+(.+)$")
    assert.equal("hot (sample_prog)", fn, r.stderr)
    assert.is_true(tonumber(self) >= 80, r.stderr)
    assert.equal(5, #l) -- two header lines and --top 3 rows
    -- folded: every stack rooted at _start, through main to hot; counts add up
    local stacks = parse_folded(h.slurp(folded))
    local sum, hot = 0, 0
    for _, s in ipairs(stacks) do
      sum = sum + s.count
      if s.frames[#s.frames] == "hot (sample_prog)" then
        hot = hot + s.count
        assert.equal("_start (sample_prog)", s.frames[1])
        assert.equal("main (sample_prog)", s.frames[#s.frames - 1])
      end
    end
    assert.equal(n, sum)
    assert.equal(tonumber(cnt), hot)
    -- the SVG is XML that names the frames, with the sample counts
    local check = h.capture("python3 -c " .. h.quote([[
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
titles = [t.text for t in root.iter('{http://www.w3.org/2000/svg}title')]
print(any(t.startswith('hot (sample_prog)') for t in titles), any(t.startswith('main (sample_prog)') for t in titles))
]]) .. " " .. svg)
    assert.equal("True True\n", check)
  end)

  it("keeps threads apart with --threads", function()
    local folded = tmp .. "/t.folded"
    local r = h.run({ "profile", "--threads", "--top", "0", "--folded", folded, "--", prog, "threads" })
    assert.equal(0, r.status, r.stderr)
    assert.equal("threads done\n", r.stdout)
    local nt = tonumber(r.stderr:match("samples, (%d+) threads"))
    assert.is_true(nt >= 4, r.stderr)
    local tids = {}
    for _, s in ipairs(parse_folded(h.slurp(folded))) do
      local tid = s.frames[1]:match("^thread (%d+)$")
      assert.truthy(tid, s.frames[1])
      tids[tid] = true
      if s.frames[#s.frames] == "hot (sample_prog)" then assert.equal("worker (sample_prog)", s.frames[#s.frames - 1]) end
    end
    local k = 0
    for _ in pairs(tids) do k = k + 1 end
    assert.equal(nt, k)
  end)

  it("writes a forked child's profile to FILE.PID", function()
    local folded = tmp .. "/f.folded"
    local r = h.run({ "profile", "--top", "0", "--folded", folded, "--", prog, "fork" })
    assert.equal(0, r.status, r.stderr)
    assert.equal(h.capture(prog .. " fork"), r.stdout)
    local found = h.capture("ls " .. tmp):match("f%.folded%.(%d+)")
    assert.truthy(found, h.capture("ls " .. tmp))
    for _, f in ipairs({ folded, folded .. "." .. found }) do
      local hot = 0
      for _, s in ipairs(parse_folded(h.slurp(f))) do
        if s.frames[#s.frames] == "hot (sample_prog)" then hot = hot + s.count end
      end
      assert.is_true(hot >= 30, f)
    end
  end)

  it("profiles python3 down to the interpreter loop, output unchanged", function()
    local code = "import json, re; d = [{'k': i, 'v': 'x' * (i % 50)} for i in range(100000)]; " ..
                 "s = json.dumps(d); print(len(s), len(re.findall(r'\"k\": \\d+', s)))"
    local folded = tmp .. "/py.folded"
    local r = h.run({ "profile", "--folded", folded, "--", "/usr/bin/python3", "-c", code })
    assert.equal(0, r.status, r.stderr)
    assert.equal(h.capture("/usr/bin/python3 -c " .. h.quote(code)), r.stdout)
    local n = tonumber(r.stderr:match("^profile: (%d+) samples"))
    local rooted, eval = 0, 0
    for _, s in ipairs(parse_folded(h.slurp(folded))) do
      if s.frames[1] == "_start (python3.11)" then rooted = rooted + s.count end
      for _, f in ipairs(s.frames) do
        if f == "_PyEval_EvalFrameDefault (python3.11)" then eval = eval + s.count break end
      end
    end
    -- all but a few samples (taken in start-up and exit code) unwind to _start
    assert.is_true(rooted >= 0.95 * n, r.stderr)
    assert.is_true(eval >= 0.5 * n, r.stderr)
  end)

  it("rejects bad options with a message", function()
    for _, args in ipairs({ { "--hz", "x" }, { "--bogus" }, { "--svg" }, { "--hz", "0" } }) do
      local a = { "profile" }
      for _, w in ipairs(args) do a[#a + 1] = w end
      a[#a + 1] = "--"
      a[#a + 1] = "/bin/true"
      local r = h.run(a)
      assert.equal(1, r.status)
      assert.matches("profile: ", r.stderr)
    end
  end)
end)

teardown(function() os.execute("rm -rf " .. tmp) end)
