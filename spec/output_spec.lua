-- Engine-safe output, io and os: lurk's output is stderr or --output FILE,
-- never the program's stdout; files and the os library on raw syscalls.
local h = require "spec.util.helper"

describe("output", function()
  it("print, io.write, io.stdout/stderr and lurk.log go to lurk's output (stderr)", function()
    local r = h.eval([[print("p", 1, nil) io.write("w", 2, "\n") io.stdout:write("o\n")
                       io.stderr:write("e\n") lurk.log("log %d %s", 42, "x")]],
                     { "/bin/echo", "app" })
    assert.equal(0, r.status)
    assert.equal("app\n", r.stdout)
    assert.equal("p\t1\tnil\nw2\no\ne\nlog 42 x\n", r.stderr)
  end)

  it("goes to --output FILE, not to the program's stdout or stderr", function()
    local out = os.tmpname()
    local r = h.run{ "--output", out, "-e", [[print("p") io.write("w\n") lurk.log("l%s", "!")
      lurk.on("init", function() io.stderr:write("in init\n") end)]], "--", "/bin/sh", "-c", "echo app; echo apperr >&2" }
    assert.equal(0, r.status)
    assert.equal("app\n", r.stdout)
    assert.equal("apperr\n", r.stderr)
    assert.equal("p\nw\nl!\nin init\n", h.slurp(out))
    os.remove(out)
  end)

  it("checks lurk.log's arguments like string.format", function()
    local r = h.eval([[print(pcall(lurk.log)) print(pcall(lurk.log, "%d", "x"))]])
    assert.equal(0, r.status)
    assert.matches("^false\tbad argument #1 to '%?' %(string expected, got no value%)\n", r.stderr)
    assert.matches("\nfalse\t.*number expected, got string%)\n$", r.stderr)
  end)
end)

