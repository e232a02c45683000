-- lua/lurk/folded.lua and lua/lurk/flame.lua in the specs' Lua: folded
-- stacks written and parsed back, the SVG flame graph parsed as XML by
-- python3 and its frames checked against the stacks.
local h = require "spec.util.helper"
h.lualib()
local folded = require "lurk.folded"
local flame = require "lurk.flame"

describe("lurk.folded", function()
  it("writes one sorted line per stack, root first, counts summed", function()
    local st = folded.new()
    st:add({ "main", "parse", "malloc" }, 3)
    st:add_backtrace({ "malloc", "parse", "main" })
    st:add({ "main", "run" })
    st:add_key("main;run", 2.5)
    assert.equal("main;parse;malloc 4\nmain;run 3.5\n", st:format())
    assert.equal(2, st:size())
    assert.equal(7.5, st:total())
    assert.equal("folded (2 stacks)", tostring(st))
  end)

  it("keeps ';' and line breaks out of frame names; an empty name is [unknown]", function()
    local st = folded.new()
    st:add({ "a;b", "c\nd", "", "operator<<(std::ostream&, int) const" }, 1)
    assert.equal("a:b;c d;[unknown];operator<<(std::ostream&, int) const 1\n", st:format())
  end)

  it("parses what it writes, and FlameGraph's own examples", function()
    local st = folded.new()
    st:add({ "main", "f g", "h" }, 7)
    st:add({ "main" }, 1)
    st:add({ "x" }, 123456789012)
    local back = assert(folded.parse(st:format()))
    assert.equal(st:format(), back:format())
    local ff = assert(folded.parse("func_a;func_b;func_c 1\r\nfunc_a;func_b 2\n\nfunc_a;func_b;func_c 4"))
    assert.same({ { stack = "func_a;func_b", count = 2 }, { stack = "func_a;func_b;func_c", count = 5 } },
      ff:stacks())
  end)

  it("reports lines that are not folded stacks", function()
    local st, err = folded.parse("a;b 1\nnocount\n")
    assert.is_nil(st)
    assert.equal("line 2: not 'frame;frame;... count': nocount", err)
    st, err = folded.parse("a;b x\n")
    assert.is_nil(st)
    assert.equal("line 1: not 'frame;frame;... count': a;b x", err)
    assert.has_error(function() folded.new():add("a") end, "bad argument #1 to 'add' (table expected, got string)")
    assert.has_error(function() folded.new():add({ "a" }, "x") end, "bad argument #2 to 'add' (number expected, got string)")
  end)

  it("writes files", function()
    local st = folded.new()
    st:add({ "a" }, 2)
    local f = os.tmpname()
    assert.is_true(st:write(f))
    assert.equal("a 2\n", h.slurp(f))
    os.remove(f)
    local ok, err = st:write("/nonexistent/x.folded")
    assert.is_nil(ok)
    assert.matches("nonexistent", err)
  end)
end)

-- python3: parse the SVG as XML; print one line per frame:
-- name|x|width|y|title, and the svg's width and height first.
local PYSVG = [[
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
print("svg|%s|%s" % (root.get("width"), root.get("height")))
for g in root.find("s:g[@id='frames']", ns).findall("s:g", ns):
    r = g.find("s:rect", ns)
    print("%s|%s|%s|%s|%s" % (g.get("data-name"), r.get("x"), r.get("width"), r.get("y"), g.find("s:title", ns).text))
]]

local function svgframes(path)
  local status, out = h.python(PYSVG, path)
  assert.equal(0, status, out)
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  local w, ht = lines[1]:match("^svg|(%d+)|(%d+)$")
  local frames = {}
  for i = 2, #lines do
    local name, x, width, y, title = lines[i]:match("^(.*)|(.-)|(.-)|(.-)|(.*)$")
    frames[name] = { x = tonumber(x), w = tonumber(width), y = tonumber(y), title = title }
  end
  return frames, tonumber(w), tonumber(ht), #lines - 1
end

describe("lurk.flame", function()
  local tmp = h.tmpdir()
  teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)

  it("writes an SVG whose frames are as wide as their share and stacked by depth", function()
    local st = folded.new()
    st:add({ "main", "parse" }, 30)
    st:add({ "main", "run", "work" }, 60)
    st:add({ "main", "run" }, 10)
    local path = tmp .. "/a.svg"
    assert.is_true(flame.svg(st, path, { title = "t <1> & \"2\"" }))
    local fr, W, H, n = svgframes(path)
    assert.equal(1200, W)
    assert.equal(5, n) -- all, main, parse, run, work
    local inner = W - 20
    assert.equal(inner, fr.all.w)
    assert.equal(inner, fr.main.w)
    assert.near(inner * 0.3, fr.parse.w, 0.06)
    assert.near(inner * 0.7, fr.run.w, 0.06)
    assert.near(inner * 0.6, fr.work.w, 0.06)
    -- siblings sorted by name, left to right; children on top of parents
    assert.is_true(fr.parse.x < fr.run.x)
    assert.near(fr.parse.x + fr.parse.w, fr.run.x, 0.11)
    assert.equal(fr.work.x, fr.run.x)
    assert.is_true(fr.all.y > fr.main.y and fr.main.y > fr.run.y and fr.run.y > fr.work.y)
    assert.equal("run (70 samples, 70.00%)", fr.run.title)
    assert.equal(fr.all.y - fr.main.y, 16)
    assert.is_true(H >= 4 * 16)
    -- the title was escaped (or the XML would not parse)
    assert.truthy(h.slurp(path):find("t &lt;1&gt; &amp; &quot;2&quot;", 1, true))
  end)

  it("draws an icicle graph with inverted = true, and reads folded text and tables", function()
    local path = tmp .. "/b.svg"
    assert.is_true(flame.svg("a;b 2\na;c 2\n", path, { inverted = true, count = "bytes" }))
    local fr = svgframes(path)
    assert.is_true(fr.all.y < fr.a.y and fr.a.y < fr.b.y)
    assert.equal("b (2 bytes, 50.00%)", fr.b.title)
    assert.is_true(flame.svg({ ["x;y"] = 3 }, path))
    fr = svgframes(path)
    assert.equal("y (3 samples, 100.00%)", fr.y.title)
  end)

  it("leaves out frames narrower than minwidth; keeps names valid XML", function()
    local st = folded.new()
    st:add({ "main", "big" }, 100000)
    st:add({ "main", "tiny" }, 1) -- 0.0118 px
    st:add({ "main", "<&\"'>\1\255" }, 50000)
    local path = tmp .. "/c.svg"
    assert.is_true(flame.svg(st, path))
    local fr, _, _, n = svgframes(path)
    assert.is_nil(fr.tiny)
    assert.equal(4, n)
    assert.truthy(fr["<&\"'> \u{FFFD}"])
  end)

  it("returns nil and a message for input that is not folded stacks", function()
    local ok, err = flame.svg("no count here\n", tmp .. "/d.svg")
    assert.is_nil(ok)
    assert.equal("line 1: not 'frame;frame;... count': no count here", err)
    ok, err = flame.svg(folded.new(), "/nonexistent/d.svg")
    assert.is_nil(ok)
    assert.matches("nonexistent", err)
    assert.has_error(function() flame.svg(folded.new()) end,
      "bad argument #2 to 'svg' (file name or file expected, got nil)")
  end)
end)
