-- lua/lurk/asm.lua's grammar in the specs' Lua (pure Lua, Debian's
-- lua-lpeg): statements, operands, labels and error columns. Encoding needs
-- the engine: spec/asm_spec.lua.
local h = require "spec.util.helper"
h.lualib()
local asm = require "lurk.asm"

describe("lurk.asm.parse", function()
  it("splits lines and ';' statements, with labels, prefixes and comments", function()
    local t = asm.parse("l1: lock add qword ptr [rax], 1 ; top: x: rep stosq # c ; not a statement\n\n  ret")
    assert.equal(3, #t)
    assert.same({ { "l1" }, { "lock" }, "add", 1 }, { t[1].labels, t[1].prefixes, t[1].mnemonic, t[1].line })
    assert.same({ { "top", "x" }, { "rep" }, "stosq" }, { t[2].labels, t[2].prefixes, t[2].mnemonic })
    assert.same({ "ret", 3, 3 }, { t[3].mnemonic, t[3].line, t[3].mcol })
  end)

  it("parses memory operands: size, segment, base+index*scale+disp, rel, symbols", function()
    local op = asm.parse("mov rax, qword ptr fs:[rbx+rcx*8-0x10]")[1].operands[2]
    assert.same({ "mem", 64, "fs" }, { op.kind, op.size, op.seg })
    assert.same({ { "+", "reg", "rbx" }, { "+", "reg", "rcx", 8 }, { "-", "hex", "10" } },
      (function() local r = {} for i, t in ipairs(op.terms) do r[i] = { t.sign, t.k, t.v, t.scale } end return r end)())
    local rel = asm.parse("add qword ptr [rel counter+8], 1")[1].operands[1]
    assert.is_true(rel.rel)
    assert.same({ "sym", "counter" }, { rel.terms[1].k, rel.terms[1].v })
  end)

  it("registers any case, immediates, AVX-512 decorations", function()
    local st = asm.parse("VADDPS zmm0 {k1}{z}, ZMM1, dword ptr [rax] {1to16}")[1]
    assert.equal("vaddps", st.mnemonic)
    assert.same({ "reg", "zmm0", "mask", "k1", "z" }, { st.operands[1].kind, st.operands[1].reg,
      st.operands[1].decos[1].k, st.operands[1].decos[1].v, st.operands[1].decos[2].k })
    assert.equal("zmm1", st.operands[2].reg)
    assert.same({ "bcast", 16 }, { st.operands[3].decos[1].k, st.operands[3].decos[1].v })
    local imm = asm.parse("mov eax, -0x8")[1].operands[2]
    assert.same({ "imm", "-", "8" }, { imm.kind, imm.terms[1].sign, imm.terms[1].v })
  end)

  it("canonical condition codes: je -> jz, cmovne -> cmovnz, seta -> setnbe", function()
    local t = asm.parse("je x; cmovne eax, ebx; seta al; movabs rax, 1")
    assert.same({ "jz", "cmovnz", "setnbe", "mov" }, { t[1].mnemonic, t[2].mnemonic, t[3].mnemonic, t[4].mnemonic })
  end)

  it("reports the line and column of bad text", function()
    local function err(s) local ok, e = pcall(asm.parse, s) assert.is_false(ok) return e end
    assert.equal("1:9: expected operand", err("add rax,"))
    assert.equal("1:10: expected operand", err("add rax, , rbx"))
    assert.equal("2:14: expected ']'", err("nop\nmov rax, [rbx"))
    assert.equal("1:21: expected an address", err("mov rax, qword ptr []"))
    assert.equal("1:17: expected '}'", err("vaddps zmm0 {k1 , zmm1"))
    assert.equal("1:14: unknown decoration", err("vaddps zmm0 {q}, zmm1"))
    assert.equal("1:9: unexpected text", err("add rax rbx"))
    assert.equal("1:15: expected a term", err("mov rax, [rbx+]"))
  end)
end)
