-- scripts/callgrind.lua against Valgrind's callgrind on the same runs.
--
-- Valgrind runs with --skip-plt=no, so that PLT stubs are functions of
-- their own (0x...) in both files; with its default (yes) it charges a
-- stub's two or three instructions to the caller's line. Names are
-- compared after three mappings: callgrind's recursion levels (`fib'2`,
-- --separate-recs=2) are summed into `fib`; `(below main)` is `_start`;
-- `0x<offset>` (code without a sized symbol: Valgrind ignores size-0 ones
-- such as crtstuff's frame_dummy) is the symbol at that offset when there
-- is one (nm). callgrind charges .init/.fini and its own start-up code to
-- no object ("???"), so lurk's _init, _fini and PLT entries of the program
-- are not in its list.
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"
local sh, capture, quote = h.sh, h.capture, h.quote

local tmp = h.tmpdir()
local have_valgrind = sh("valgrind --version >/dev/null 2>&1") == 0

-- A callgrind file: { [obj] = { [name] = { self = n, incl = n } } }, incl
-- being the sum of the costs of the calls to it (callgrind_annotate
-- --inclusive=yes). map(obj, name) renames.
local function parse(path, map)
  local names = { ob = {}, fl = {}, fn = {} }
  local function name(kind, v)
    local id, n = v:match("^%((%d+)%)%s*(.*)$")
    if not id then return v end
    if n ~= "" then names[kind][id] = n end
    return names[kind][id]
  end
  local t = {}
  local function entry(ob, fn)
    fn = map and map(ob, fn) or fn
    t[ob] = t[ob] or {}
    local e = t[ob][fn]
    if not e then e = { self = 0, incl = 0 } t[ob][fn] = e end
    return e
  end
  local ob, fn, cob, cfn, incall = "???", nil, nil, nil, false
  local last = 0                 -- the last position's line (--compress-pos)
  for line in io.lines(path) do
    local k, v = line:match("^(%a+)=(.*)$")
    if k == "ob" then ob = name("ob", v)
    elseif k == "fn" then fn = name("fn", v) cob = nil
    elseif k == "cob" then cob = name("ob", v)
    elseif k == "cfn" then cfn = name("fn", v)
    elseif k == "fl" or k == "fi" or k == "fe" or k == "cfi" or k == "cfl" then name("fl", v)
    elseif k == "calls" then incall = true
    elseif not k and fn then
      local pos, cost = line:match("^([%d%+%-%*]%S*)%s+(%d+)")
      if cost then
        local sign, d = pos:match("^([%+%-]?)(%d+)$")
        if sign == "+" then last = last + tonumber(d)
        elseif sign == "-" then last = last - tonumber(d)
        elseif d then last = tonumber(d) end
        if incall then
          local e = entry(cob or ob, cfn)
          e.incl = e.incl + tonumber(cost)
          incall, cob = false, nil
        else
          local e = entry(ob, fn)
          e.self = e.self + tonumber(cost)
          e.lines = e.lines or {}
          e.lines[last] = (e.lines[last] or 0) + tonumber(cost)
        end
      end
    end
  end
  return t
end

-- nm: offset -> name of the program's function symbols.
local function symbols(prog)
  local t = {}
  for a, name in capture("nm " .. quote(prog)):gmatch("(%x+) [tTwW] ([^\n]+)") do t[tonumber(a, 16)] = name end
  return t
end

-- Section ranges (readelf -SW): name -> { lo, hi }.
local function sections(prog)
  local t = {}
  for line in capture("readelf -SW " .. quote(prog)):gmatch("[^\n]+") do
    local name, addr, size = line:match("%]%s+(%S+)%s+%S+%s+(%x+)%s+%x+%s+(%x+)")
    if name then t[name] = { lo = tonumber(addr, 16), hi = tonumber(addr, 16) + tonumber(size, 16) } end
  end
  return t
end

-- Valgrind's names as lurk writes them.
local function vg_map(syms)
  return function(ob, fn)
    fn = fn:gsub("'%d+$", "")
    if fn == "(below main)" then return "_start" end
    local off = fn:match("^0x(%x+)")
    if off and syms and syms[ob] and syms[ob][tonumber(off, 16)] then return syms[ob][tonumber(off, 16)] end
    return fn
  end
end

local function valgrind(out, prog, args)
  return sh("valgrind --tool=callgrind --skip-plt=no --callgrind-out-file=" .. quote(out) .. " " ..
    quote(prog) .. " " .. (args or "") .. " >/dev/null 2>&1")
end

local function lurk_cg(out, prog, args)
  local a = { "callgrind", "--out", out, "--", prog }
  for _, x in ipairs(args or {}) do a[#a + 1] = x end
  return h.run(a)
end

-- callgrind_annotate's function list: { ["name [obj]"] = cost }.
local function annotate(path, inclusive)
  local t, n = {}, 0
  local text = capture("callgrind_annotate --threshold=100 --inclusive=" .. (inclusive and "yes" or "no") ..
    " " .. quote(path) .. " 2>&1")
  for ir, fn, ob in text:gmatch("\n%s*([%d,]+) %(.-%)%s+[^:\n]*:([^\n]-) %[([^%]\n]+)%]") do
    t[fn .. " [" .. ob .. "]"] = tonumber((ir:gsub(",", "")))
    n = n + 1
  end
  return t, n, text
end

describe("callgrind", function()
  it("needs valgrind for these specs (Debian package valgrind)", function()
    assert.is_true(have_valgrind)
  end)

  local prog = tmp .. "/cgprog"
  h.gcc(prog, S .. "callgrind_prog.c", "-O0", "-g", "-pthread")
  local vout, lout = tmp .. "/vg.out", tmp .. "/lurk.out"
  local ran = false
  local r
  local function run()
    if ran then return end
    ran = true
    r = lurk_cg(lout, prog)
    assert.equal(0, valgrind(vout, prog))
  end
  local syms = { [prog] = symbols(prog) }

  it("runs the program as natively and writes the file", function()
    run()
    assert.equal(0, r.status)
    assert.equal(capture(quote(prog)), r.stdout)
    assert.matches("callgrind: [%d,]+ instructions, %d+ functions, %d+ call edges: " .. lout:gsub("%p", "%%%0"), r.stderr)
    assert.matches("^# callgrind format\nversion: 1\n", h.slurp(lout))
  end)

  it("gives the program's functions the exclusive Ir of callgrind, exactly", function()
    run()
    local v = parse(vout, vg_map(syms))[prog]
    local l = parse(lout)[prog]
    local n = 0
    for fn, e in pairs(v) do
      assert.is_table(l[fn], "lurk has no " .. fn)
      assert.equal(e.self, l[fn].self, fn)
      n = n + 1
    end
    assert.is_true(n >= 10)
    for _, fn in ipairs({ "fib", "leaf", "cmp", "deep", "worker", "main", "apply", "sum", "twice" }) do
      assert.is_true(v[fn] and v[fn].self > 0, fn)
    end
    assert.is_true(v.fib.self > 900000)
    -- and by source line (the first number of a cost line)
    for fn, e in pairs(v) do
      for line, c in pairs(e.lines or {}) do
        assert.equal(c, (l[fn].lines or {})[line], fn .. " line " .. line)
      end
    end
    -- what callgrind leaves to no object: .init, .fini and the PLT
    local sec = syms[prog]
    local plt = sections(prog)
    for fn, e in pairs(l) do
      if not v[fn] and e.self > 0 then
        local off = fn:match("^0x(%x+)$")
        local a = off and tonumber(off, 16)
        local ok = fn == "_init" or fn == "_fini"
        for _, s in ipairs({ ".plt", ".plt.got", ".plt.sec" }) do
          if a and plt[s] and a >= plt[s].lo and a < plt[s].hi then ok = true end
        end
        assert.is_true(ok, "only lurk has " .. fn)
      end
    end
    assert.is_table(sec)
  end)

  it("gives them the inclusive Ir of callgrind within 1%", function()
    run()
    -- callgrind's inclusive cost of fib is its calls from other functions
    -- (fib'2 is the recursion): keep the level-1 names only
    local v = parse(vout, function(ob, fn) if fn:match("'%d+$") then return fn end return vg_map(syms)(ob, fn) end)[prog]
    local l = parse(lout)[prog]
    local n = 0
    for fn, e in pairs(v) do
      if not fn:match("'%d+$") and e.incl > 1000 then
        local got = l[fn].incl
        assert.is_true(math.abs(got - e.incl) <= 0.01 * e.incl,
          string.format("%s: lurk %d, callgrind %d", fn, got, e.incl))
        n = n + 1
      end
    end
    assert.is_true(n >= 8)
    -- recursion is not counted twice: fib's inclusive cost is at most its
    -- own and leaf's (callgrind_annotate adds fib'2's nested calls: ~10x)
    assert.is_true(l.fib.incl <= l.fib.self + l.leaf.self)
    -- the threads' own stacks and counts: their fib calls (~60% of fib's
    -- inclusive cost) are not in main's
    assert.is_true(l.main.incl < l.fib.incl)
  end)

  it("loads in callgrind_annotate, which lists the same functions as for callgrind's file", function()
    run()
    for _, inclusive in ipairs({ false, true }) do
      local lt, ln, text = annotate(lout, inclusive)
      assert.is_true(ln > 20, text)
      local vt = annotate(vout, inclusive)
      local seen = {}
      for k in pairs(vt) do
        local fn, ob = k:match("^(.-) %[(.*)%]$")
        if ob == prog and not fn:match("'%d+$") then
          fn = vg_map(syms)(ob, fn)
          seen[#seen + 1] = fn
          assert.is_number(lt[fn .. " [" .. prog .. "]"], fn .. (inclusive and " (inclusive)" or ""))
        end
      end
      assert.is_true(#seen >= 10)
    end
  end)

  it("follows tail calls as callgrind does (a jump to a function's entry is a call)", function()
    local tp = tmp .. "/cgtail"
    h.gcc(tp, S .. "callgrind_tail.c", "-O2", "-g")
    local vo, lo = tmp .. "/tail.vg", tmp .. "/tail.lurk"
    local rt = lurk_cg(lo, tp)
    assert.equal(0, rt.status)
    assert.equal(capture(quote(tp)), rt.stdout)
    assert.equal(0, valgrind(vo, tp))
    local tsyms = { [tp] = symbols(tp) }
    local v, l = parse(vo, vg_map(tsyms))[tp], parse(lo)[tp]
    for fn, e in pairs(v) do assert.equal(e.self, l[fn].self, fn) end
    local n = 0
    for fn, e in pairs(v) do
      if e.incl > 1000 then
        assert.is_true(math.abs(l[fn].incl - e.incl) <= 0.01 * e.incl,
          string.format("%s: lurk %d, callgrind %d", fn, l[fn].incl, e.incl))
        n = n + 1
      end
    end
    assert.is_true(n >= 6)
    -- chain's cost is tail1's and work's: it tail-calls tail1, which tail-calls work
    assert.is_true(l.chain.incl > l.work.self / 5)
  end)

  it("rejects an unknown option with a clear error", function()
    local r2 = h.run({ "callgrind", "--bogus", "--", "/bin/true" })
    assert.equal(1, r2.status)
    assert.matches("callgrind: unknown option '--bogus'", r2.stderr, 1, true)
    r2 = h.run({ "callgrind", "--out", "/nonexistent/dir/x", "--", "/bin/true" })
    assert.equal(0, r2.status)
    assert.matches("callgrind: cannot write /nonexistent/dir/x", r2.stderr, 1, true)
  end)

  it("writes callgrind.out.<pid> in the current directory by default", function()
    local dir = tmp .. "/cwd"
    assert.equal(0, sh("mkdir -p " .. quote(dir)))
    local r2 = h.run({ "callgrind", "--", "/bin/echo", "hi" }, { cwd = dir })
    assert.equal(0, r2.status)
    assert.equal("hi\n", r2.stdout)
    local name = r2.stderr:match(": (callgrind%.out%.%d+)\n")
    assert.is_string(name)
    local t = parse(dir .. "/" .. name)
    local echo = t["/usr/bin/echo"] or t["/bin/echo"]
    assert.is_table(echo)
    assert.is_true(t["/usr/lib/x86_64-linux-gnu/libc.so.6"].write.self > 0)
  end)

  -- cc1 -O2 on a generated C file (bench/workloads/gen_csrc.py): the 20
  -- functions with the most exclusive Ir. rep-string routines (glibc's
  -- __memset_*_erms, __memmove_*_erms...) are left out: Valgrind counts a
  -- rep instruction once per iteration, lurk once.
  it("gives cc1 -O2's top 20 functions the exclusive Ir of callgrind within 2%", function()
    local cc1 = capture("gcc -print-prog-name=cc1"):gsub("%s+$", "")
    local src, pre = tmp .. "/in.c", tmp .. "/in.i"
    assert.equal(0, sh("python3 " .. quote(h.root .. "/bench/workloads/gen_csrc.py") .. " 12 >" .. quote(src)))
    assert.equal(0, sh("gcc -E " .. quote(src) .. " -o " .. quote(pre)))
    local args = "-quiet -O2 " .. quote(pre) .. " -o /dev/null"
    local vo, lo = tmp .. "/cc1.vg", tmp .. "/cc1.lurk"
    local rl = lurk_cg(lo, cc1, { "-quiet", "-O2", pre, "-o", "/dev/null" })
    assert.equal(0, rl.status)
    assert.equal(0, valgrind(vo, cc1, args))
    local v, l = parse(vo, vg_map()), parse(lo)
    local list = {}
    for ob, fns in pairs(v) do
      for fn, e in pairs(fns) do
        if not fn:match("^__mem") and not fn:match("^__str") and not fn:match("^__wmem") then
          list[#list + 1] = { ob = ob, fn = fn, self = e.self }
        end
      end
    end
    table.sort(list, function(a, b) return a.self > b.self end)
    for i = 1, 20 do
      local e = list[i]
      local got = l[e.ob] and l[e.ob][e.fn] and l[e.ob][e.fn].self
      assert.is_number(got, e.fn)
      assert.is_true(math.abs(got - e.self) <= 0.02 * e.self,
        string.format("#%d %s: lurk %d, callgrind %d", i, e.fn, got, e.self))
    end
  end)
end)

teardown(function() os.execute("rm -rf " .. tmp) end)
