-- lurk.decode and the lurk.insn object: text, predicates, operands.
local h = require "spec.util.helper"

-- Run a Lua chunk under lurk that prints one line per instruction: its
-- tostring, the set predicates, then each operand as sorted key=value.
local DUMP = [[
local function hex(s) return (s:gsub(" ", ""):gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end
local preds = { "is_call", "is_ret", "is_branch", "is_cbr", "is_indirect", "is_direct", "reads_memory",
                "writes_memory", "is_syscall", "lock", "zeroing", "rip_relative" }
local function opnd(op)
  local t = {}
  for k, v in pairs(op) do t[#t + 1] = k .. "=" .. tostring(v) end
  table.sort(t)
  return "{" .. table.concat(t, " ") .. "}"
end
for _, b in ipairs(CASES) do
  local ins, err = lurk.decode(hex(b), 0x401000)
  if not ins then print(b, "nil", err) else
    local p = {}
    for _, k in ipairs(preds) do if ins[k] then p[#p + 1] = k end end
    if ins.rep then p[#p + 1] = "rep=" .. ins.rep end
    if ins.mask then p[#p + 1] = "mask=" .. ins.mask end
    if ins.target then p[#p + 1] = string.format("target=0x%x", ins.target) end
    local o = {}
    for _, op in ipairs(ins.operands) do o[#o + 1] = opnd(op) end
    print(tostring(ins) .. " [" .. table.concat(p, ",") .. "] " .. table.concat(o, " "))
  end
end
]]

local function decode(cases)
  local q = {}
  for i, c in ipairs(cases) do q[i] = string.format("%q", c) end
  local r = h.eval("CASES = {" .. table.concat(q, ",") .. "}\n" .. DUMP)
  assert.equal(0, r.status)
  local lines = {}
  for l in r.stderr:gmatch("[^\n]+") do lines[#lines + 1] = l end
  return lines
end

describe("lurk.decode", function()
  it("decodes a mov with a SIB memory operand", function()
    assert.same({ "<insn 0x401000 mov rax, qword ptr [rsp+rcx*4+0x8]> [reads_memory] " ..
                  "{kind=reg read=false reg=rax size=64 write=true} " ..
                  "{base=rsp disp=8 index=rcx kind=mem read=true scale=4 size=64 write=false}" },
                decode{ "48 8b 44 8c 08" })
  end)

  it("decodes rip-relative operands with their absolute address", function()
    assert.same({ "<insn 0x401000 mov rax, qword ptr [rip+0x10]> [reads_memory,rip_relative] " ..
                  "{kind=reg read=false reg=rax size=64 write=true} " ..
                  "{address=4198423 base=rip disp=16 kind=mem read=true scale=0 size=64 write=false}",
                  "<insn 0x401000 call qword ptr [rip+0x1000]> [is_call,is_branch,is_indirect,reads_memory,writes_memory,rip_relative] " ..
                  "{address=4202502 base=rip disp=4096 kind=mem read=true scale=0 size=64 write=false}" },
                decode{ "48 8b 05 10 00 00 00", "ff 15 00 10 00 00" })
  end)

  it("decodes direct branches with their targets", function()
    assert.same({ "<insn 0x401000 call 0x401105> [is_call,is_branch,is_direct,writes_memory,target=0x401105] " ..
                  "{hex=0x100 kind=imm read=true relative=true signed=true size=32 target=4198661 value=256 write=false}",
                  "<insn 0x401000 jz 0x401007> [is_branch,is_cbr,is_direct,target=0x401007] " ..
                  "{hex=0x5 kind=imm read=true relative=true signed=true size=8 target=4198407 value=5 write=false}",
                  "<insn 0x401000 jnz 0x401106> [is_branch,is_cbr,is_direct,target=0x401106] " ..
                  "{hex=0x100 kind=imm read=true relative=true signed=true size=32 target=4198662 value=256 write=false}",
                  "<insn 0x401000 jmp 0x401000> [is_branch,is_direct,target=0x401000] " ..
                  "{hex=0xfffffffb kind=imm read=true relative=true signed=true size=32 target=4198400 value=-5 write=false}",
                  "<insn 0x401000 loop 0x401000> [is_branch,is_cbr,is_direct,target=0x401000] " ..
                  "{hex=0xfe kind=imm read=true relative=true signed=true size=8 target=4198400 value=-2 write=false}" },
                decode{ "e8 00 01 00 00", "74 05", "0f 85 00 01 00 00", "e9 fb ff ff ff", "e2 fe" })
  end)

  it("decodes returns and indirect branches", function()
    assert.same({ "<insn 0x401000 ret> [is_ret,is_branch,is_indirect,reads_memory] ",
                  "<insn 0x401000 ret 0x8> [is_ret,is_branch,is_indirect,reads_memory] " ..
                  "{hex=0x8 kind=imm read=true size=16 value=8 write=false}",
                  "<insn 0x401000 jmp rax> [is_branch,is_indirect] {kind=reg read=true reg=rax size=64 write=false}",
                  "<insn 0x401000 jmp qword ptr [r12+rax*8]> [is_branch,is_indirect,reads_memory] " ..
                  "{base=r12 disp=0 index=rax kind=mem read=true scale=8 size=64 write=false}" },
                decode{ "c3", "c2 08 00", "ff e0", "41 ff 24 c4" })
  end)

  it("decodes syscall", function()
    assert.same({ "<insn 0x401000 syscall> [is_syscall] " }, decode{ "0f 05" })
  end)

  it("decodes AVX-512 with masking, zeroing and broadcast", function()
    assert.same({ "<insn 0x401000 vaddps zmm0 {k1} {z}, zmm0, zmm2> [zeroing,mask=k1] " ..
                  "{kind=reg read=false reg=zmm0 size=512 write=true} " ..
                  "{kind=reg mask=true read=true reg=k1 size=64 write=false} " ..
                  "{kind=reg read=true reg=zmm0 size=512 write=false} " ..
                  "{kind=reg read=true reg=zmm2 size=512 write=false}",
                  "<insn 0x401000 vaddps zmm0 {k1}, zmm0, dword ptr [rax+0x4] {1to16}> [reads_memory,mask=k1] " ..
                  "{conditional=true kind=reg read=true reg=zmm0 size=512 write=true} " ..
                  "{kind=reg mask=true read=true reg=k1 size=64 write=false} " ..
                  "{kind=reg read=true reg=zmm0 size=512 write=false} " ..
                  "{base=rax disp=4 kind=mem read=true scale=0 size=32 write=false}",
                  "<insn 0x401000 vmovupd zmmword ptr [rsp+0x40], zmm0> [writes_memory] " ..
                  "{base=rsp disp=64 kind=mem read=false scale=0 size=512 write=true} " ..
                  "{kind=reg read=true reg=zmm0 size=512 write=false}" },
                decode{ "62 f1 7c c9 58 c2", "62 f1 7c 59 58 40 01", "62 f1 fd 48 11 44 24 01" })
  end)

  it("decodes lock and rep prefixes", function()
    assert.same({ "<insn 0x401000 lock xadd qword ptr [rdi], rax> [reads_memory,writes_memory,lock] " ..
                  "{base=rdi disp=0 kind=mem read=true scale=0 size=64 write=true} " ..
                  "{kind=reg read=true reg=rax size=64 write=true}",
                  "<insn 0x401000 rep movsb> [reads_memory,writes_memory,rep=rep] ",
                  "<insn 0x401000 repne scasb> [reads_memory,rep=repne] " },
                decode{ "f0 48 0f c1 07", "f3 a4", "f2 ae" })
  end)

  it("decodes segment overrides, lea, nop and 64-bit immediates", function()
    assert.same({ "<insn 0x401000 mov rax, qword ptr fs:[0x28]> [reads_memory] " ..
                  "{kind=reg read=false reg=rax size=64 write=true} " ..
                  "{disp=40 kind=mem read=true scale=0 seg=fs size=64 write=false}",
                  "<insn 0x401000 lea rax, [rcx*4]> [] {kind=reg read=false reg=rax size=64 write=true} " ..
                  "{agen=true disp=0 index=rcx kind=mem read=false scale=4 size=64 write=false}",
                  "<insn 0x401000 nop word ptr [rax+rax*1], ax> [] " ..
                  "{agen=true base=rax disp=0 index=rax kind=mem read=false scale=1 size=16 write=false} " ..
                  "{kind=reg read=true reg=ax size=16 write=false}",
                  "<insn 0x401000 mov rax, 0xf123456789abcdef> [] {kind=reg read=false reg=rax size=64 write=true} " ..
                  "{hex=0xf123456789abcdef kind=imm read=true signed=true size=64 value=-1.0709359753904e+18 write=false}" },
                decode{ "64 48 8b 04 25 28 00 00 00", "48 8d 04 8d 00 00 00 00", "66 0f 1f 44 00 00",
                        "48 b8 ef cd ab 89 67 45 23 f1" })
  end)

  it("returns nil and a message for bytes that are not an instruction", function()
    assert.same({ "ff\tnil\tcannot decode instruction", "ea\tnil\tcannot decode instruction",
                  "\tnil\tno bytes to decode" }, decode{ "ff", "ea", "" })
  end)

  it("exposes bytes, length, mnemonic, hidden operands and equality", function()
    local r = h.eval([[
      local i = lurk.decode("\232\0\1\0\0\144", 0x1000)
      print(i.pc, i.length, #i, #i.bytes, i.mnemonic, i.opsize, i.text)
      local all = i.all_operands
      print(#i.operands, #all, all[2].reg, all[2].hidden, all[4].kind, all[4].base, all[4].write)
      print(i:operand(1).kind, i:operand(2), i:operand(4, true).kind)
      print(i == lurk.decode("\232\0\1\0\0", 0x1000), i == lurk.decode("\232\0\1\0\0", 0x2000))
      print(pcall(function() return i.nosuch end))
      print(pcall(lurk.decode, 5, "x"))]])
    assert.equal(0, r.status)
    assert.equal("4096\t5\t5\t5\tcall\t64\tcall 0x1105\n" ..
                 "1\t4\trip\ttrue\tmem\trsp\ttrue\n" ..
                 "imm\tnil\tmem\n" ..
                 "true\tfalse\n" ..
                 "false\t(command line):7: insn has no field 'nosuch'\n" ..
                 "false\tbad argument #2 to '?' (number expected, got string)\n", r.stderr)
  end)
end)
