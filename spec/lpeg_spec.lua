-- LPeg inside lurk (cmake/LPeg.cmake): require "lpeg" in a script, at the
-- top level and inside bb handlers while the program runs from the cache,
-- checked against the same matches made by the system's own lua-lpeg.
local h = require "spec.util.helper"

describe("require 'lpeg' in a script", function()
  it("loads LPeg 1.0.2 without leaving a global 'lpeg' behind", function()
    local r = h.eval([[
      local lpeg = require "lpeg"
      print(lpeg.version(), type(lpeg.P), rawget(_G, "lpeg"), require "lpeg" == lpeg)
    ]])
    assert.equal(0, r.status, r.stderr)
    assert.equal("1.0.2\tfunction\tnil\ttrue\n", r.stderr)
  end)

  it("matches a grammar with captures, as the system's lua-lpeg does", function()
    local code = [[
      local lpeg = require "lpeg"
      local P, R, S, C, Ct, V = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Ct, lpeg.V
      local sp = S" \t"^0
      local g = P{ "list",
        list = Ct(V"item" * (sp * "," * sp * V"item")^0) * -1,
        item = C(R("az", "09")^1) + P"(" * sp * V"list0" * sp * ")",
        list0 = Ct(V"item" * (sp * "," * sp * V"item")^0),
      }
      local function show(t) local o = {} for i, v in ipairs(t) do
        o[i] = type(v) == "table" and "(" .. show(v) .. ")" or v end return table.concat(o, " ") end
      for _, s in ipairs{ "a, b,c", "x, (y, (z1, z2)), w", "a,,b", ("q, "):rep(3000) .. "end" } do
        local t = g:match(s)
        print(t and #show(t) .. ":" .. show(t):sub(1, 40) or "no match")
      end
    ]]
    local r = h.eval(code)
    assert.equal(0, r.status, r.stderr)
    -- the system's luajit with Debian's lua-lpeg (lpeg.so) on the same code
    local f = h.tmpfile(code, ".lua")
    local native = h.capture("luajit " .. h.quote(f) .. " 2>&1")
    os.remove(f)
    assert.equal(native, r.stderr)
    assert.matches("no match\n%d+:q q q q", r.stderr)
  end)

  it("runs inside bb handlers while ls runs from the cache (the engine's allocator, not the app's)", function()
    local r = h.run({ "-e", [[
      local lpeg = require "lpeg"
      local mnem = lpeg.C(lpeg.R("az", "09")^1)
      local seen = {}
      lurk.on("bb", function(bb)
        for ins in bb:insns() do
          local m = mnem:match(ins.text)
          seen[m] = (seen[m] or 0) + 1
        end
      end)
      lurk.on("exit", function() print(seen.mov > 100, seen.call > 10, seen.ret > 10) end)
    ]], "--", "/bin/ls", "-l", "/usr/bin" })
    assert.equal(0, r.status, r.stderr)
    assert.matches("true\ttrue\ttrue\n$", r.stderr)
    assert.truthy(#r.stdout > 1000)
  end)
end)
