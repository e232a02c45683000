-- lua/lurk/callgrind.lua in the specs' Lua: the files it writes are read
-- by Valgrind's callgrind_annotate, whose exclusive and inclusive totals
-- per function must be the ones given.
local h = require "spec.util.helper"
h.lualib()
local callgrind = require "lurk.callgrind"

-- callgrind_annotate's function table: { ["file:fn"] = { cost, ... } }
-- (costs of the shown events, in order) and the program total.
local function annotate(path, inclusive)
  local cmd = "callgrind_annotate --threshold=100 --inclusive=" .. (inclusive and "yes" or "no") .. " "
    .. h.quote(path) .. " 2>&1"
  local out = h.capture(cmd)
  local fns, total = {}, nil
  for line in out:gmatch("[^\n]+") do
    local costs, rest = line:match("^%s*([%d,%s%(%)%.%%]-)%s%s([^%s].*)$")
    if costs and rest then
      local nums = {}
      -- "." is callgrind_annotate's zero
      for n in costs:gsub("%b()", ""):gmatch("%S+") do nums[#nums + 1] = n == "." and 0 or tonumber((n:gsub(",", ""))) end
      if #nums > 0 then
        if rest == "PROGRAM TOTALS" then total = nums
        else
          local name = rest:gsub(" %[.*%]$", "")
          fns[name] = nums
        end
      end
    end
  end
  return fns, total, out
end

describe("lurk.callgrind", function()
  local tmp = h.tmpdir()
  teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)

  -- main (self 20) calls fib once (fib: self 800, calls itself: recursion
  -- inclusive counted on the outer edge only) and write twice (libc, 50).
  local function profile()
    local p = callgrind.new({ events = { "Ir" }, cmd = "./prog 10", pid = 4242 })
    local main = p:fn({ name = "main", file = "prog.c", line = 10, object = "/tmp/prog" })
    local fib = p:fn({ name = "fib", file = "prog.c", line = 3, object = "/tmp/prog" })
    local w = p:fn({ name = "write", file = "io.c", line = 3, object = "/lib/libc.so.6" })
    p:cost(main, 12, 15) p:cost(main, 13, 5)
    p:cost(fib, 4, 600) p:cost(fib, 5, 200)
    p:cost(w, 7, 50)
    p:call(main, fib, { line = 13, count = 1, inclusive = 800 })
    p:call(main, w, { line = 14, count = 1, inclusive = 20 })
    p:call(main, w, { line = 14, count = 1, inclusive = 30 }) -- merged with the one above
    return p
  end

  it("writes exclusive costs that callgrind_annotate reads", function()
    local path = tmp .. "/callgrind.out.1"
    assert.is_true(profile():write(path))
    local fns, total, out = annotate(path, false)
    assert.same({ 870 }, total, out)
    assert.same({ 20 }, fns["prog.c:main"], out)
    assert.same({ 800 }, fns["prog.c:fib"], out)
    assert.same({ 50 }, fns["io.c:write"], out)
    assert.matches("Profiled target:%s+%./prog 10 %(PID 4242, part 1%)", out)
  end)

  it("writes call edges whose inclusive costs callgrind_annotate adds up", function()
    local path = tmp .. "/callgrind.out.2"
    assert.is_true(profile():write(path))
    local fns, _, out = annotate(path, true)
    assert.same({ 870 }, fns["prog.c:main"], out)
    assert.same({ 800 }, fns["prog.c:fib"], out)
    assert.same({ 50 }, fns["io.c:write"], out)
    local text = h.slurp(path)
    assert.truthy(text:find("\ncob=(2) /lib/libc.so.6\ncfi=(2) io.c\ncfn=(3) write\ncalls=2 3\n14 50\n", 1, true), text)
  end)

  it("writes lines of another file (inlined code) after fi=, and goes back with fe=", function()
    local path = tmp .. "/callgrind.out.fi"
    local p = callgrind.new()
    local f = p:fn({ name = "parse", file = "parse.c", line = 5, object = "/tmp/prog" })
    local g = p:fn({ name = "helper", file = "parse.c", line = 40, object = "/tmp/prog" })
    p:cost(f, 6, 10)
    p:cost(f, 12, 7, "util.h")            -- inlined from util.h
    p:cost(f, 13, 3, "util.h")
    p:cost(f, 7, 5, "parse.c")            -- its own file, as without a file
    p:call(f, g, { line = 7, count = 1, inclusive = 4 })
    p:cost(g, 41, 4)
    assert.is_true(p:write(path))
    local text = h.slurp(path)
    assert.truthy(text:find("\nfn=(1) parse\n6 10\n7 5\ncfi=(1)\ncfn=(2) helper\ncalls=1 40\n7 4\nfi=(2) util.h\n12 7\n13 3\nfe=(1)\n", 1, true), text)
    assert.same({ 29 }, p:total())
    local fns, total, out = annotate(path, false)
    assert.same({ 29 }, total, out)
    -- callgrind_annotate names a function by the file of each cost line
    assert.same({ 15 }, fns["parse.c:parse"], out)
    assert.same({ 10 }, fns["util.h:parse"], out)
    assert.has_error(function() p:cost(f, 1, 1, 5) end, "bad argument #4 to 'cost' (file name expected, got number)")
  end)

  it("takes several events and the table form with names, indexes and tables", function()
    local path = tmp .. "/callgrind.out.3"
    local fa = { name = "a", file = "x.c", line = 1, cost = { 10, 4 } }
    assert.is_true(callgrind.write(path, {
      events = { "Ir", "Dr" },
      cmd = "x",
      functions = {
        fa,
        { name = "b", file = "y.c", line = 7, lines = { [8] = { 100, 1 }, [9] = 5 } },
        { name = "c", line = 2, cost = 1 },
      },
      calls = {
        { caller = fa, callee = "b", count = 4, inclusive = { 105, 1 }, line = 2 },
        { caller = 1, callee = 3, count = 1, inclusive = { 1, 0 } },
      },
    }))
    local fns, total, out = annotate(path, false)
    assert.same({ 116, 5 }, total, out)
    assert.same({ 10, 4 }, fns["x.c:a"], out)
    assert.same({ 105, 1 }, fns["y.c:b"], out)
    assert.same({ 1, 0 }, fns["???:c"], out)
    local inc = annotate(path, true)
    assert.same({ 116, 5 }, inc["x.c:a"], out)
    assert.same({ 105, 1 }, inc["y.c:b"], out)
  end)

  it("checks its input", function()
    assert.has_error(function() callgrind.new({ events = { "I r" } }) end,
      "bad argument #1 to 'new' (events: names of letters, digits and _ expected, got I r)")
    local p = callgrind.new()
    local f = p:fn({ name = "f" })
    assert.has_error(function() p:cost(f, 1, { 1, 2 }) end, "bad argument #3 to 'cost' (more costs than events)")
    assert.has_error(function() p:cost({}, 1, 1) end, "bad argument #1 to 'cost' (a function of this profile expected)")
    assert.has_error(function() p:call(f, f) end, "bad argument #3 to 'call' (table expected, got nil)")
    assert.has_error(function()
      callgrind.write(tmp .. "/x", { functions = { { name = "a" }, { name = "a" } }, calls = { { caller = "a", callee = 1 } } })
    end, "bad argument #2 to 'write' (calls[1].caller: several functions are named 'a')")
    assert.has_error(function()
      callgrind.write(tmp .. "/x", { functions = { { name = "a" } }, calls = { { caller = "a", callee = "zz" } } })
    end, "bad argument #2 to 'write' (calls[1].callee: no such function: zz)")
    local ok, err = p:write("/nonexistent/callgrind.out")
    assert.is_nil(ok)
    assert.matches("nonexistent", err)
  end)
end)
