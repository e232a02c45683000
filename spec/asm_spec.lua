-- lurk.asm (lua/lurk/asm.lua, arch/x86_64/asm.c): Intel text to insn
-- objects, checked against GNU as on the same text, its error messages, the
-- round trip over libc's .text (a sample; bench/asm-roundtrip.lua runs all),
-- and rip-relative meta instructions run in real programs.
local h = require "spec.util.helper"

local tmp = h.tmpdir()
teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)

-- The instructions GNU as makes of text (Intel syntax), as lurk.decode texts.
local function gas(text)
  local s, o, b = tmp .. "/a.s", tmp .. "/a.o", tmp .. "/a.bin"
  local f = assert(io.open(s, "w"))
  f:write(".intel_syntax noprefix\n", (text:gsub(";", "\n")), "\n")
  f:close()
  assert.equal(0, h.sh("as --64 -o " .. o .. " " .. s .. " && objcopy -O binary --only-section=.text " .. o .. " " .. b))
  return h.slurp(b)
end

local TEXT = [[
  mov rax, qword ptr [rsp+8]
  add qword ptr [rbx+rcx*8-0x10], 1
  lea rdx, [rax+rbx*4+0x10]
  mov eax, 0xffffffff ; and eax, 0xfffffff8
  mov rax, 0x123456789abcdef0
  lock xadd dword ptr [rdi], eax
  rep stosq
  mov rax, qword ptr fs:[0x28]
  cmovnz ecx, edx
  movdqu xmm1, xmmword ptr [rsi]
  vpaddd ymm0, ymm1, ymmword ptr [rdx+0x20]
  vaddps zmm0 {k1} {z}, zmm1, dword ptr [rax]{1to16}
  shl rax, 3
  imul r12, r13, 0x40
l1: dec rcx
  jnz l1
  ret
]]

