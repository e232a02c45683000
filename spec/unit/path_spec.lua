-- lua/lurk/path.lua in the specs' Lua (pure Lua, no engine); shepherd's
-- guard and semu use it under lurk (shepherd_spec procmemat, semu_spec).
local h = require "spec.util.helper"
h.lualib()
local path = require "lurk.path"

describe("lurk.path.normalize", function()
  it("takes out '.', '..' and repeated slashes by name", function()
    assert.equal("/a/c", path.normalize("/a/./b/../c"))
    assert.equal("/x", path.normalize("//x//"))
    assert.equal("/", path.normalize("/.."))
    assert.equal("/", path.normalize("/"))
  end)

  it("makes a relative path absolute against the base, or /", function()
    assert.equal("/tmp/b/c", path.normalize("a/../b//c", "/tmp"))
    assert.equal("/proc/self/mem", path.normalize("./mem", "/proc/self"))
    assert.equal("/etc", path.normalize("etc"))
  end)

  it("checks its arguments", function()
    assert.has_error(function() path.normalize(nil) end, "bad argument #1 to 'normalize' (string expected, got nil)")
    assert.has_error(function() path.normalize("a", 1) end, "bad argument #2 to 'normalize' (string expected, got number)")
  end)
end)
