-- lurk.pattern in real blocks and the shipped stackprot tool: canary
-- checks found by patterns in the code lurk runs, checked against objdump
-- of the same files.
local h = require "spec.util.helper"

local tmp = h.tmpdir()
teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)

-- objdump's canary checks in file: offset -> { reg, fail, fn }: a
-- "sub|xor REG,QWORD PTR fs:0x28" followed by "jne FAIL".
local function objdump_checks(file)
  local out = h.capture("objdump -d -M intel --no-show-raw-insn " .. h.quote(file))
  local sites, fn, prev = {}, nil, nil
  for line in out:gmatch("[^\n]+") do
    local f = line:match("^%x+ <([^>]+)>:$")
    if f then fn = f end
    local addr, mn, ops = line:match("^%s+(%x+):%s+(%S+)%s*(.*)$")
    if addr then
      if prev and mn == "jne" then
        sites[tonumber(prev.addr, 16)] = { reg = prev.reg, fail = tonumber(ops:match("^(%x+)"), 16), fn = prev.fn }
      end
      local reg = (mn == "sub" or mn == "xor") and ops:match("^(%w+),QWORD PTR fs:0x28$")
      prev = reg and { addr = addr, reg = reg, fn = fn } or nil
    end
  end
  return sites
end

-- stackprot=sites' lines for module name: offset -> { reg, fail }.
local function tool_checks(stderr, name)
  local sites, n = {}, 0
  for off, reg, fail in stderr:gmatch("check " .. name:gsub("%p", "%%%0") .. "%+0x(%x+) (%w+) %-> [^+]+%+0x(%x+)") do
    sites[tonumber(off, 16)] = { reg = reg, fail = tonumber(fail, 16) }
    n = n + 1
  end
  return sites, n
end

describe("stackprot (scripts/stackprot.lua)", function()
  it("finds exactly the canary checks of the functions a test program runs, as objdump shows them", function()
    local prog = h.gcc(tmp .. "/sp", "-O1", "-fstack-protector-all", h.root .. "/spec/lua/stackprot_prog.c")
    local r = h.run({ "-t", "stackprot=main,sites", "--", prog })
    assert.equal(0, r.status, r.stderr)
    assert.equal(h.capture(h.quote(prog)), r.stdout)
    local got, n = tool_checks(r.stderr, "sp")
    local want, ran = objdump_checks(prog), {}
    for off, s in pairs(want) do
      if s.fn ~= "unused" then ran[off] = { reg = s.reg, fail = s.fail } end   -- main calls all but unused
    end
    assert.same(ran, got)
    assert.equal(6, n)                                                         -- f1..f5, main
    assert.matches("^stackprot: 6 canary checks reached %(6 canary loads%) in 1 module %(main executable only%)\n", r.stderr)
  end)

  it("reports for ls checks that objdump finds at the same offsets, in ls and in libc", function()
    local r = h.run({ "-t", "stackprot=sites", "--", "/bin/ls", "-l", "/usr/share" })
    assert.equal(0, r.status, r.stderr)
    assert.equal(h.capture("/bin/ls -l /usr/share"), r.stdout)
    for name, file in pairs({ ls = "/bin/ls", ["libc.so.6"] = "/lib/x86_64-linux-gnu/libc.so.6" }) do
      local got, n = tool_checks(r.stderr, name)
      local want = objdump_checks(file)
      assert.is_true(n >= 5, name .. ": " .. n .. " checks")
      for off, s in pairs(got) do
        assert.same({ reg = want[off] and want[off].reg, fail = want[off] and want[off].fail }, s,
                     string.format("%s+0x%x", name, off))
      end
      local line = r.stderr:match("\n  " .. name:gsub("%p", "%%%0") .. "%s+(%d+) checks")
      assert.equal(n, tonumber(line))
    end
  end)
end)

describe("lurk.pattern in bb handlers", function()
  it("matches app instructions of real blocks, captures operands, indexes usable with bb[i]", function()
    local r = h.run({ "-e", [[
      local pattern = require "lurk.pattern"
      local p = pattern.compile "test $r:reg, $r; j$cc $target"   -- jmp too (cc = "mp")
      local seen, bad = 0, 0
      lurk.on("bb", function(bb)
        for m in p:gmatch(bb) do
          local t, j = bb[m.first], bb[m.last]
          if not (t.mnemonic == "test" and t:operand(1).reg == m.r and t:operand(2).reg == m.r
                  and j.is_branch and j.mnemonic == "j" .. m.cc and j.target == tonumber(m.target)
                  and m.last == m.first + 1 and m.pc == t.pc) then bad = bad + 1 end
          seen = seen + 1
        end
      end)
      lurk.on("exit", function() print("seen", seen, "bad", bad) end)
    ]], "--", "/bin/ls", "/usr/share" })
    assert.equal(0, r.status, r.stderr)
    local seen, bad = r.stderr:match("seen\t(%d+)\tbad\t(%d+)")
    assert.equal("0", bad)
    assert.is_true(tonumber(seen) > 100)
  end)
end)