describe("lurk.asm", function()
  it("assembles what GNU as assembles from the same text (same instructions, decoded)", function()
    local r = h.eval([[
      local t, bytes = lurk.asm(]] .. string.format("%q", TEXT) .. [[)
      io.stderr:write(bytes)
    ]])
    assert.equal(0, r.status, r.stderr)
    local ours, theirs = r.stderr, gas(TEXT)
    -- decode both byte strings with lurk.decode and compare the texts
    local cmp = h.eval(string.format([[
      local function texts(s)
        local t, pos = {}, 1
        while pos <= #s do
          local i = assert(lurk.decode(s:sub(pos, pos + 14)))   -- at 0: branches show their offset
          t[#t + 1] = i.text
          pos = pos + i.length
        end
        return table.concat(t, "\n")
      end
      print(texts(%q)) print("--") print(texts(%q))
    ]], ours, theirs))
    assert.equal(0, cmp.status, cmp.stderr)
    local a, b = cmp.stderr:match("^(.-)\n%-%-\n(.-)\n$")
    assert.equal(b, a)
    assert.equal(18, select(2, a:gsub("\n", "")) + 1)
  end)

  it("returns insn objects at consecutive pcs, labels and symbols resolved", function()
    local r = h.eval([[
      local t = lurk.asm([=[
        top: add qword ptr [rip+counter], 1   # a symbol: absolute target
        mov rax, qword ptr [rel 0x7f0000002000]
        jmp top; call fn
      ]=], { counter = 0x7f0000001000, fn = 0x7f0000003000 })
      for _, i in ipairs(t) do
        local m = i:operand(1).kind == "mem" and i:operand(1) or i:operand(2)
        print(string.format("%x", i.pc), i.text, m and m.address and string.format("%x", m.address) or "")
      end
      local u = lurk.asm("mov eax, dword ptr [rip+0x10]; jmp 0x401000", nil, 0x400000)
      for _, i in ipairs(u) do print(string.format("%x", i.pc), i.text, #i) end
      print(#lurk.asm(""), #lurk.asm("# nothing\n  ; \n"))
    ]])
    assert.equal(0, r.status, r.stderr)
    assert.equal(table.concat({
      "7f0000001000\tadd qword ptr [rip-0x8], 0x1\t7f0000001000",
      "7f0000001008\tmov rax, qword ptr [rip+0xff1]\t7f0000002000",
      "7f000000100f\tjmp 0x7f0000001000\t",
      "7f0000001011\tcall 0x7f0000003000\t",
      "400000\tmov eax, dword ptr [rip+0x10]\t6",
      "400006\tjmp 0x401000\t5",
      "0\t0", "" }, "\n"), r.stderr)
  end)

  it("reports bad text with line and column, and bad arguments as Lua does", function()
    local r = h.eval([[
      for _, s in ipairs {
        "add rax,", "add qword ptr [rip+counter], 1\nmov rax, [rbx", "mov rax, qword ptr [rip+nosuch]",
        "frob rax", "add rax rbx", "mov eax, rbx", "add qword ptr [rip+counter], 1\nadd qword ptr [rip+far], 1",
        "mov rax, [rbx+rcx+rdx]", "l: nop\nl: nop", "vaddps zmm0 {k1} {q}, zmm1, zmm2", "mov [rip+counter+rax], 1",
      } do
        print((select(2, pcall(lurk.asm, s, { counter = 0x1000, far = 0x7f0000000000 }))))
      end
      print((select(2, pcall(lurk.asm, 12))))
      print((select(2, pcall(lurk.asm, "nop", 3))))
      print((select(2, pcall(function() lurk.asm("nop; nop ]") end))))
    ]])
    assert.equal(0, r.status, r.stderr)
    assert.equal(table.concat({
      "lurk.asm: 1:9: expected operand",
      "lurk.asm: 2:14: expected ']'",
      "lurk.asm: 1:10: unknown symbol 'nosuch'",
      "lurk.asm: 1:1: unknown mnemonic 'frob'",
      "lurk.asm: 1:9: unexpected text",
      "lurk.asm: 1:1: no encoding for these operands of 'mov'",
      "lurk.asm: 2:1: target 0x7f0000000000 out of ±2 GiB reach of 0x1008",
      "lurk.asm: 1:10: too many registers in the address",
      "lurk.asm: 2:1: label 'l' defined twice",
      "lurk.asm: 1:19: unknown decoration",
      "lurk.asm: 1:5: a symbol or 'rel' address cannot have base or index registers",
      "bad argument #1 to 'asm' (string expected, got number)",
      "bad argument #2 to 'asm' (table expected, got number)",
      "(command line):10: lurk.asm: 1:10: expected operand", "" }, "\n"), r.stderr)
  end)

  it("round-trips a sample of libc's .text: decode, ins.text, assemble, same meaning", function()
    local r = h.run({ h.root .. "/bench/asm-roundtrip.lua", "--step", "16", "--", "/bin/true" })
    assert.equal(0, r.status, r.stderr)
    local checked, same, equiv, failed = r.stderr:match("roundtrip: (%d+) checked, (%d+) same bytes, (%d+) equivalent, (%d+) failed")
    assert.truthy(checked, r.stderr)
    assert.equal("0", failed, r.stderr)
    assert.is_true(tonumber(checked) > 15000)
    assert.equal(tonumber(checked), tonumber(same) + tonumber(equiv))
  end)
end)

describe("rip-relative meta instructions", function()
  -- a counter in an engine buffer bumped by assembled code before every
  -- block, next to a clean call counting the same: equal on real programs.
  local script = [[
    local ffi = require "ffi"
    local buf = ffi.new("uint64_t[2]")
    local counter = tonumber(ffi.cast("uintptr_t", buf))
    local calls = 0
    local snippet = lurk.asm([=[
      lea rsp, [rsp-128]             # past the red zone
      pushfq
      add qword ptr [rip+counter], 1
      mov rax, qword ptr [rel counter]   # and a load, with rax kept
      popfq
      lea rsp, [rsp+128]
    ]=], { counter = counter })
    table.insert(snippet, 4, lurk.asm("push rax")[1])
    table.insert(snippet, 6, lurk.asm("pop rax")[1])
    lurk.on("bb", function(bb)
      for _, ins in ipairs(snippet) do bb:insert_before(1, ins) end
      bb:call_before(1, function() calls = calls + 1 end)
    end)
    lurk.on("exit", function() print("counts", tonumber(buf[0]), calls) end)
  ]]
  for _, prog in ipairs({ { "/bin/ls", "-l", "/usr/share" }, { "/usr/bin/python3", "-c", "print(sum(range(10000)))" } }) do
    it("count what a clean call counts in " .. prog[1] .. ", output as native", function()
      local args = { "-e", script, "--" }
      for _, w in ipairs(prog) do args[#args + 1] = w end
      local r = h.run(args)
      assert.equal(0, r.status, r.stderr)
      local words = {}
      for _, w in ipairs(prog) do words[#words + 1] = h.quote(w) end
      assert.equal(h.capture(table.concat(words, " ")), r.stdout)
      local a, b = r.stderr:match("counts\t(%d+)\t(%d+)")
      assert.truthy(a, r.stderr)
      assert.equal(b, a)
      assert.is_true(tonumber(a) > 10000)
    end)
  end
end)
