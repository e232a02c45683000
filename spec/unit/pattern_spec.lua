-- lua/lurk/pattern.lua in the specs' Lua (pure Lua, Debian's lua-lpeg):
-- compiling patterns, matching instruction texts, captures, errors.
local h = require "spec.util.helper"
h.lualib()
local pattern = require "lurk.pattern"

local BLOCK = {
  "push rbx",
  "mov rax, qword ptr fs:[0x28]",
  "call qword ptr [rip+0x2f3a]",
  "test rax, rax",
  "jz 0x401000",
  "mov rdx, qword ptr [rsp+0x18]",
  "sub rdx, qword ptr fs:[0x28]",
  "jnz 0x404b6e",
}

describe("lurk.pattern.compile / match", function()
  it("captures operands and parts of words, with first/last indexes", function()
    local m = pattern.compile("call qword ptr [$m]; test rax, rax; j$cc $target"):match(BLOCK)
    assert.same({ "rip+0x2f3a", "z", "0x401000", 3, 5 }, { m.m, m.cc, m.target, m.first, m.last })
    assert.same({ BLOCK[3], BLOCK[4], BLOCK[5] }, m.insns)
    assert.is_nil(m.pc)
  end)

  it("typed placeholders: reg, imm, mem", function()
    local p = pattern.compile("mov $d:reg, $s:mem")
    assert.same({ "rax", "qword ptr fs:[0x28]" }, { p:match(BLOCK).d, p:match(BLOCK).s })
    assert.is_nil(pattern.compile("mov $d:reg, $s:imm"):match(BLOCK))
    assert.equal("0x28", pattern.compile("sub $r:reg, qword ptr fs:[$k:imm]"):match(BLOCK).k)
  end)

  it("a name used twice must capture the same text, in one instruction or across", function()
    assert.equal(4, pattern.compile("test $r, $r"):match(BLOCK).first)
    assert.is_nil(pattern.compile("test $r, $r"):match({ "test al, 0x8" }))
    local p = pattern.compile("mov $r, $x; ...; sub $r, $y")
    local m = p:match(BLOCK)
    assert.same({ 6, 7, "rdx" }, { m.first, m.last, m.r })
  end)

  it("'...' matches as few instructions as possible; '*' matches without capturing", function()
    local m = pattern.compile("push *; ...; j$cc $t"):match(BLOCK)
    assert.same({ 1, 5, "z" }, { m.first, m.last, m.cc })
  end)

  it("gmatch: left to right, not overlapping; match(list, init)", function()
    local p = pattern.compile("j$cc $t")
    local got = {}
    for m in p:gmatch(BLOCK) do got[#got + 1] = m.cc .. "@" .. m.first end
    assert.same({ "z@5", "nz@8" }, got)
    assert.equal(8, p:match(BLOCK, 6).first)
  end)

  it("literal conditional-jump aliases are Zydis names (jne = jnz); blanks are flexible", function()
    assert.equal(8, pattern.compile("  sub   rdx ,qword ptr fs:[0x28]\n  jne $f  # check"):match(BLOCK).last)
  end)

  it("raises on bad patterns with line and column", function()
    local function err(s) local ok, e = pcall(pattern.compile, s) assert.is_false(ok) return e end
    assert.equal("lurk.pattern: 1:5: expected a name after '$'", err("mov $, rax"))
    assert.equal("lurk.pattern: 2:10: expected reg, imm or mem after ':'", err("nop\n  mov $x:foo, rax"))
    assert.equal("lurk.pattern: a pattern cannot start or end with '...'", err("...; nop"))
    assert.equal("lurk.pattern: empty pattern", err("  # nothing"))
    assert.matches("bad argument #1 to 'compile' %(string expected, got nil%)", err(nil))
    assert.equal("lurk.pattern: call $m; ret", tostring(pattern.compile("call $m\n ret")))
  end)
end)
