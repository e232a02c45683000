-- lua/lurk/json.lua in the specs' Lua (pure Lua, no engine); every text
-- it writes is read back by python3's json module.
local h = require "spec.util.helper"
h.lualib()
local json = require "lurk.json"

-- python3 reads the JSON text in the file given and prints repr() of the
-- value, or "ERROR ..." when it is not JSON.
local PYREAD = [[
import json, sys
try:
    v = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
    print(ascii(v))
except Exception as e:
    print("ERROR", e)
]]
local function pyread(text)
  local f = h.tmpfile(text)
  local status, out = h.python(PYREAD, f)
  os.remove(f)
  assert.equal(0, status, out)
  return (out:gsub("\n$", ""))
end

describe("lurk.json", function()
  describe("encode", function()
    it("writes scalars, arrays and objects with sorted keys", function()
      assert.equal('{"args":[-100,"/etc/passwd"],"name":"openat","ok":true}',
        json.encode({ name = "openat", args = { -100, "/etc/passwd" }, ok = true }))
      assert.equal("null", json.encode(nil))
      assert.equal("false", json.encode(false))
      assert.equal('[1,null,3]', json.encode({ 1, json.null, 3 }))
      assert.equal('{"a":{"b":{"c":[]}}}', json.encode({ a = { b = { c = json.array({}) } } }))
    end)

    it("pretty-prints with indent", function()
      assert.equal('{\n  "a": [\n    1.5,\n    null\n  ],\n  "b": 1\n}',
        json.encode({ b = 1, a = { 1.5, json.null } }, { indent = 2 }))
      assert.equal('[\n\t{}\n]', json.encode({ {} }, { indent = "\t" }))
    end)

    it("tells arrays from objects: keys 1..n only; {} is an object unless marked", function()
      assert.equal("{}", json.encode({}))
      assert.equal("[]", json.encode(json.array({})))
      assert.equal('{"1":"a","2":"b"}', json.encode(json.object({ "a", "b" })))
      assert.equal('{"1":1,"3":3}', json.encode({ [1] = 1, [3] = 3 }))
      assert.equal('{"1":1,"2":2,"x":0}', json.encode({ 1, 2, x = 0 }))
      assert.equal('{"1.5":true}', json.encode({ [1.5] = true }))
    end)

    it("keeps the key order of pairs() with sort_keys = false", function()
      local t = { zz = 1, a = 2, m = 3 }
      local order = {}
      for k in pairs(t) do order[#order + 1] = '"' .. k .. '":' .. t[k] end
      assert.equal("{" .. table.concat(order, ",") .. "}", json.encode(t, { sort_keys = false }))
    end)

    it("writes numbers exactly and briefly; NaN and infinities as null", function()
      assert.equal("[3,-7,0,9007199254740992,0.1,0.3333333333333333,1e+300,-2.5e-10,null,null,null]",
        json.encode({ 3, -7, 0, 2 ^ 53, 0.1, 1 / 3, 1e300, -2.5e-10, 0 / 0, math.huge, -math.huge }))
      -- python3 reads every one back to the same double
      local vals = { 0.1, 1 / 3, 2 / 3, 1e-7, 123456.789, 2 ^ 60, -1e22, 5e-324, 1.7976931348623157e308 }
      local text = json.encode(vals)
      local back = pyread(text)
      local want = {}
      for i, v in ipairs(vals) do want[i] = json.number(v) end
      -- repr(float) is the shortest round trip, like ours
      local status, out = h.python("import json,sys\nprint(all(float(repr(x)) == x for x in json.loads(sys.argv[1])))", text)
      assert.equal(0, status)
      assert.equal("True\n", out)
      assert.truthy(back:match("^%["))
    end)

    it("escapes quotes, backslashes and control characters", function()
      assert.equal([["a\"b\\c\n\r\t\b\f\u0000\u0001\u001f]] .. "\127" .. [["]],
        json.encode("a\"b\\c\n\r\t\b\f\0\1\31\127"))
    end)

    it("replaces invalid UTF-8 by U+FFFD, one per bad byte, and keeps valid UTF-8", function()
      local R = "\239\191\189"
      local cases = {
        { "caf\195\169", "caf\195\169" },                    -- é
        { "\226\130\172\240\159\152\128", "\226\130\172\240\159\152\128" }, -- € and an emoji
        { "a\255b", "a" .. R .. "b" },                       -- never valid
        { "\128", R },                                        -- stray continuation
        { "\192\175", R .. R },                               -- overlong '/'
        { "\224\128\175", R .. R .. R },                      -- overlong, 3 bytes
        { "\237\160\128", R .. R .. R },                      -- a surrogate (U+D800)
        { "\244\144\128\128", R .. R .. R .. R },             -- past U+10FFFF
        { "\226\130", R .. R },                               -- cut short
        { "x\195", "x" .. R },                                -- cut at the end
      }
      for _, c in ipairs(cases) do
        assert.equal('"' .. c[2] .. '"', json.encode(c[1]))
        assert.equal(c[2], json.utf8_clean(c[1]))
      end
    end)

    it("gives python3 the intended text for every byte value", function()
      local bytes = {}
      for b = 0, 255 do bytes[#bytes + 1] = string.char(b) end
      local got = pyread(json.encode(table.concat(bytes)))
      -- python's ascii(): 0..127 as themselves (escaped), then 128 U+FFFD
      local status, want = h.python("print(ascii(''.join(chr(i) for i in range(128)) + '\\ufffd' * 128))")
      assert.equal(0, status)
      assert.equal(want:gsub("\n$", ""), got)
    end)

    it("escapes everything past ASCII with ascii = true (surrogate pairs past U+FFFF)", function()
      assert.equal([["caf\u00e9 \u20ac \ud83d\ude00 \ufffd"]],
        json.encode("caf\195\169 \226\130\172 \240\159\152\128 \255", { ascii = true }))
    end)

    it("writes LuaJIT-style 64-bit integers (cdata) exactly", function()
      -- the specs run in Lua 5.4: no cdata here; lualib_spec covers LuaJIT
      assert.equal("9223372036854775807", json.encode(math.maxinteger))
      assert.equal("-9223372036854775808", json.encode(math.mininteger))
    end)

    it("raises on cycles, bad keys and values, naming where", function()
      local c = { x = {} }
      c.x.back = c
      assert.has_error(function() json.encode(c) end, "json.encode: cycle at $.x.back")
      assert.has_error(function() json.encode({ a = { [true] = 1 } }) end,
        "json.encode: a key of type boolean in $.a (keys must be strings or numbers)")
      assert.has_error(function() json.encode({ f = print }) end, "json.encode: cannot encode a function at $.f")
      assert.has_error(function() json.encode(1, 2) end, "bad argument #2 to 'encode' (table expected, got number)")
      -- a table met twice without a cycle is fine
      local shared = { 1 }
      assert.equal('[[1],[1]]', json.encode({ shared, shared }))
    end)

    it("writes files", function()
      local f = os.tmpname()
      assert.is_true(json.write({ a = 1 }, f))
      assert.equal('{"a":1}\n', h.slurp(f))
      os.remove(f)
      local ok, err = json.write({}, "/nonexistent/dir/x.json")
      assert.is_nil(ok)
      assert.matches("nonexistent", err)
    end)
  end)

  describe("decode", function()
    it("reads what encode writes, and python's own output", function()
      local v = { name = "x\n\"y\"", list = { 1, 2.5, -3e2, true, false }, nested = { a = json.array({}) } }
      local back = assert(json.decode(json.encode(v)))
      assert.equal(json.encode(v), json.encode(back))
      local status, out = h.python([[import json; print(json.dumps({"k": ["\u00e9\U0001F600", None, 1e-5, {}]}))]])
      assert.equal(0, status)
      local t = assert(json.decode(out))
      assert.equal("\195\169\240\159\152\128", t.k[1])
      assert.equal(json.null, t.k[2])
      assert.equal(1e-5, t.k[3])
      assert.equal("{}", json.encode(t.k[4]))
    end)

    it("decodes escapes and surrogate pairs; a lone surrogate becomes U+FFFD", function()
      assert.equal("\240\159\152\128", json.decode([["\ud83d\ude00"]]))
      assert.equal("\239\191\189x", json.decode([["\ud83dx"]]))
      assert.equal("/\b\f\n\r\t", json.decode([["\/\b\f\n\r\t"]]))
    end)

    it("returns nil and a position for text that is not JSON", function()
      local bad = {
        { "[1,]", "unexpected ']' at position 4" },
        { "01", "trailing characters at position 2" },
        { '{"a" 1}', "':' expected at position 6" },
        { '"abc', "unterminated string at position 1" },
        { '"a\tb"', "control character in string at position 3" },
        { "1.", "trailing characters at position 2" },
        { "", "unexpected end at position 1" },
        { "[1 2]", "',' or ']' expected at position 4" },
        { "nul", "unexpected 'n' at position 1" },
      }
      for _, c in ipairs(bad) do
        local v, err = json.decode(c[1])
        assert.is_nil(v, c[1])
        assert.equal(c[2], err, c[1])
      end
      assert.has_error(function() json.decode(5) end, "bad argument #1 to 'decode' (string expected, got number)")
    end)
  end)
end)
