-- lua/lurk/protos.lua in the specs' Lua (pure Lua, no engine): parsing,
-- the shipped prototypes, and values formatted from a fake call (integer
-- and floating-point registers, memory); calltrace_spec runs it under lurk.
local h = require "spec.util.helper"
h.lualib()
local protos = require "lurk.protos"

-- A call: ints and floats by position, memory as { [addr] = bytes }.
local function call(ints, floats, mem, maxstr)
  local src = { ints = ints, floats = floats or {}, mem = mem or {}, maxstr = maxstr }
  function src:arg(i) return self.ints[i] or 0 end
  function src:farg(i) return self.floats[i] or 0 end
  function src:read(a, n)
    for base, s in pairs(self.mem) do
      if a >= base and a + n <= base + #s then return s:sub(a - base + 1, a - base + n) end
    end
    return nil
  end
  function src:cstring(a, max)
    for base, s in pairs(self.mem) do
      if a >= base and a < base + #s then
        local str = s:sub(a - base + 1):match("^[^%z]*")
        if #str > max then return str:sub(1, max), true end
        return str
      end
    end
    return nil
  end
  function src:sym(a) return a == 0x401000 and "cmp" or nil end
  return src
end

local function args(name, ...) return protos.args(assert(protos.get(name), name), call(...)) end

