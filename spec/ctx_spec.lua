-- The clean-call context (64-bit values, xmm/ymm, rsp, pc redirect),
-- 64-bit syscall arguments, meta instructions (pc, faults), lurk.modules()
-- at a script's top level and the ffi module, end to end on
-- spec/lua/ctx_prog.c (built -no-pie: nm gives each t_* label's address;
-- the script gets them as S). The program prints on stdout what its
-- registers hold; natively, and under lurk without the spec's edits, the
-- values are the ones it set itself.
local h = require "spec.util.helper"
local D = h.root .. "/spec/lua/"
local tmp = h.tmpdir()
teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)

local prog, S = tmp .. "/ctx_prog", {}
h.gcc(prog, "-O2", "-no-pie", "-fno-pie", D .. "ctx_prog.c")
do
  local p = assert(io.popen("nm " .. prog))
  for line in p:lines() do
    local addr, sym = line:match("^(%x+) %a (t_[%w_]+)$")
    if addr then S[#S + 1] = string.format("%s=0x%s", sym, addr) end
  end
  p:close()
end

-- Run the program in mode under lurk with a script: line 1 defines S and
-- on(label, fn, ...) (a clean call before the instruction at the label).
local nscripts = 0
local function run(mode, body)
  nscripts = nscripts + 1
  local path = string.format("%s/s%d.lua", tmp, nscripts)
  local f = assert(io.open(path, "w"))
  f:write("local S = {" .. table.concat(S, ",") .. "} local ffi = require 'ffi' " ..
          "local function on(l, fn, ...) local args = {...} lurk.on('bb', function(bb) " ..
          "for i, ins in ipairs(bb) do if ins.pc == S[l] then bb:call_before(i, fn, unpack(args)) end end end) end\n" ..
          body)
  f:close()
  local r = h.run({ path, "--", prog, mode })
  r.script = path
  return r
end

local function S_addr(name)
  for _, kv in ipairs(S) do
    local k, v = kv:match("^([%w_]+)=(0x%x+)$")
    if k == name then return v end
  end
end

local function native(mode) return h.capture(h.quote(prog) .. " " .. mode) end

describe("ctx: 64-bit values", function()
  it("ctx.rax = ctx.rax keeps a value above 2^53; a set of 0xdeadbeefcafebabe is what the program sees", function()
    assert.equal("rax fedcba9876543211 rbx 0\n", native("gpr"))
    local r = run("gpr", [[
      on("t_gpr", function(ctx, arg, k)
        print(type(ctx.rax), ctx.rax == 0xfedcba9876543211ULL, arg == ctx.rax, k == 0x123456789abcdef0LL)
        ctx.rax = ctx.rax
        ctx.rbx = 0xdeadbeefcafebabeULL
        print(type(ctx.rcx), ctx.rbx == 0xdeadbeefcafebabeULL, ctx.eax == 0x76543211, type(ctx.eax))
      end, "rax", 0x123456789abcdef0LL)]])
    assert.equal(0, r.status)
    assert.equal("rax fedcba9876543211 rbx deadbeefcafebabe\n", r.stdout)
    assert.equal("cdata\ttrue\ttrue\ttrue\nnumber\ttrue\ttrue\tnumber\n", r.stderr)
  end)

  it("setters take numbers (negative as two's complement) and refuse non-integers", function()
    local r = run("gpr", [[
      on("t_gpr", function(ctx)
        ctx.rbx = -1
        print(ctx.rbx == 0xffffffffffffffffULL, pcall(function() ctx.rax = 0.5 end))
        print(pcall(function() ctx.rax = 2^64 end))
      end)]])
    assert.equal("rax fedcba9876543211 rbx ffffffffffffffff\n", r.stdout)
    assert.matches("^true\tfalse\t[^\n]*bad argument to ctx.rax %(integer expected %(a number or a 64%-bit cdata%), got 0.5%)\n" ..
                   "false\t[^\n]*bad argument to ctx.rax %(integer expected", r.stderr)
  end)

  it("syscall arguments past 2^53 arrive exactly, as int64 cdata, and go back unchanged", function()
    local r = run("sys", [[
      local seen
      lurk.on("syscall_pre", function(e)
        if e.name ~= "getppid" or seen then return end
        seen = true
        print(e.args[1] == ffi.cast("int64_t", 0xdeadbeefcafebabeULL), e.args[2] == -0x7fffffffffffffffLL - 1)
        e.args[1] = e.args[1]
      end)]])
    assert.equal(0, r.status)
    assert.equal("getppid ok\n", r.stdout)
    assert.equal("true\ttrue\n", r.stderr)
  end)
end)

describe("ctx: vector registers", function()
  it("ctx.xmm0 is its 16 bytes; get_f64/set_f64 read and write a lane the program sees", function()
    assert.equal("xmm0 1.25\n", native("xmm"))
    local r = run("xmm", [[
      on("t_xmm", function(ctx)
        print(#ctx.xmm0, ffi.cast("const double *", ctx.xmm0)[0], ctx:get_f64("xmm0"))
        ctx:set_f64("xmm0", 2.5)
        print(ctx:get_f64("xmm0", 1), pcall(ctx.get_f64, ctx, "xmm0", 3))
      end)]])
    assert.equal("xmm0 2.5\n", r.stdout)
    assert.matches("^16\t1.25\t1.25\n2.5\tfalse\t[^\n]*no such lane", r.stderr)
  end)

  it("ctx.ymm1 reads and writes all 32 bytes (the upper half too)", function()
    local cpu = h.slurp("/proc/cpuinfo") or ""
    if not cpu:find(" avx ") then pending("no AVX on this machine") return end
    assert.equal("ymm1 1.5 2.5 3.5 4.5\n", native("ymm"))
    local r = run("ymm", [[
      on("t_ymm", function(ctx)
        print(#ctx.ymm1, ctx:get_f64("ymm1", 3), ctx:get_f64("ymm1", 4))
        local d = ffi.new("double[4]", 10, 20, 30, 40)
        ctx.ymm1 = ffi.string(d, 32)
      end)]])
    assert.equal("ymm1 10 20 30 40\n", r.stdout)
    assert.equal("32\t3.5\t4.5\n", r.stderr)
  end)
end)

describe("ctx: rsp and pc", function()
  it("ctx.rsp is writable: the program's next instruction sees the new stack pointer", function()
    assert.equal("rsp moved by 0\n", native("rsp"))
    local r = run("rsp", [[on("t_rsp", function(ctx) ctx.rsp = ctx.rsp - 64 end)]])
    assert.equal(0, r.status)
    assert.equal("rsp moved by 64\n", r.stdout)
  end)

  it("writing ctx.pc redirects: the rest of the block does not run, execution goes on there", function()
    assert.equal("r 2\n", native("pc"))
    local r = run("pc", [[
      on("t_pc", function(ctx)
        print(ctx.pc == S.t_pc)
        ctx.pc = S.t_skip
        print(ctx.pc == S.t_skip)
      end)]])
    assert.equal(0, r.status)
    assert.equal("r 3\n", r.stdout)
    assert.equal("true\ntrue\n", r.stderr)
  end)
end)

describe("meta instructions", function()
  it("report the app pc they were inserted at in bb:insns()", function()
    local r = run("gpr", [[
      lurk.on("bb", function(bb)
        for i, ins in ipairs(bb) do
          if ins.pc == S.t_gpr then
            bb:insert_before(i, lurk.decode("\144"))
            for x, kind in bb:insns() do if kind == "meta" then print(x.pc == S.t_gpr, tostring(x)) end end
          end
        end
      end)]])
    assert.equal(0, r.status)
    assert.matches("^true\t<insn 0x%x+ nop>\n$", r.stderr)
  end)
end)

describe("meta instructions that fault", function()
  it("end the run with status 1 and a message naming the instruction and the script line", function()
    local r = run("gpr", [[
      lurk.on("bb", function(bb)
        for i, ins in ipairs(bb) do
          if ins.pc == S.t_gpr then
            bb:insert_before(i, lurk.decode("\72\139\4\37\0\0\0\0"))   -- mov rax, [0]
          end
        end
      end)]])
    assert.equal(1, r.status)
    assert.equal("", r.stdout)
    assert.equal(string.format("lurk: a meta instruction faulted (signal 11, address 0x0): " ..
                               "'mov rax, qword ptr [0x0]' inserted before 0x%x by %s:5\n",
                               tonumber(S_addr("t_gpr")), r.script), r.stderr)
  end)
end)

describe("script top level", function()
  local NAMES = [[
      local function names() local t = {} for _, m in ipairs(lurk.modules()) do t[#t + 1] = m.name .. (m.main and "*" or "") end return table.concat(t, " ") end
  ]]

  it("lurk.modules() lists, at a script's top level, what is mapped at the first instruction; at entry, the libraries", function()
    local r = h.eval(NAMES .. [[
      local top = names()
      print(top:find("true*", 1, true) ~= nil, top:find("ld-linux-x86-64.so.2", 1, true) ~= nil, top:find("libc.so.6", 1, true) ~= nil)
      lurk.on("init", function() print(names() == top) end)
      lurk.on("entry", function(e)
        local m = lurk.module_at(e.pc)
        print(m.main, names():find("libc.so.6", 1, true) ~= nil, lurk.addr("strncmp") ~= nil)
      end)]])
    assert.equal(0, r.status, r.stderr)
    assert.equal("true\ttrue\tfalse\ntrue\ntrue\ttrue\ttrue\n", r.stderr)
  end)

  it("with --preload, lurk.modules() at a script's top level already lists the libraries", function()
    local r = h.run({ "--preload", "-e", NAMES .. [[
      local top = names()
      print(top:find("true*", 1, true) ~= nil, top:find("libc.so.6", 1, true) ~= nil)
      lurk.on("init", function() print(names() == top) end)
      lurk.on("entry", function(e) print(lurk.module_at(e.pc).main, names() == top) end)]], "--", "/bin/true" })
    assert.equal(0, r.status, r.stderr)
    assert.equal("true\ttrue\ntrue\ntrue\ttrue\n", r.stderr)
  end)

  it("the entry event comes once, at a static program's first instruction", function()
    local prog = tmp .. "/static_true"
    h.gcc(prog, "-static", "-O1", D .. "early_prog.c")
    local r = h.eval([[
      local n = 0
      lurk.on("entry", function(e) n = n + 1; print(string.format("%x", e.pc) == string.format("%x", lurk.module_at(e.pc).entry)) end)
      lurk.on("exit", function() print(n) end)]], { prog })
    assert.equal(0, r.status, r.stderr)
    assert.equal("true\n1\n", r.stderr)
  end)
end)

describe("ffi", function()
  it("require 'ffi' works (cdata, casts, reading the program's memory) without ffi.C and ffi.load", function()
    local r = h.eval([[
      local ffi = require "ffi"
      local m = lurk.modules()[1]
      local p = ffi.cast("const uint8_t *", m.base)
      print(ffi.string(p, 4) == lurk.read(m.base, 4), ffi.string(p + 1, 3))
      print(ffi.sizeof("uint64_t"), tostring(ffi.new("uint64_t", 1) * 2^40))
      print(pcall(function() return ffi.C end))
      print(pcall(function() return ffi.load("libz.so.1") end))]])
    assert.equal(0, r.status)
    assert.matches("^true\tELF\n8\t1099511627776ULL\n" ..
                   "false\t[^\n]*ffi.C is not available in lurk: calls into the program's libc or dlopen " ..
                   "from inside the program are not safe %(docs/lua%-api.md, FFI%)\n" ..
                   "false\t[^\n]*ffi.load is not available in lurk", r.stderr)
  end)
end)
