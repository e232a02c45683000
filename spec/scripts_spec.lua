-- lurk run SCRIPT: lookup, arguments, several scripts, require, errors.
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"

describe("lurk run SCRIPT", function()
  describe("lookup", function()
    it("runs a script given by path, with its arguments", function()
      local r = h.run{ S .. "args.lua", "x", "y z", "--", "/bin/true" }
      assert.equal(0, r.status)
      assert.equal("n=2\targ0=" .. S .. "args.lua\targn=2\tx,y z\n", r.stderr)
    end)

    it("runs a relative path as given (arg[0] as typed)", function()
      local r = h.run({ "spec/lua/args.lua", "--", "/bin/true" }, { cwd = h.root })
      assert.equal(0, r.status)
      assert.equal("n=0\targ0=spec/lua/args.lua\targn=0\t\n", r.stderr)
    end)

    it("finds NAME and NAME.lua along LURK_PATH", function()
      local r = h.run({ "pathtool", "--", "/bin/true" }, { env = "LURK_PATH=/nonexistent:" .. S })
      assert.equal(0, r.status)
      assert.equal("pathtool found\tpathtool\n", r.stderr)
      r = h.run({ "pathtool.lua", "--", "/bin/true" }, { env = "LURK_PATH=" .. S, cwd = "/" })
      assert.equal(0, r.status)
    end)

    it("finds tools in lurk's scripts/ directory", function()
      local r = h.run{ "null", "--", "/bin/echo", "hi" }
      assert.equal(0, r.status)
      assert.equal("hi\n", r.stdout)
      assert.equal("", r.stderr)
    end)

    it("refuses a missing script before running the program (status 2)", function()
      local r = h.run{ "no-such-script-xyz", "--", "/bin/echo", "ran" }
      assert.equal(2, r.status)
      assert.equal("", r.stdout)
      assert.matches("cannot find script 'no%-such%-script%-xyz' %(looked for no%-such%-script%-xyz and no%-such%-script%-xyz%.lua in .*/scripts%)", r.stderr)
      r = h.run{ "./no/such.lua", "--", "/bin/true" }
      assert.equal(2, r.status)
      assert.equal("lurk: cannot open script './no/such.lua': No such file or directory\n", r.stderr)
    end)

    it("refuses a directory as a script", function()
      local r = h.run{ S, "--", "/bin/true" }
      assert.equal(2, r.status)
      assert.matches("is not a file", r.stderr)
    end)
  end)

  describe("several scripts", function()
    it("runs -e chunks, -t tools and the script in command-line order", function()
      local r = h.run{ "-e", "print('e1')", "-t", S .. "args.lua=a,b", "-e", "print('e2')",
                       S .. "args.lua", "p", "--", "/bin/true" }
      assert.equal(0, r.status)
      assert.equal("e1\nn=2\targ0=" .. S .. "args.lua\targn=2\ta,b\ne2\n" ..
                   "n=1\targ0=" .. S .. "args.lua\targn=1\tp\n", r.stderr)
    end)

    it("calls a tool module's start with the tool's arguments", function()
      local r = h.run{ "-t", S .. "tool.lua=1,two", "--", "/bin/true" }
      assert.equal(0, r.status)
      assert.equal("top\t1\ttwo\nstart\t1\ttwo\n", r.stderr)
    end)

    it("passes -t TOOL without '=' no arguments", function()
      local r = h.run{ "-t", S .. "args.lua", "--", "/bin/true" }
      assert.equal("n=0\targ0=" .. S .. "args.lua\targn=0\t\n", r.stderr)
    end)
  end)

  describe("require", function()
    it("finds modules next to the script and in lurk's lua/", function()
      local r = h.run{ S .. "usemod.lua", "--", "/bin/true" }
      assert.equal(0, r.status)
      assert.equal("twice\t42\ttrue\tspecmod\ttrue\n" ..
                   "         count  mnemonic\n             3  mov\n             1  call\n" ..
                   "missing\tfalse\ttrue\ttrue\n", r.stderr)
    end)

    it("finds modules along LURK_PATH and in package.preload", function()
      local r = h.run({ "-e", "package.preload.pre = function(n) return n .. '!' end " ..
                        "print(require 'specmod'.twice(2), require 'pre')", "--", "/bin/true" },
                      { env = "LURK_PATH=" .. S })
      assert.equal(0, r.status)
      assert.equal("4\tpre!\n", r.stderr)
    end)

    it("has package.searchpath, loadfile and dofile on raw syscalls", function()
      local r = h.run{ "-e", ("print(package.searchpath('specmod', '%s?.lua'), " ..
                              "loadfile('%sspecmod.lua') ~= nil, dofile('%sspecmod.lua').twice(4), " ..
                              "loadfile('/nonexistent.lua'))"):format(S, S, S), "--", "/bin/true" }
      assert.equal(0, r.status)
      assert.equal(S .. "specmod.lua\ttrue\t8\tnil\tcannot open /nonexistent.lua: No such file or directory\n",
                   r.stderr)
    end)
  end)

  describe("errors", function()
    it("reports a syntax error as FILE:LINE and exits non-zero", function()
      local r = h.run{ S .. "syntax.lua", "--", "/bin/echo", "ran" }
      assert.equal(1, r.status)
      assert.equal("", r.stdout)
      assert.equal("lurk: " .. S .. "syntax.lua:3: unexpected symbol near '='\n", r.stderr)
    end)

    it("reports a runtime error with file:line and a traceback", function()
      local r = h.run{ S .. "runtime.lua", "--", "/bin/echo", "ran" }
      assert.equal(1, r.status)
      assert.equal("", r.stdout)
      local lines = {}
      for l in r.stderr:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.equal("lurk: " .. S .. "runtime.lua:2: deliberate failure", lines[1])
      assert.equal("stack traceback:", lines[2])
      assert.matches("runtime%.lua:2: in function 'inner'", r.stderr)
      assert.matches("runtime%.lua:3: in function 'outer'", r.stderr)
      assert.matches("runtime%.lua:4: in main chunk", r.stderr)
    end)

    it("reports an error in -e code as (command line):LINE", function()
      local r = h.eval("local x = nil\nreturn x.y")
      assert.equal(1, r.status)
      assert.matches("^lurk: %(command line%):2: attempt to index local 'x' %(a nil value%)\nstack traceback:", r.stderr)
    end)

    it("refuses control bytes in script arguments", function()
      local r = h.run{ S .. "args.lua", "a\30b", "--", "/bin/true" }
      assert.equal(2, r.status)
      assert.matches("control byte", r.stderr)
    end)
  end)

  it("runs the program normally after the scripts", function()
    local r = h.run{ S .. "args.lua", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3" }
    assert.equal(3, r.status)
    assert.equal("out\n", r.stdout)
    assert.equal("n=0\targ0=" .. S .. "args.lua\targn=0\t\nerr\n", r.stderr)
  end)
end)