describe("io", function()
  it("writes, reads back, seeks and closes files", function()
    local p = os.tmpname()
    local r = h.eval(([[
      local f = assert(io.open(%q, "w"))
      print(io.type(f), tostring(f):match("^file %%(0x%%x+%%)$") ~= nil)
      assert(f:write("line1\n", 2, "\n", 3.5, "\nlast") == f)
      print(f:close(), io.type(f), tostring(f))
      f = assert(io.open(%q))
      print(f:read("l"), f:read("n"), f:read("n"), f:read("L"), f:read("a"), f:read("a"), f:read("l"), f:read(0))
      print(f:seek("set", 2), f:read(3), f:seek("cur"), f:seek("end"))
      f:close()
      local t = {}
      for l in io.lines(%q) do t[#t + 1] = l end
      print(#t, t[1], t[4])
      for a, b in io.open(%q):lines(2, 1) do io.write(a, "|", b, ";") break end print()
      f = io.open(%q, "a+") f:write("+") f:seek("set") print(f:read("a")) f:close()
    ]]):format(p, p, p, p, p))
    os.remove(p)
    assert.equal(0, r.status)
    assert.equal("file\ttrue\n" ..
                 "true\tclosed file\tfile (closed)\n" ..
                 "line1\t2\t3.5\t\n\tlast\t\tnil\tnil\n" ..
                 "2\tne1\t5\t16\n" ..
                 "4\tline1\tlast\n" ..
                 "li|n;\n" ..
                 "line1\n2\n3.5\nlast+\n", r.stderr)
  end)

  it("returns nil, message, errno for environmental failures", function()
    local r = h.eval([[print(io.open("/nonexistent/f")) print(io.open("/", "w"))
                       print(pcall(io.lines, "/nonexistent/f"))]])
    assert.equal(0, r.status)
    assert.equal("nil\t/nonexistent/f: No such file or directory\t2\n" ..
                 "nil\t/: Is a directory\t21\n" ..
                 "false\t/nonexistent/f: No such file or directory\n", r.stderr)
  end)

  it("raises for programmer errors", function()
    local r = h.eval([[print(pcall(io.open, "x", "rw")) print(pcall(io.open))
                       local f = io.tmpfile() f:close() print(pcall(f.read, f))
                       print(io.stdout:close()) print(pcall(io.popen, "ls"))]])
    assert.equal(0, r.status)
    assert.equal("false\tbad argument #2 to '?' (invalid mode)\n" ..
                 "false\tbad argument #1 to '?' (string expected, got no value)\n" ..
                 "false\tattempt to use a closed file\n" ..
                 "nil\tcannot close standard file\n" ..
                 "false\tio.popen is not available in lurk (it would run a command inside the program)\n",
                 r.stderr)
  end)

  it("has io.tmpfile, io.output and io.input", function()
    local p = os.tmpname()
    local r = h.eval(([[local t = io.tmpfile() t:write("abc") t:seek("set") print(t:read("a"))
      io.output(%q) io.write("to file\n") io.output():close() io.output(io.stdout)
      io.input(%q) print(io.read("L")) io.input():close() print(pcall(io.read))]]):format(p, p))
    os.remove(p)
    assert.equal(0, r.status)
    assert.equal("abc\nto file\n\nfalse\tdefault input file is closed\n", r.stderr)
  end)

  it("flushes files the script left open when the process ends", function()
    local p = os.tmpname()
    local r = h.eval(("F = io.open(%q, 'w') F:write('kept') os.exit(0)"):format(p))
    assert.equal(0, r.status)
    assert.equal("kept", h.slurp(p))
    os.remove(p)
  end)
end)

describe("os", function()
  it("reads the environment the program started with", function()
    local r = h.run({ "-e", "print(os.getenv('LURK_SPEC_VAR'), os.getenv('NOPE_XYZ'), os.getenv('LURK_OPTIONS'), os.getenv('LD_PRELOAD'))",
                      "--", "/bin/true" }, { env = "LURK_SPEC_VAR=v1" })
    assert.equal("v1\tnil\tnil\tnil\n", r.stderr)
  end)

  it("has os.time, os.date (UTC), os.clock and os.difftime", function()
    local r = h.eval([[print(os.time{year=2020, month=1, day=1, hour=0}, os.time{year=2019, month=13, day=32, hour=0, min=0})
      print(os.date("!%Y-%m-%d %H:%M:%S %a %b %j %p", 1700000000), os.date("%c", 0))
      local t = os.date("*t", 86400 * 365) print(t.year, t.month, t.day, t.wday, t.yday, t.isdst)
      print(math.abs(os.time() - ]] .. os.time() .. [[) < 60, os.clock() >= 0, os.difftime(5, 2))
      print(pcall(os.date, "%Q"))]])
    assert.equal(0, r.status)
    assert.equal("1577836800\t1580515200\n" ..
                 "2023-11-14 22:13:20 Tue Nov 318 PM\tThu Jan  1 00:00:00 1970\n" ..
                 "1971\t1\t1\t6\t1\tfalse\n" ..
                 "true\ttrue\t3\n" ..
                 "false\tbad argument #1 to 'date' (invalid conversion specifier '%Q')\n", r.stderr)
  end)

  it("removes and renames files, makes temporary names", function()
    local r = h.eval([[local n = os.tmpname() print(n:match("^/tmp/lurk_%w+$") ~= nil)
      local m = n .. ".moved" print(os.rename(n, m)) print(io.open(n))
      print(os.remove(m)) print(os.remove(m))]])
    assert.equal(0, r.status)
    local l = {}
    for s in r.stderr:gmatch("[^\n]+") do l[#l + 1] = s end
    assert.equal("true", l[1])
    assert.equal("true", l[2])
    assert.matches("^nil\t/tmp/lurk_%w+: No such file or directory\t2$", l[3])
    assert.equal("true", l[4])
    assert.matches("^nil\t/tmp/lurk_%w+%.moved: No such file or directory\t2$", l[5])
  end)

  it("os.exit ends the process with the code, before the program runs", function()
    local r = h.eval("os.exit(7)", { "/bin/echo", "ran" })
    assert.equal(7, r.status)
    assert.equal("", r.stdout)
    assert.equal(1, h.eval("os.exit(false)").status)
    assert.equal(0, h.eval("os.exit(true)").status)
    assert.equal(0, h.eval("os.exit()").status)
  end)

  it("os.exit from an init handler runs the exit handlers first", function()
    local r = h.eval([[lurk.on("exit", function(e) print("exit", e.status) end)
                       lurk.on("init", function() os.exit(4) end)]], { "/bin/echo", "ran" })
    assert.equal(4, r.status)
    assert.equal("", r.stdout)
    assert.equal("exit\t4\n", r.stderr)
  end)

  it("refuses os.execute", function()
    local r = h.eval("print(pcall(os.execute, 'true'))")
    assert.equal("false\tos.execute is not available in lurk (it would run a command inside the program)\n", r.stderr)
  end)
end)