describe("lurk.protos", function()
  it("parses declarations: types, names, !, ..., buf(N), outbuf(ret)", function()
    local p = assert(protos.parse("ssize! read(fd fd, outbuf(ret) buf, size n)"))
    assert.equal("read", p.name)
    assert.equal("ssize", p.ret.kind)
    assert.is_function(p.ret.err)
    assert.same({ "fd", "outbuf(ret)", "size" }, { p.args[1].kind, p.args[2].kind, p.args[3].kind })
    assert.same({ "fd", "buf", "n" }, { p.args[1].name, p.args[2].name, p.args[3].name })
    p = assert(protos.parse("int printf(format fmt, ...);"))
    assert.is_true(p.variadic)
    p = assert(protos.parse("void abort(void)"))
    assert.equal(0, #p.args)
    assert.is_nil(p.ret.err)
  end)

  it("refuses bad declarations with a message", function()
    local bad = {
      ["f("] = "cannot parse prototype 'f(' (RET NAME(TYPE, ...) expected)",
      ["nosuch f(int)"] = "unknown result type 'nosuch' in 'nosuch f(int)'",
      ["int f(nosuch)"] = "unknown argument type 'nosuch' in 'int f(nosuch)'",
      ["int f(int, , int)"] = "empty argument in 'int f(int, , int)'",
      ["int f(..., int)"] = "'...' must come last in 'int f(..., int)'",
      ["int f(buf(x))"] = "bad argument type 'buf(x)' in 'int f(buf(x))'",
      ["int f(buf(ret))"] = "bad argument type 'buf(ret)' in 'int f(buf(ret))'",
      ["int f(buf(9))"] = "bad argument type 'buf(9)' in 'int f(buf(9))' (lengths from arguments 1-6)",
      ["buf(1) f(int)"] = "cannot parse prototype 'buf(1) f(int)' (RET NAME(TYPE, ...) expected)",
      ["int f(void)x"] = "cannot parse prototype 'int f(void)x' (RET NAME(TYPE, ...) expected)",
    }
    for decl, msg in pairs(bad) do
      local p, err = protos.parse(decl)
      assert.is_nil(p, decl)
      assert.equal(msg, err)
    end
    assert.has_error(function() protos.parse(42) end, "bad argument #1 to 'parse' (string expected, got number)")
  end)

  it("ships prototypes for the common libc functions, all of which parse", function()
    local names = protos.names()
    assert.is_true(#names > 250)
    for _, n in ipairs(names) do assert.is_table(protos.get(n), n) end
    for _, n in ipairs({ "strlen", "memcpy", "memset", "memcmp", "strcmp", "strncmp", "fopen", "fclose",
      "fread", "fwrite", "printf", "fprintf", "snprintf", "malloc", "calloc", "realloc", "free", "strtol",
      "strtoul", "strtod", "atoi", "getenv", "setenv", "read", "write", "open", "openat", "close",
      "opendir", "readdir", "closedir", "socket", "connect", "bind", "accept", "send", "recv", "qsort",
      "pthread_create", "pthread_join", "pthread_mutex_lock", "pthread_mutex_unlock" }) do
      assert.is_table(protos.get(n), n)
    end
    assert.is_nil(protos.get("no_such_function"))
  end)

  it("quotes strings as C literals and cuts them at maxstr", function()
    assert.equal([["a\tb\n\"q\"\\\0331\33x\377"]], protos.quote("a\tb\n\"q\"\\\0271\027x\255"))
    local s = "0123456789abcdefghijklmnopqrstuvwxyz"
    assert.equal('"0123456789abcdefghijklmnopqrstuv"...', args("strlen", { 0x1000 }, nil, { [0x1000] = s .. "\0" }))
    assert.equal('"01234"...', args("strlen", { 0x1000 }, nil, { [0x1000] = s .. "\0" }, 5))
    assert.equal('"01234"', args("strlen", { 0x1000 }, nil, { [0x1000] = "01234\0" }, 5))
    assert.equal("NULL", args("strlen", { 0 }))
    assert.equal("0xdead0", args("strlen", { 0xdead0 })) -- unreadable
  end)

  it("formats integers by type: signed, unsigned, 64-bit, hex, char, bool", function()
    assert.equal("-7", args("abs", { 0xfffffff9 }))           -- int: the low 32 bits, signed
    assert.equal("-7", args("labs", { -7 }))
    assert.equal("4294967295", args("srand", { -1 }))          -- uint
    assert.equal("0x1000, 'A', 18446744073709551615", args("memset", { 0x1000, 65, -1 }))
    assert.equal("NULL, '\\0', 0", args("memset", { 0, 0, 0 }))
    assert.equal("'\\n'", args("putchar", { 10 }))
    assert.equal("'\\377'", args("putchar", { 255 }))
    assert.equal("'\\''", args("putchar", { 39 }))
  end)

  it("formats doubles and floats from the xmm registers", function()
    assert.equal("2.5, 1e+100", protos.args(assert(protos.parse("double f(double, double)")), call({}, { 2.5, 1e100 })))
    assert.equal("0.1, -0.5", protos.args(assert(protos.parse("double f(double, double)")), call({}, { 0.1, -0.5 })))
    -- integer and floating-point arguments are counted apart (SysV)
    local p = assert(protos.parse("double ct_mix(int i, double d, string s, double e, long l)"))
    assert.equal('-5, 1.25, "x\\ty", -0.5, -1000000000000',
      protos.args(p, call({ -5, 0x2000, -1000000000000 }, { 1.25, -0.5 }, { [0x2000] = "x\ty\0" })))
    assert.equal("2500", (protos.result(assert(protos.get("strtod")), call({}), 0, 2500.0)))
  end)

  it("names flags and constants", function()
    local m = { [0x1000] = "/etc/passwd\0" }
    assert.equal('AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC', args("openat", { -100, 0x1000, 0x80000, 0 }, nil, m))
    assert.equal('"/etc/passwd", O_WRONLY|O_CREAT|O_TRUNC, 0644', args("open", { 0x1000, 0x241, 0x1a4 }, nil, m))
    assert.equal('"/etc/passwd", O_RDWR|O_TMPFILE, 0600', args("open", { 0x1000, 0x410002, 0x180 }, nil, m))
    assert.equal('"/etc/passwd", R_OK|X_OK', args("access", { 0x1000, 5 }, nil, m))
    assert.equal("AF_INET6, SOCK_STREAM|SOCK_CLOEXEC, 0", args("socket", { 10, 0x80001, 0 }))
    assert.equal("LC_ALL, NULL", args("setlocale", { 6, 0 }))
    assert.equal("SIGINT, 0x401000 <cmp>", args("signal", { 2, 0x401000 }))
    assert.equal("3, F_SETFD, 0x1", args("fcntl", { 3, 2, 1 }))
    assert.equal('"/etc/passwd", RTLD_NOW|RTLD_GLOBAL', args("dlopen", { 0x1000, 0x102 }, nil, m))
    assert.equal("NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0",
      args("mmap", { 0, 4096, 3, 0x22, -1, 0 }))
  end)

  it("formats socket addresses", function()
    local in4 = "\2\0\0\80\127\0\0\1" .. ("\0"):rep(8)
    local in6 = "\10\0\1\187\0\0\0\0" .. ("\0"):rep(15) .. "\1" .. "\0\0\0\0"
    local un = "\1\0/tmp/sock\0"
    assert.equal("3, {AF_INET, 127.0.0.1:80}, 16", args("connect", { 3, 0x1000, 16 }, nil, { [0x1000] = in4 }))
    assert.equal("3, {AF_INET6, [::1]:443}, 28", args("connect", { 3, 0x1000, 28 }, nil, { [0x1000] = in6 }))
    assert.equal('3, {AF_UNIX, "/tmp/sock"}, 12', args("bind", { 3, 0x1000, 12 }, nil, { [0x1000] = un }))
    local fe80 = "\10\0\0\80\0\0\0\0\254\128" .. ("\0"):rep(6) .. "\0\1\0\2\0\3\0\4" .. "\0\0\0\0"
    assert.equal("3, {AF_INET6, [fe80::1:2:3:4]:80}, 28", args("connect", { 3, 0x1000, 28 }, nil, { [0x1000] = fe80 }))
  end)

  it("reads buffers whose length is another argument, also a later one", function()
    local m = { [0x1000] = "abc\0def", [0x2000] = "abd" }
    assert.equal('"abc\\0d", "abd\\0\\0", 5', args("memcmp", { 0x1000, 0x2000, 5 }, nil, { [0x1000] = "abc\0def", [0x2000] = "abd\0\0" }))
    assert.equal('3, "abc\\0def", 7', args("write", { 3, 0x1000, 7 }, nil, m))
    assert.equal('"abc\\0de", 2, 3, 0x3000', args("fwrite", { 0x1000, 2, 3, 0x3000 }, nil, m)) -- size * n
  end)

  it("prints what a function wrote when it returned (outbuf, outstr)", function()
    local p = assert(protos.get("read"))
    local src = call({ 3, 0x1000, 100 }, nil, { [0x1000] = "hello, world" })
    local e = {}
    assert.equal("3, 0x1000, 100", protos.args(p, src, e))
    assert.equal('3, "hello", 100', protos.args_after(e, src, 5))
    assert.equal("3, 0x1000, 100", protos.args_after(e, src, -1)) -- an error: nothing written
    p = assert(protos.get("getcwd"))
    e = {}
    src = call({ 0x1000, 64 }, nil, { [0x1000] = "/tmp\0" })
    protos.args(p, src, e)
    assert.equal('"/tmp", 64', protos.args_after(e, src, 0x1000))
  end)

  it("follows a printf format's conversions into the variadic arguments", function()
    local m = { [0x1000] = "%d %5.2f %s %c %x %lu %p %% %*d %hhd\0", [0x2000] = "str\0" }
    assert.equal('"%d %5.2f %s %c %x %lu %p %% %*d "..., -3, 0.5, "str", \'z\', 0xff, 18446744073709551615, NULL, 4, 7, -1',
      args("printf", { 0x1000, -3, 0x2000, 122, 255, -1, 0, 4, 7, 255 }, { 0.5 }, m))
    -- integer registers go on with the fixed arguments: fprintf's stream is the first
    assert.equal('0x3000, "%s=%d", "str", 42', args("fprintf", { 0x3000, 0x1000, 0x2000, 42 }, nil,
      { [0x1000] = "%s=%d\0", [0x2000] = "str\0" }))
    -- scanf's are pointers: the format only
    assert.equal('"%d"', args("scanf", { 0x1000, 0x2000 }, nil, { [0x1000] = "%d\0" }))
  end)

  it("tells errors by the result type: -1, NULL, non-zero errnum", function()
    local src = call({})
    assert.same({ "-1", true }, { protos.result(protos.get("open"), src, -1) })
    assert.same({ "3", false }, { protos.result(protos.get("open"), src, 3) })
    assert.same({ "NULL", true }, { protos.result(protos.get("malloc"), src, 0) })
    assert.same({ "NULL", false }, { protos.result(protos.get("getenv"), src, 0) })
    assert.same({ "16", true }, { protos.result(protos.get("pthread_mutex_trylock"), src, 16) })
    assert.same({ "<void>", false }, { protos.result(protos.get("free"), src, 0) })
    assert.same({ "-1", false }, { protos.result(protos.get("strcmp"), src, 0xffffffff) })
  end)

  it("gives the result as a value of its type", function()
    assert.equal(-1, protos.value(protos.get("open"), 0xffffffff))
    assert.equal(4294967295, protos.value(protos.get("getuid"), 0xffffffff))
    assert.equal(-1, protos.value(protos.get("read"), -1))
    assert.equal(0x7f0000001000, protos.value(protos.get("malloc"), 0x7f0000001000))
    assert.equal(2.5, protos.value(protos.get("strtod"), 0, 2.5))
    assert.is_nil(protos.value(protos.get("free"), 0))
  end)

  it("adds prototypes of one's own", function()
    assert.is_nil(protos.get("my_fn"))
    local p = assert(protos.add("long my_fn(string a, hex b)"))
    assert.equal(p, protos.get("my_fn"))
    assert.equal('"x", 0xff', args("my_fn", { 0x1000, 255 }, nil, { [0x1000] = "x\0" }))
    assert.same({ nil, "unknown argument type 'q' in 'int my_fn(q)'" }, { protos.add("int my_fn(q)") })
    assert.equal(p, protos.get("my_fn"))
  end)
end)
