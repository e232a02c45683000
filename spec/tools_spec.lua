-- scripts/bbcount.lua, countcalls.lua, opcodes.lua and coverage.lua on small
-- C programs whose blocks, calls and instructions are known
-- (spec/lua/tools_*.c), and on /bin/ls. Every run under a tool must leave
-- the program's stdout and exit status as they are natively.
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"

local sh, capture = h.sh, h.capture

local tmp = h.tmpdir()
teardown(function() sh("rm -rf " .. h.quote(tmp)) end)
local function cc(out, src, ...) return h.gcc(tmp .. "/" .. out, S .. src, ...) end

local progs = {} -- built once, on first use
local function prog(name)
  if not progs[name] then
    if name == "bb" then progs.bb = cc("bb", "tools_bb.c", "-O1")
    elseif name == "calls" then progs.calls = cc("calls", "tools_calls.c", "-O1", "-fno-inline", "-pthread")
    elseif name == "ops" then progs.ops = cc("ops", "tools_ops.c", "-O1")
    elseif name == "cov" then progs.cov = cc("cov", "tools_cov.c", "-O1", "-pthread") end
  end
  return progs[name]
end

-- Run cmd (a list of words) natively; returns { status, stdout }.
local function native(cmd, cwd)
  local words = {}
  for i, w in ipairs(cmd) do words[i] = h.quote(w) end
  local out = os.tmpname()
  local line = table.concat(words, " ")
  if cwd then line = "cd " .. h.quote(cwd) .. " && " .. line end
  local status = sh("(" .. line .. ") >" .. out .. " 2>/dev/null </dev/null")
  local r = { status = status, stdout = h.slurp(out) }
  os.remove(out)
  return r
end

