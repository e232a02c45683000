-- lua/lurk/repl.lua's pretty printer and completion in the specs' Lua (no
-- engine); ctl_spec and repl_spec run it in the target.
local h = require "spec.util.helper"
h.lualib()
local repl = require "lurk.repl"

describe("lurk.repl", function()
  it("pretty-prints scalars, nested tables, cycles and long tables", function()
    assert.equal('1\t"a\\n"\tnil\ttrue', repl.pretty(1, "a\n", nil, true))
    assert.equal('{ 1, "a", [2.5] = 0, x = { y = true } }', repl.pretty({ 1, "a", x = { y = true }, [2.5] = 0 }))
    local t = {}
    t.self = t
    assert.equal("{ self = <cycle> }", repl.pretty(t))
    local long = {}
    for i = 1, 12 do long["key" .. i] = i end
    local s = repl.pretty(long)
    assert.match("^{\n  key1 = 1,\n  key10 = 10,\n", s)
    assert.match("\n  key9 = 9\n}$", s)
    assert.equal("{ {...} }", repl.pretty({ { { { { 1 } } } } }):gsub("{ { { ", ""):gsub(" } } }", ""))
    local obj = setmetatable({}, { __tostring = function() return "mov rax, rbx" end })
    assert.equal("mov rax, rbx", repl.pretty(obj))
  end)

  it("completes globals, fields, methods and metatable fields without running code", function()
    local env = {
      lurk = { modules = 1, module_at = 2, sampling = 3 },
      obj = setmetatable({ own = 1 }, { __index = { inherited = function() end, value = 5 } }),
      trap = setmetatable({}, { __index = function() error("ran") end }),
      print = print,
    }
    assert.same({ "lurk.module_at", "lurk.modules" }, repl.complete("lurk.mod", env))
    assert.same({ "lurk.sampling" }, repl.complete("lurk.samp", env))
    assert.same({ "obj.inherited", "obj.own", "obj.value" }, repl.complete("obj.", env))
    assert.same({ "obj:inherited" }, repl.complete("obj:", env))
    assert.same({}, repl.complete("trap.x", env))
    assert.same({ "print" }, repl.complete("pri", env))
    assert.same({ "repeat", "return" }, repl.complete("re", env))
    assert.same({}, repl.complete("nosuch.x", env))
    assert.same({ "s:format" }, repl.complete("s:form", { s = "text" }))
  end)
end)
