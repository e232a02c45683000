-- scripts/inscount.lua against valgrind's callgrind: the instructions the
-- main executable runs, counted exactly the same.
--
-- callgrind_annotate's per-object total leaves out a few start-up and exit
-- instructions of the executable: those of .init (_init), .fini (_fini)
-- and of PLT stubs that ld.so's code jumps through (__cxa_finalize@plt),
-- which callgrind attributes to no object ("???"), and with --skip-plt=yes
-- (its default) it moves the other PLT stubs' instructions onto the calls
-- that reach them. So the spec reads callgrind's per-instruction dump
-- (--dump-instr=yes, --skip-plt=no): the sum over every instruction address
-- inside the executable must equal inscount's total, and the per-object
-- total callgrind_annotate prints plus the instructions at .init/.fini/.plt
-- addresses that callgrind leaves unattributed must give the same number.
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"

local sh, capture = h.sh, h.capture

local tmp = h.tmpdir()
local function cc(out, src, ...) return h.gcc(tmp .. "/" .. out, S .. src, ...) end

-- Section address ranges of an ELF file (readelf -SW): name -> {lo, hi}.
local function sections(path)
  local t = {}
  for line in capture("readelf -SW " .. path):gmatch("[^\n]+") do
    local name, addr, size = line:match("%]%s+(%S+)%s+%S+%s+(%x+)%s+%x+%s+(%x+)")
    if name then
      local lo = tonumber(addr, 16)
      t[name] = { lo = lo, hi = lo + tonumber(size, 16) }
    end
  end
  return t
end

-- A callgrind output file with --dump-instr=yes: self Ir per object and per
-- instruction address. Position lines are "ADDR LINE COST" with ADDR
-- absolute (0x..), relative (+N/-N) or "*" (same); the line after
-- "calls=" is a call's inclusive cost, not self cost.
local function parse_callgrind(path)
  local names = {}
  local function name(kind, v)
    local id, n = v:match("^%((%d+)%)%s*(.*)$")
    if not id then return v end
    names[kind] = names[kind] or {}
    if n ~= "" then names[kind][id] = n end
    return names[kind][id]
  end
  local per_obj, per_addr, addr_obj = {}, {}, {} -- addr_obj[addr][ob]: Ir of addr under object ob
  local ob, last, skip = nil, 0, false
  for line in io.lines(path) do
    local k, v = line:match("^(%a+)=(.*)$")
    if k == "ob" then ob = name("ob", v)
    elseif k == "cob" then name("ob", v)
    elseif k == "fn" or k == "cfn" then name("fn", v)
    elseif k == "fl" or k == "fi" or k == "fe" or k == "cfi" or k == "cfl" then name("fl", v)
    elseif k == "calls" then skip = true
    elseif not k then
      local a, rest = line:match("^(0x%x+)%s+(.*)$")
      local addr
      if a then addr = tonumber(a)
      else
        local sign, d, r2 = line:match("^([%+%-])(%d+)%s+(.*)$")
        if sign then addr = last + (sign == "+" and 1 or -1) * tonumber(d); rest = r2
        else
          r2 = line:match("^%*%s+(.*)$")
          if r2 then addr, rest = last, r2 end
        end
      end
      if addr then
        last = addr
        if skip then skip = false
        else
          local ir = tonumber(rest:match("^%S+%s+(%d+)")) or 0   -- "LINE IR"
          per_obj[ob] = (per_obj[ob] or 0) + ir
          per_addr[addr] = (per_addr[addr] or 0) + ir
          addr_obj[addr] = addr_obj[addr] or {}
          addr_obj[addr][ob] = (addr_obj[addr][ob] or 0) + ir
        end
      end
    end
  end
  return per_obj, per_addr, addr_obj
end