-- Run cmd under lurk with the tool arguments (a list of words before "--"),
-- check that its stdout and status are the native ones, and return lurk's
-- output (the tool's report) as a list of lines.
local function tool(args, cmd, cwd)
  local want = native(cmd, cwd)
  local words = {}
  for _, w in ipairs(args) do words[#words + 1] = w end
  words[#words + 1] = "--"
  for _, w in ipairs(cmd) do words[#words + 1] = w end
  local r = h.run(words, { cwd = cwd })
  assert.equal(want.status, r.status, "exit status under lurk; lurk said:\n" .. r.stderr)
  assert.equal(want.stdout, r.stdout, "the program's stdout under lurk")
  local lines = {}
  for l in r.stderr:gmatch("[^\n]+") do lines[#lines + 1] = l end
  return lines, r.stderr
end

-- -- bbcount ----------------------------------------------------------------------------

-- { total, distinct, translations, modules = { path -> { executed, distinct } },
--   threads = { { tid, main, n }... } }
local function bbcount(lines)
  local r = { modules = {}, threads = {} }
  for _, l in ipairs(lines) do
    local t, d, n = l:match("^bbcount: (%d+) blocks executed, (%d+) distinct %((%d+) translations%)$")
    if t then r.total, r.distinct, r.translations = tonumber(t), tonumber(d), tonumber(n) end
    local e, dm, path = l:match("^bbcount: +(%d+) +(%d+)  (.+)$")
    if e then r.modules[path] = { executed = tonumber(e), distinct = tonumber(dm) } end
    local tid, main, tn = l:match("^bbcount: thread (%d+)(.-): (%d+) blocks executed$")
    if tid then r.threads[#r.threads + 1] = { tid = tonumber(tid), main = main == " (main)", n = tonumber(tn) } end
  end
  return r
end

describe("bbcount.lua", function()
  it("counts a loop's blocks exactly: two per iteration", function()
    local bb = prog("bb")
    local path = capture("realpath " .. h.quote(bb)):gsub("\n$", "")
    -- the same number of digits: the rest of the program runs the same blocks
    local a = bbcount(tool({ "-t", "bbcount" }, { bb, "100000" }))
    local b = bbcount(tool({ "-t", "bbcount" }, { bb, "300000" }))
    local ma, mb = a.modules[path], b.modules[path]
    assert.truthy(ma and mb, "no line for " .. path)
    assert.equal(2 * (300000 - 100000), mb.executed - ma.executed)
    assert.is_true(ma.executed >= 2 * 100000)
    -- the loop alone has three distinct blocks, and the program's start, main
    -- and exit code in the executable more
    assert.is_true(ma.distinct >= 3 + 1)
    assert.equal(ma.distinct, mb.distinct)
    assert.is_true(a.total >= ma.executed and a.distinct >= ma.distinct)
    local sum, dsum = 0, 0
    for _, m in pairs(a.modules) do sum, dsum = sum + m.executed, dsum + m.distinct end
    assert.equal(a.total, sum)
    assert.equal(a.distinct, dsum)
    assert.is_true(a.translations >= a.distinct)
  end)

  it("reports ls's blocks in its format, ls's output untouched", function()
    local lines = tool({ "-t", "bbcount" }, { "/bin/ls", "-l", "/usr/bin" })
    assert.matches("^bbcount: %d+ blocks executed, %d+ distinct %(%d+ translations%)$", lines[1])
    assert.equal("bbcount:     executed  distinct  module", lines[2])
    local r = bbcount(lines)
    assert.truthy(r.modules["/usr/bin/ls"], "a line for /usr/bin/ls")
    assert.truthy(r.modules["/usr/lib/x86_64-linux-gnu/libc.so.6"], "a line for libc")
    assert.is_true(r.total > 10000 and r.distinct > 1000)
    -- sorted by blocks executed
    for i = 4, #lines do
      assert.is_true(tonumber(lines[i - 1]:match("^bbcount: +(%d+)")) >= tonumber(lines[i]:match("^bbcount: +(%d+)")))
    end
  end)

  it("counts per thread with `threads`", function()
    local lines = tool({ "-t", "bbcount=threads" }, { prog("calls"), "10000", "300" })
    local r = bbcount(lines)
    assert.equal(3, #r.threads)
    local sum, mains = 0, 0
    for _, t in ipairs(r.threads) do
      sum = sum + t.n
      if t.main then mains = mains + 1 else assert.is_true(t.n >= 2 * 10000) end
    end
    assert.equal(1, mains)
    assert.equal(r.total, sum)
  end)
end)

-- -- countcalls -------------------------------------------------------------------------

local function countcalls(lines)
  local r = { workers = {} }
  for _, l in ipairs(lines) do
    local tid, main, d, i, ret =
      l:match("^countcalls: thread (%d+)(.-): (%d+) direct calls, (%d+) indirect calls, (%d+) returns$")
    if tid then
      local c = { tid = tonumber(tid), d = tonumber(d), i = tonumber(i), ret = tonumber(ret) }
      if main == " (main)" then r.main = c else r.workers[#r.workers + 1] = c end
    end
    local n, td, ti, tr =
      l:match("^countcalls: total, (%d+) threads?: (%d+) direct calls, (%d+) indirect calls, (%d+) returns$")
    if n then r.total = { n = tonumber(n), d = tonumber(td), i = tonumber(ti), ret = tonumber(tr) } end
  end
  table.sort(r.workers, function(a, b) return a.d < b.d or (a.d == b.d and a.ret < b.ret) end)
  return r
end

describe("countcalls.lua", function()
  it("counts each thread's direct and indirect calls and returns", function()
    local calls = prog("calls")
    local K1, K2, M = 10000, 30000, 3000
    local a = countcalls(tool({ "-t", "countcalls" }, { calls, tostring(K1), tostring(M) }))
    local b = countcalls(tool({ "-t", "countcalls" }, { calls, tostring(K2), tostring(M) }))
    for _, r in ipairs({ a, b }) do
      assert.equal(2, #r.workers)
      assert.truthy(r.main, "a line for the main thread")
      assert.truthy(r.total, "a total line")
      assert.equal(3, r.total.n)
      local sum = { d = r.main.d, i = r.main.i, ret = r.main.ret }
      for _, w in ipairs(r.workers) do
        assert.is_true(w.i >= M, "indirect calls")
        assert.is_true(w.ret >= w.d + M - 5, "returns")
        for k in pairs(sum) do sum[k] = sum[k] + w[k] end
      end
      assert.same(sum, { d = r.total.d, i = r.total.i, ret = r.total.ret })
    end
    for k = 1, 2 do
      local wa, wb = a.workers[k], b.workers[k]
      assert.is_true(wa.d >= K1 and wb.d >= K2, "direct calls")
      -- what libc does in a thread does not depend on K: it cancels out
      assert.equal(K2 - K1, wb.d - wa.d, "worker " .. k .. ": direct calls")
      assert.equal(0, wb.i - wa.i, "worker " .. k .. ": indirect calls")
      assert.equal(K2 - K1, wb.ret - wa.ret, "worker " .. k .. ": returns")
    end
  end)

  it("prints ls's counts in its format, ls's output untouched", function()
    local lines = tool({ "-t", "countcalls" }, { "/bin/ls", "-l", "/usr/bin" })
    assert.equal(2, #lines)
    assert.matches("^countcalls: thread %d+ %(main%): %d+ direct calls, %d+ indirect calls, %d+ returns$", lines[1])
    assert.matches("^countcalls: total, 1 thread: %d+ direct calls, %d+ indirect calls, %d+ returns$", lines[2])
    assert.equal(lines[1]:match(": (%d+ direct.*)$"), lines[2]:match(": (%d+ direct.*)$"))
  end)

  it("reports the shell's own counts when a command it runs is missing", function()
    -- sh runs a command in a vfork child, which shares sh's memory (lurk's
    -- Lua state with it) until it execs. Here the exec fails and the child
    -- _exits: the report must still be sh's, at sh's exit, and only once.
    -- XXX lurk raises `exit` in the vfork child (on sh's shared state, with
    -- the child's status) and never again in sh: the report is the child's.
    local r = h.run{ "-t", "countcalls", "--", "/bin/sh", "-c", "echo $$; /nonexistent/x 2>/dev/null; exit 3" }
    assert.equal(3, r.status)
    local pid = r.stdout:match("^(%d+)\n$")
    assert.truthy(pid, "sh's pid")
    local mains, totals = {}, 0
    for l in r.stderr:gmatch("[^\n]+") do
      local tid = l:match("^countcalls: thread (%d+) %(main%)")
      if tid then mains[#mains + 1] = tid end
      if l:match("^countcalls: total") then totals = totals + 1 end
    end
    assert.same({ pid }, mains, "one report, for sh; lurk said:\n" .. r.stderr)
    assert.equal(1, totals)
  end)
end)

-- -- opcodes ----------------------------------------------------------------------------

local function opcodes(lines)
  local r = { rows = {}, by = {} }
  for _, l in ipairs(lines) do
    local total, n, what = l:match("^opcodes: (%d+) instructions executed, (%d+) mnemonics; (.+):$")
    if total then r.total, r.n, r.what = tonumber(total), tonumber(n), what end
    local c, pct, m = l:match("^opcodes: +(%d+) +([%d.]+)  (%S+)$")
    if c then
      r.rows[#r.rows + 1] = { count = tonumber(c), pct = tonumber(pct), m = m }
      r.by[m] = tonumber(c)
    end
  end
  return r
end

local function cpu_has(flag)
  local f = io.open("/proc/cpuinfo")
  if not f then return false end
  local s = f:read("a")
  f:close()
  return s:match("\nflags%s*:[^\n]* " .. flag .. "[ \n]") ~= nil
end

describe("opcodes.lua", function()
  local N = 100000
  it("counts a mnemonic libc does not use exactly (pdep or crc32, popcnt)", function()
    local mode = cpu_has("bmi2") and "pdep" or cpu_has("sse4_2") and "crc32"
    if not mode or not cpu_has("popcnt") then pending("the CPU has neither BMI2 nor SSE4.2") return end
    local r = opcodes(tool({ "-t", "opcodes=all" }, { prog("ops"), tostring(N), mode }))
    assert.equal(N, r.by[mode])
    assert.equal(N, r.by.popcnt)
    assert.equal("all", r.what)
    assert.equal(r.n, #r.rows)
    local sum = 0
    for _, row in ipairs(r.rows) do sum = sum + row.count end
    assert.equal(r.total, sum)
    for _, row in ipairs(r.rows) do
      if row.m == mode then assert.near(100 * N / r.total, row.pct, 0.006) end
    end
  end)

  it("prints the top 20 by count, then name, ls's output untouched", function()
    local lines = tool({ "-t", "opcodes" }, { "/bin/ls", "-l", "/usr/bin" })
    local r = opcodes(lines)
    assert.matches("^opcodes: %d+ instructions executed, %d+ mnemonics; top 20:$", lines[1])
    assert.equal("opcodes:          count       %  mnemonic", lines[2])
    assert.equal(22, #lines)
    assert.equal(20, #r.rows)
    assert.equal("mov", r.rows[1].m)
    for i = 2, #r.rows do
      local p, q = r.rows[i - 1], r.rows[i]
      assert.is_true(p.count > q.count or (p.count == q.count and p.m < q.m), "order at row " .. i)
    end
    local lines5 = tool({ "-t", "opcodes=top=5" }, { "/bin/true" })
    assert.equal(7, #lines5)
    assert.matches("; top 5:$", lines5[1])
  end)
end)

-- -- coverage ---------------------------------------------------------------------------

-- A drcov reader, as Lighthouse parses the format: text header, module
-- table (version 2), "BB Table: N bbs", then N binary records
-- {uint32 start, uint16 size, uint16 module id}. Errors for any deviation.
local function read_drcov(path)
  local s = assert(h.slurp(path), "no file " .. path)
  local pos = 1
  local function line()
    local e = s:find("\n", pos, true)
    assert(e, "truncated header in " .. path)
    local l = s:sub(pos, e - 1)
    pos = e + 1
    return l
  end
  local r = { modules = {}, bbs = {} }
  assert.equal("DRCOV VERSION: 2", line())
  r.flavor = line():match("^DRCOV FLAVOR: (.+)$")
  assert.truthy(r.flavor, "flavor line")
  local count = tonumber(line():match("^Module Table: version 2, count (%d+)$"))
  assert.truthy(count, "module table line")
  assert.equal("Columns: id, base, end, entry, checksum, timestamp, path", line())
  for i = 1, count do
    local l = line()
    local id, base, e, entry, ck, ts, p =
      l:match("^ *(%d+), 0x(%x+), 0x(%x+), 0x(%x+), 0x(%x+), 0x(%x+), (.+)$")
    assert.truthy(id, "module line " .. l)
    assert.equal(i - 1, tonumber(id))
    local m = { id = i - 1, base = tonumber(base, 16), ["end"] = tonumber(e, 16),
                entry = tonumber(entry, 16), path = p }
    assert.is_true(m["end"] > m.base, "module size")
    assert.equal(0, tonumber(ck, 16) + tonumber(ts, 16))
    r.modules[i] = m
  end
  local nbb = tonumber(line():match("^BB Table: (%d+) bbs$"))
  assert.truthy(nbb, "BB table line")
  assert.equal(nbb * 8, #s - pos + 1, "BB table size")
  for _ = 1, nbb do
    local start, size, mod
    start, size, mod, pos = string.unpack("<I4I2I2", s, pos)
    local m = r.modules[mod + 1]
    assert.truthy(m, "module id " .. mod)
    assert.is_true(size > 0 and m.base + start + size <= m["end"], "block inside its module")
    r.bbs[#r.bbs + 1] = { start = start, size = size, mod = mod }
  end
  return r
end

-- The address range [lo, hi) of a symbol (an offset: the programs are PIE).
local function symbol(prog_path, name)
  local a, n = capture("nm -S " .. h.quote(prog_path)):match("\n(%x+) (%x+) [Tt] " .. name .. "\n")
  assert.truthy(a, "no symbol " .. name)
  return tonumber(a, 16), tonumber(a, 16) + tonumber(n, 16)
end

local function exe_module(cov, path)
  for _, m in ipairs(cov.modules) do if m.path == path then return m end end
end

local function blocks_in(cov, m, lo, hi)
  local n = 0
  for _, b in ipairs(cov.bbs) do
    if b.mod == m.id and b.start >= lo and b.start < hi then n = n + 1 end
  end
  return n
end

local function files(dir)
  local t = {}
  for f in capture("ls " .. h.quote(dir)):gmatch("[^\n]+") do t[#t + 1] = f end
  return t
end

local function fresh_dir(name)
  local d = tmp .. "/" .. name
  assert(sh("rm -rf " .. h.quote(d) .. " && mkdir -p " .. h.quote(d)) == 0)
  return d
end

describe("coverage.lua", function()
  it("writes a drcov file with the program, main's and the thread's blocks", function()
    local cov = prog("cov")
    local path = capture("realpath " .. h.quote(cov)):gsub("\n$", "")
    local dir = fresh_dir("cov1")
    local lines = tool({ "-t", "coverage" }, { cov }, dir)
    local names = files(dir)
    assert.equal(1, #names)
    assert.matches("^lurk%.drcov%.%d+%.log$", names[1])
    assert.equal(1, #lines)
    assert.matches("^coverage: %d+ blocks in %d+ modules written to " .. names[1]:gsub("%.", "%%.") .. "$", lines[1])
    local r = read_drcov(dir .. "/" .. names[1])
    assert.equal("lurk", r.flavor)
    local exe = exe_module(r, path)
    assert.truthy(exe, "the program in the module table")
    local libc
    for _, m in ipairs(r.modules) do if m.path:match("/libc%.so%.6$") then libc = m end end
    assert.truthy(libc, "libc in the module table")
    assert.is_true(blocks_in(r, exe, symbol(cov, "main")) >= 3, "main's blocks")
    assert.is_true(blocks_in(r, exe, symbol(cov, "thread_fn")) >= 2, "the thread's blocks")
    assert.equal(0, blocks_in(r, exe, symbol(cov, "child_only")), "a function that never ran")
    assert.is_true(blocks_in(r, libc, 0, libc["end"] - libc.base) > 100)
    -- each block once
    local seen = {}
    for _, b in ipairs(r.bbs) do
      local k = b.mod .. ":" .. b.start .. ":" .. b.size
      assert.is_nil(seen[k], "a block twice")
      seen[k] = true
    end
  end)

  it("writes one file per process after a fork; only the child ran child_only", function()
    local cov = prog("cov")
    local path = capture("realpath " .. h.quote(cov)):gsub("\n$", "")
    local dir = fresh_dir("cov2")
    local lines = tool({ "-t", "coverage=cov.%p.drcov" }, { cov, "fork" }, dir)
    local names = files(dir)
    assert.equal(2, #names)
    assert.equal(2, #lines)
    local child, parent
    for _, n in ipairs(names) do
      assert.matches("^cov%.%d+%.drcov$", n)
      local r = read_drcov(dir .. "/" .. n)
      local exe = exe_module(r, path)
      assert.truthy(exe, "the program in " .. n)
      assert.is_true(blocks_in(r, exe, symbol(cov, "main")) >= 3, "main's blocks in " .. n)
      if blocks_in(r, exe, symbol(cov, "child_only")) > 0 then child = r else parent = r end
    end
    assert.truthy(child, "child_only's blocks in the child's file")
    assert.truthy(parent, "a file without child_only's blocks (the parent's)")
    -- the child's history includes what the parent ran before the fork
    assert.is_true(blocks_in(child, exe_module(child, path), symbol(cov, "thread_fn")) >= 2)
  end)

  it("never overwrites a file; an exec'd program gets its own", function()
    local cov = prog("cov")
    local dir = fresh_dir("cov3")
    -- sh runs each command in a child (vfork + exec): three processes
    local lines = tool({ "-t", "coverage" }, { "/bin/sh", "-c", h.quote(cov) .. "; " .. h.quote(cov) }, dir)
    assert.equal(3, #lines)
    local names = files(dir)
    assert.equal(3, #names)
    for _, n in ipairs(names) do read_drcov(dir .. "/" .. n) end
    -- a name that is taken gets .1 before the extension
    assert(sh("touch " .. h.quote(dir .. "/fixed.log")) == 0)
    lines = tool({ "-t", "coverage=fixed.log" }, { cov }, dir)
    assert.matches("written to fixed%.1%.log$", lines[1])
    read_drcov(dir .. "/fixed.1.log")
    assert.equal("", h.slurp(dir .. "/fixed.log"))
  end)
end)