local function inscount(prog, args)
  local a = { "-t", "inscount=main", "--", prog }
  for _, x in ipairs(args or {}) do a[#a + 1] = x end
  local r = h.run(a)
  local n = r.stderr:match("inscount: ([%d,]+) instructions in the main executable")
  return r, n and tonumber((n:gsub(",", "")))
end

local have_valgrind = sh("valgrind --version >/dev/null 2>&1") == 0

describe("inscount", function()
  it("needs valgrind for these specs (Debian package valgrind)", function()
    assert.is_true(have_valgrind)
  end)

  it("counts the main executable's instructions exactly as callgrind's per-instruction dump", function()
    local prog = cc("hot", "inscount_hot.c", "-O1", "-fno-inline", "-no-pie")
    local native = capture(prog .. " 40")
    local r, n = inscount(prog, { "40" })
    assert.equal(0, r.status)
    assert.equal(native, r.stdout)
    assert.is_number(n)

    local out = tmp .. "/cg.out"
    assert.equal(0, sh("valgrind --tool=callgrind --dump-instr=yes --skip-plt=no --callgrind-out-file=" ..
                       out .. " " .. prog .. " 40 >/dev/null 2>&1"))
    local per_obj, per_addr, addr_obj = parse_callgrind(out)

    -- Every instruction inside the executable's sections.
    local sec = sections(prog)
    local lo, hi = math.huge, 0
    for _, s in pairs(sec) do
      if s.lo > 0 then lo = math.min(lo, s.lo); hi = math.max(hi, s.hi) end
    end
    local in_exe, as_prog, unattributed = 0, 0, 0
    local function inside(a, name) local s = sec[name] return s and a >= s.lo and a < s.hi end
    for a, ir in pairs(per_addr) do
      if a >= lo and a < hi then
        in_exe = in_exe + ir
        for ob, v in pairs(addr_obj[a]) do
          if ob == prog then as_prog = as_prog + v
          elseif v > 0 then
            -- only start-up/exit code may be left unattributed
            assert.is_true(inside(a, ".init") or inside(a, ".fini") or inside(a, ".plt") or
                           inside(a, ".plt.got") or inside(a, ".plt.sec"), string.format("unattributed 0x%x", a))
            unattributed = unattributed + v
          end
        end
      end
    end
    assert.equal(per_obj[prog], as_prog)                        -- nothing of the object outside it
    assert.equal(in_exe, n)                                     -- the claim
    assert.equal(per_obj[prog] + unattributed, n)               -- and how it relates to the object total
    assert.is_true(n > 10000000)                                -- the hot loop ran

    -- callgrind_annotate's per-function lines for the program sum to the
    -- object total read above (the parser agrees with callgrind's tool).
    local sum = 0
    for line in capture("callgrind_annotate --threshold=100 " .. out .. " 2>/dev/null"):gmatch("[^\n]+") do
      local ir, obj = line:match("^%s*([%d,]+)%s+%(.-%)%s+.-%s+%[(.-)%]$")
      if ir and obj == prog then sum = sum + tonumber((ir:gsub(",", ""))) end
    end
    assert.equal(per_obj[prog], sum)
  end)

  it("counts a rep-prefixed instruction once per execution (callgrind: once per iteration)", function()
    local prog = cc("rep", "inscount_rep.c", "-O1", "-no-pie")
    local r, n = inscount(prog)
    assert.equal(0, r.status)
    local out = tmp .. "/cg-rep.out"
    assert.equal(0, sh("valgrind --tool=callgrind --dump-instr=yes --skip-plt=no --callgrind-out-file=" ..
                       out .. " " .. prog .. " >/dev/null 2>&1"))
    local per_obj, per_addr, addr_obj = parse_callgrind(out)
    -- cp runs 100 times: 4 instructions and a `rep movsb` of 1000 bytes,
    -- which callgrind counts per iteration (and once more for the final
    -- check) and lurk once per execution.
    local rep = tonumber(capture("objdump -d " .. prog .. " | awk '/rep movsb/{sub(\":\", \"\", $1); print $1}'"), 16)
    assert.is_number(rep)
    assert.is_true(per_addr[rep] >= 100 * 1000)
    local sec = sections(prog)
    local lo, hi = math.huge, 0
    for _, s in pairs(sec) do if s.lo > 0 then lo = math.min(lo, s.lo); hi = math.max(hi, s.hi) end end
    local in_exe = 0
    for a, ir in pairs(per_addr) do if a >= lo and a < hi then in_exe = in_exe + ir end end
    assert.equal(in_exe - per_addr[rep] + 100, n)
  end)

  it("rejects an unknown option with a clear error", function()
    local r = h.run({ "-t", "inscount=bogus", "--", "/bin/true" })
    assert.equal(1, r.status)
    assert.matches("inscount: unknown option 'bogus'", r.stderr, 1, true)
  end)

  it("prints per-module lines with the modules option, summing to the total", function()
    local r = h.run({ "-t", "inscount=modules", "--", "/bin/echo", "hi" })
    assert.equal(0, r.status)
    assert.equal("hi\n", r.stdout)
    local total = tonumber((r.stderr:match("inscount: ([%d,]+) instructions"):gsub(",", "")))
    local sum, libc = 0, false
    for name, v in r.stderr:gmatch("\n  (.-)%s%s+([%d,]+)") do
      sum = sum + tonumber((v:gsub(",", "")))
      if name == "libc.so.6" then libc = true end
    end
    assert.is_true(libc)
    assert.equal(total, sum)
  end)
end)

teardown(function() os.execute("rm -rf " .. tmp) end)
