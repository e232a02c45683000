-- scripts/calltrace.lua end to end: typed arguments and results (strings
-- with escapes, negative ints, doubles, flags, errno), nesting, two threads,
-- longjmp, the options, bad input; then ls, python3 and sqlite3 traced with
-- a few globs, their output equal to native and their lines equal to
-- `ltrace -L -x` on the same runs. Program: spec/lua/calltrace_prog.c (one
-- mode per argv[1]), built -O0 -fno-builtin so every libc call is a call.
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"

local sh = h.sh
local tmp = h.tmpdir()
teardown(function() sh("rm -rf " .. h.quote(tmp)) end)

local prog
local function build()
  if not prog then
    prog = h.gcc(tmp .. "/ctprog", "-O0", "-fno-builtin", "-g", S .. "calltrace_prog.c", "-lpthread")
  end
  return prog
end

-- The prototypes of the program's own functions, as a -F file.
local protofile = h.tmpfile([[
# calltrace_prog.c
double ct_mix(int i, double d, string s, double e, long l)
int ct_inner(string s)
int ct_outer(string s)
int ct_cmp(ptr a, ptr b)
int ct_block(int x)
int ct_ping(int x)
int ct_deep(int x)
int ct_jump(int x)
int ct_after(int x)
]])
teardown(function() os.remove(protofile) end)

local ENV = "CT_VAR='v\"1'"

-- lurk run calltrace ARGS -- ctprog MODE
local function trace(args, mode, opts)
  local words = { "calltrace" }
  for _, a in ipairs(args) do words[#words + 1] = a end
  words[#words + 1] = "--"
  words[#words + 1] = build()
  words[#words + 1] = mode
  return h.run(words, opts or { env = ENV })
end

local function native(mode)
  return h.capture(ENV .. " " .. h.quote(build()) .. " " .. mode .. " 2>/dev/null </dev/null")
end

-- Addresses (9 to 12 hex digits: user space) become 0xADDR.
local function mask(s)
  return (s:gsub("0x(%x+)", function(d) if #d >= 9 and #d <= 12 then return "0xADDR" end end))
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

describe("calltrace", function()
  it("prints typed arguments and results: escaped strings, negative ints, doubles, flags, errno", function()
    local r = trace({ "--depth", "1", "-F", protofile, "strlen", "atoi", "strtol", "abs", "strtod", "open",
      "openat", "close", "memset", "memcmp", "getenv", "setlocale", "printf", "ctprog!ct_*" }, "args")
    assert.equal(0, r.status)
    assert.equal(native("args"), r.stdout)
    -- ct_raw has no prototype: its six registers in hex (the last three are whatever they held)
    local err = mask(r.stderr):gsub("(ct_raw%(0x1, 0xffffffffffffffff, 0x10), [^)]*%)", "%1, ...)")
    assert.equal([[
strlen("tab\there \"q\" \\ nl\n\1\377") = 20
printf("%zu\n", 20) = 3
strlen("0123456789abcdefghijklmnopqrstuv"...) = 36
printf("%zu\n", 36) = 3
atoi("-42") = -42
strtol("-0x10", NULL, 16) = -16
abs(-7) = 7
printf("%d %ld %d\n", -42, -16, 7) = 10
strtod("2.5e3", NULL) = 2500
printf("%g\n", 2500) = 5
open("/nonexistent/ct", O_WRONLY|O_CREAT|O_TRUNC, 0640) = -1 ENOENT (No such file or directory)
openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC) = 3
printf("%d %d\n", -1, 1) = 5
close(3) = 0
memset(0xADDR, 'A', 8) = 0xADDR
memcmp("abc", "abd", 3) = -1
printf("%s %d\n", "AAAAAAAA", 1) = 11
getenv("CT_VAR") = "v\"1"
printf("%s\n", "v\"1") = 4
setlocale(LC_ALL, "C") = "C"
printf("%d %s\n", -3, "C") = 5
ct_mix(-5, 1.25, "x\ty", -0.5, -1000000000000) = -1000000000001.25
ct_raw(0x1, 0xffffffffffffffff, 0x10, ...) = 0x10
printf("%.3f %ld\n", -1000000000001.25, 16) = 22
printf("%d %s %.2f %c %x\n", -3, "s", 0.5, 'z', 0xff) = 15
+++ exited (status 0) +++
]], err)
  end)

  it("indents nested calls, splits a call around them, names function pointers", function()
    local r = trace({ "-F", protofile, "ctprog!ct_*", "strlen", "qsort" }, "nest")
    assert.equal(0, r.status)
    assert.equal(native("nest"), r.stdout)
    local t = lines(mask(r.stderr))
    assert.same({
      'ct_outer("hello" <unfinished ...>',
      '  ct_inner("hello" <unfinished ...>',
      '    strlen("hello") = 5',
      '  <... ct_inner resumed> ) = 5',
      '  ct_inner("ab" <unfinished ...>',
      '    strlen("ab") = 2',
      '  <... ct_inner resumed> ) = 2',
      '<... ct_outer resumed> ) = 7',
      'qsort(0xADDR, 3, 4, 0xADDR <ct_cmp> <unfinished ...>',
    }, { table.unpack(t, 1, 9) })
    -- then the comparisons qsort makes (how many is glibc's business)
    local k = 10
    while t[k] and t[k]:match("^  ct_cmp%(0xADDR, 0xADDR%) = %-?%d+$") do k = k + 1 end
    assert.is_true(k >= 12, "two comparisons at least")
    assert.same({ "<... qsort resumed> ) = <void>", "+++ exited (status 0) +++" }, { t[k], t[k + 1] })
    assert.equal(k + 1, #t)
  end)

  it("leaves out calls deeper than --depth and the functions -X names; --no-args", function()
    local r = trace({ "-F", protofile, "--depth", "2", "ctprog!ct_*", "strlen", "-X", "ct_cmp" }, "nest")
    assert.equal(0, r.status)
    assert.equal(native("nest"), r.stdout)
    assert.equal([[
ct_outer("hello" <unfinished ...>
  ct_inner("hello") = 5
  ct_inner("ab") = 2
<... ct_outer resumed> ) = 7
+++ exited (status 0) +++
]], r.stderr)
    r = trace({ "--no-args", "ct_raw" }, "args")
    assert.equal(0, r.status)
    assert.equal("ct_raw() = 0x10\n+++ exited (status 0) +++\n", r.stderr)
  end)

  it("splits a call another thread interrupts into <unfinished ...> and resumed lines, per thread", function()
    local r = trace({ "-F", protofile, "--pids", "-T", "ct_block", "ct_ping" }, "threads")
    assert.equal(0, r.status)
    assert.equal(native("threads"), r.stdout)
    local names, n = {}, 0
    local text = r.stderr:gsub("%[pid (%d+)%]", function(tid)
      if not names[tid] then n = n + 1 names[tid] = string.char(64 + n) end
      return "[" .. names[tid] .. "]"
    end):gsub(" <%d+%.%d%d%d%d%d%d>", " <T>")
    assert.equal([[
[A] ct_block(1 <unfinished ...>
[B] ct_ping(2) = 3 <T>
[A] <... ct_block resumed> ) = 1 <T>
[C] +++ exited (status 0) +++
]], text)
    assert.equal(3, n)
  end)

  it("prints the calls a longjmp left as = <unwound>", function()
    local r = trace({ "-F", protofile, "ctprog!ct_*", "longjmp" }, "longjmp")
    assert.equal(0, r.status)
    assert.equal(native("longjmp"), r.stdout)
    assert.equal([[
ct_jump(1 <unfinished ...>
  ct_deep(2 <unfinished ...>
    longjmp(0xADDR, 7) = <unwound>
  <... ct_deep resumed> ) = <unwound>
<... ct_jump resumed> ) = <unwound>
ct_after(3) = 3
+++ exited (status 0) +++
]], mask(r.stderr))
  end)

  it("-c counts calls, self time and errors per function, as ltrace -c", function()
    local r = trace({ "-c", "printf", "open", "openat", "atoi", "strtol" }, "args")
    assert.equal(0, r.status)
    assert.equal(native("args"), r.stdout)
    local t = lines(r.stderr)
    assert.equal("% time     seconds  usecs/call     calls    errors function", t[1])
    assert.equal(string.rep("-", 6) .. " " .. string.rep("-", 11) .. " " .. string.rep("-", 11) .. " " ..
      string.rep("-", 9) .. " " .. string.rep("-", 9) .. " " .. string.rep("-", 20), t[2])
    local got, pct = {}, 0
    for i = 3, #t - 2 do
      local p, calls, errs, name = t[i]:match("^ *(%d+%.%d%d) +%d+%.%d+ +%d+ +(%d+) +(%d*) (%S+)$")
      assert.is_truthy(name, t[i])
      got[name] = calls .. "/" .. (errs == "" and "0" or errs)
      pct = pct + tonumber(p)
    end
    -- atoi calls strtol: 2 strtol, one of them inside atoi
    assert.same({ printf = "10/0", open = "1/1", openat = "1/0", atoi = "1/0", strtol = "2/0" }, got)
    assert.is_true(math.abs(pct - 100) < 0.1)
    assert.equal(t[2], t[#t - 1])
    assert.is_truthy(t[#t]:match("^100%.00 +%d+%.%d+ +15 +1 total$"), t[#t])
  end)

  it("-o FILE, -s N, -tt and -ttt", function()
    local out = tmp .. "/trace.txt"
    local r = trace({ "-o", out, "-s", "5", "-tt", "atoi", "strtod", "getenv" }, "args")
    assert.equal(0, r.status)
    assert.equal(native("args"), r.stdout)
    assert.equal("", r.stderr)
    local t = lines(h.slurp(out))
    assert.equal(4, #t)
    for i = 1, 3 do assert.is_truthy(t[i]:match("^%d%d:%d%d:%d%d%.%d%d%d%d%d%d "), t[i]) end
    assert.equal('atoi("-42") = -42', t[1]:sub(17))
    assert.equal('strtod("2.5e3", NULL) = 2500', t[2]:sub(17))  -- 5 bytes: not cut
    assert.equal('getenv("CT_VA"...) = "v\\"1"', t[3]:sub(17))
    assert.equal("+++ exited (status 0) +++", t[4])
    -- -o appends, as the processes of one run share the file
    r = trace({ "-o", out, "-ttt", "getenv" }, "args")
    assert.equal(0, r.status)
    t = lines(h.slurp(out))
    assert.equal(6, #t)
    assert.is_truthy(t[5]:match('^%d+%.%d%d%d%d%d%d getenv%("CT_VAR"%) = "v\\"1"$'), t[6])
  end)

  it("--json writes one JSON object per call when it returns, and the summary of -c", function()
    h.lualib()
    local json = require "lurk.json"
    local function objects(text)
      local t = {}
      for l in text:gmatch("[^\n]+") do t[#t + 1] = assert(json.decode(l), l) end
      return t
    end
    local r = trace({ "--json", "-T", "-F", protofile, "ctprog!ct_*", "longjmp", "exit" }, "longjmp")
    assert.equal(0, r.status)
    assert.equal(native("longjmp"), r.stdout)
    local t = objects(r.stderr)
    assert.equal(6, #t)
    local tid = t[1].tid
    for i = 1, 4 do
      assert.equal(tid, t[i].tid)
      assert.is_number(t[i].time)
      assert.is_true(t[i].time >= 0)
      t[i].tid, t[i].time = nil, nil
    end
    assert.is_truthy(t[1].args[1]:match("^0x%x+$"))
    t[1].args[1] = "ENV"
    assert.same({
      { name = "longjmp", depth = 3, args = { "ENV", "7" }, unwound = true },
      { name = "ct_deep", depth = 2, args = { "2" }, unwound = true },
      { name = "ct_jump", depth = 1, args = { "1" }, unwound = true },
      { name = "ct_after", depth = 1, args = { "3" }, result = 3, retval = "3" },
      { name = "exit", depth = 1, args = { "0" }, tid = tid, unfinished = true },
      { exited = 0, tid = tid },
    }, t)
    r = trace({ "--json", "open", "close" }, "args")
    assert.equal(0, r.status)
    t = objects(r.stderr)
    for _, o in ipairs(t) do o.tid = nil end
    assert.same({
      { name = "open", depth = 1, args = { '"/nonexistent/ct"', "O_WRONLY|O_CREAT|O_TRUNC", "0640" }, result = -1,
        retval = "-1", errno = "ENOENT" },
      { name = "close", depth = 1, args = { "3" }, result = 0, retval = "0" },
      { exited = 0 },
    }, t)
    r = trace({ "--json", "-c", "open", "close" }, "args")
    assert.equal(0, r.status)
    t = objects(r.stderr)
    assert.equal(1, #t)
    assert.equal("calltrace", t[1].tool)
    assert.is_number(t[1].pid)
    local f = {}
    for _, x in ipairs(t[1].functions) do f[x.name] = x.calls .. "/" .. x.errors assert.is_number(x.seconds) end
    assert.same({ open = "1/1", close = "1/0" }, f)
    assert.same({ 2, 1 }, { t[1].total.calls, t[1].total.errors })
  end)

  it("refuses bad options with a message and status 2, before the program runs", function()
    local cases = {
      { {}, "no functions to trace" },
      { { "-q", "malloc" }, "unknown option '-q'" },
      { { "-s", "x", "malloc" }, "option '-s' needs a whole number, got 'x'" },
      { { "malloc", "-o" }, "option '-o' needs a value" },
      { { "--depth=0", "malloc" }, "--depth must be at least 1" },
      { { "--proto", "int f(nosuchtype)", "f" }, "unknown argument type 'nosuchtype' in 'int f(nosuchtype)'" },
      { { "--proto", "f(", "f" }, "cannot parse prototype 'f('" },
      { { "-F", "/nonexistent/protos", "f" }, "cannot read prototypes: /nonexistent/protos" },
      { { "-o", "/nonexistent/dir/x", "f" }, "cannot open output: /nonexistent/dir/x" },
    }
    for _, c in ipairs(cases) do
      local r = trace(c[1], "args")
      assert.equal(2, r.status)
      assert.equal("", r.stdout)
      assert.is_truthy(r.stderr:find("calltrace: " .. c[2], 1, true), r.stderr)
    end
    -- a glob that matches nothing is not an error (a library may come later): said at exit
    local r = trace({ "nosuch_function_xyz" }, "nest")
    assert.equal(0, r.status)
    assert.equal("+++ exited (status 0) +++\ncalltrace: no function matches 'nosuch_function_xyz'\n", r.stderr)
  end)

  it("has a usage header: lurk help calltrace, lurk list", function()
    local r = h.run({ "help", "calltrace" }, { raw = true })
    assert.equal(0, r.status)
    assert.is_truthy(r.stdout:find("calltrace: trace calls to the functions matching globs", 1, true))
    assert.is_truthy(r.stdout:find("Sample output", 1, true))
    r = h.run({ "list" }, { raw = true })
    assert.is_truthy(r.stdout:match("\ncalltrace +trace calls"))
  end)
end)

-- -- Real programs against ltrace ------------------------------------------------------
-- ltrace -L -x 'f@libc.so.6+...' traces the same function entries (every
-- call, libc's own included). Its lines: `f@libc.so.6(args) = r`, nil for
-- NULL, integers for flags, strings cut at 32 bytes, no indentation, the
-- mode of every open. Both are read into (kind, name, args, result) and
-- compared argument by argument.

local have_ltrace = sh("ltrace -L -o /dev/null /bin/true >/dev/null 2>&1") == 0

local CONST = { O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80,
  O_NOCTTY = 0x100, O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000,
  O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, F_OK = 0, R_OK = 4, W_OK = 2, X_OK = 1,
  AT_FDCWD = -100, LC_CTYPE = 0, LC_NUMERIC = 1, LC_TIME = 2, LC_COLLATE = 3, LC_MONETARY = 4,
  LC_MESSAGES = 5, LC_ALL = 6 }

local function split(args)
  local t, cur, q = {}, "", false
  local i = 1
  while i <= #args do
    local c = args:sub(i, i)
    if q and c == "\\" then cur = cur .. args:sub(i, i + 1) i = i + 1
    elseif c == '"' then q = not q cur = cur .. c
    elseif not q and c == "," and args:sub(i + 1, i + 1) == " " then t[#t + 1] = cur cur = "" i = i + 1
    else cur = cur .. c end
    i = i + 1
  end
  if cur ~= "" then t[#t + 1] = cur end
  return t
end

local function parse_line(line, ltrace)
  line = line:gsub("^%s+", "")
  if ltrace then line = line:gsub("@[%w%.%-_]+%(", "("):gsub("%s+= ", " = ") end
  local name, res = line:match("^<%.%.%. ([%w_]+) resumed> %) = (.*)$")
  if name then return { kind = "resumed", name = name, res = res } end
  local args
  name, args = line:match("^([%w_]+)%((.*) <unfinished %.%.%.>$")
  if name then return { kind = "unfinished", name = name, args = split(args) } end
  name, args, res = line:match("^([%w_]+)%((.*)%) = (.*)$")
  if name then return { kind = "call", name = name, args = split(args), res = res } end
  return { kind = "other", text = line }
end

local function value(sym)
  local v = 0
  for part in sym:gmatch("[^|]+") do
    if not CONST[part] then return nil end
    v = v + CONST[part]
  end
  return v
end

-- Is lurk's text `k` what ltrace shows as `l`?
local function same_value(l, k)
  if l == k then return true end
  if (l == "nil" or l == "0") and k == "NULL" then return true end
  local cut = l:match('^(".*)"%.%.%.$')
  if cut then return k:sub(1, #cut) == cut end
  if l:match("^0x%x+$") then return k:match("^0x%x+$") ~= nil end
  if l:match("^%-?%d+$") then return value(k) == tonumber(l) end
  return false
end

local function compare(ltext, ktext)
  local lt, kt = {}, {}
  for l in ltext:gmatch("[^\n]+") do
    if not l:match("^%+%+%+") then lt[#lt + 1] = parse_line(l, true) end
  end
  for l in ktext:gmatch("[^\n]+") do
    if not l:match("^%+%+%+") then kt[#kt + 1] = parse_line(l, false) end
  end
  assert.equal(#lt, #kt, "as many lines as ltrace:\n" .. ltext .. "\n--- lurk:\n" .. ktext)
  for i = 1, #lt do
    local a, b = lt[i], kt[i]
    local where = string.format("line %d: ltrace %s, lurk %s", i, a.name or a.text, b.name or b.text)
    assert.equal(a.kind, b.kind, where)
    assert.equal(a.name, b.name, where)
    if a.args then
      -- lurk leaves out open's mode without O_CREAT: ltrace shows what the register held
      local n = #b.args
      if n < #a.args then assert.is_truthy(a.name:match("^open"), where) else assert.equal(#a.args, n, where) end
      for j = 1, n do assert.is_true(same_value(a.args[j], b.args[j]), where .. ": " .. a.args[j] .. " / " .. b.args[j]) end
    end
    if a.res then
      -- lurk adds the errno of a failed call
      local kres = b.res:gsub(" E%u+ %(.*%)$", "")
      assert.is_true(same_value(a.res, kres), where .. ": = " .. a.res .. " / " .. b.res)
    end
  end
  return #lt
end

-- Run cmd (a list of words) natively, under ltrace with funcs (ltrace
-- names) and under calltrace with globs; compare. Returns the line count.
local function against_ltrace(cmd, funcs, globs, stdin)
  assert.is_true(have_ltrace, "ltrace does not run here (Debian package ltrace, tools/deps.sh)")
  local words = {}
  for _, w in ipairs(cmd) do words[#words + 1] = h.quote(w) end
  local c = table.concat(words, " ")
  local input = " <" .. (stdin or "/dev/null")
  -- stdout to a file in all three runs (glibc's stdio asks isatty of a character device)
  local nat = h.capture(c .. " 2>/dev/null" .. input)
  local lt = tmp .. "/ltrace.txt"
  os.remove(lt)
  assert.equal(0, sh("ltrace -L -x " .. h.quote(table.concat(funcs, "+")) .. " -o " .. lt .. " " .. c ..
    " >" .. tmp .. "/ltrace.out 2>&1" .. input))
  -- (ltrace -x's breakpoints start at the program's entry: --from-entry
  -- leaves out ld.so's and the libraries' constructors' calls, which lurk
  -- --early sees)
  local args = { "calltrace", "--from-entry" }
  for _, g in ipairs(globs) do args[#args + 1] = g end
  args[#args + 1] = "--"
  for _, w in ipairs(cmd) do args[#args + 1] = w end
  local r = h.run(args, { stdin = stdin })
  assert.equal(0, r.status)
  assert.equal(nat, r.stdout)
  local n = compare(h.slurp(lt), r.stderr)
  assert.is_true(n > 0)
  return n, r.stderr
end

describe("calltrace on real programs, against ltrace", function()
  it("ls: getenv, setlocale, malloc, opendir, closedir", function()
    local n, text = against_ltrace({ "/bin/ls", "-a", "/usr/share/doc" },
      { "getenv@libc.so.6", "setlocale@libc.so.6", "malloc@libc.so.6", "opendir@libc.so.6", "closedir@libc.so.6" },
      { "getenv", "setlocale", "malloc", "opendir", "closedir" })
    assert.is_true(n > 50)
    assert.is_truthy(text:find('opendir("/usr/share/doc" <unfinished ...>', 1, true))
  end)

  it("python3 -c: getenv, open64, setlocale", function()
    local n, text = against_ltrace({ "/usr/bin/python3", "-c", "import json; print(json.dumps({'a': [1, 2]}))" },
      { "getenv@libc.so.6", "open64@libc.so.6", "setlocale@libc.so.6" },
      { "getenv", "open64", "setlocale" })
    assert.is_true(n > 50)
    assert.is_truthy(text:find('open64("/usr/lib/python3.11/json/__pycache__/', 1, true))
  end)

  it("sqlite3: getenv, isatty, fopen, access", function()
    local sql = h.tmpfile("create table t(a); insert into t values (1), (2); select sum(a) from t;\n")
    local n, text = against_ltrace({ "/usr/bin/sqlite3", ":memory:" },
      { "getenv@libc.so.6", "isatty@libc.so.6", "fopen@libc.so.6", "fopen64@libc.so.6", "access@libc.so.6" },
      { "getenv", "isatty", "fopen", "fopen64", "access" }, sql)
    os.remove(sql)
    assert.is_true(n >= 5)
    assert.is_truthy(text:find('access(":memory:", F_OK) = -1 ENOENT (No such file or directory)', 1, true))
  end)

  it("traces a library dlopen'ed after start (python3's _json)", function()
    local cmd = { "/usr/bin/python3", "-c", "import json.decoder; print(json.decoder.c_scanstring is not None)" }
    local r = h.run({ "calltrace", "--no-args", "_json*!PyInit_*", "dlopen", "--", table.unpack(cmd) })
    assert.equal(0, r.status)
    assert.equal("True\n", r.stdout)
    local t = lines(r.stderr)
    local k
    for i, l in ipairs(t) do if l:find("_json", 1, true) then k = i break end end
    assert.is_truthy(k, r.stderr)
    assert.is_truthy(t[k]:match('^dlopen%("/[^"]*/lib%-dynload/_json%.[^"]*%.so", RTLD_NOW%) = 0x%x+$'), t[k])
    assert.is_truthy(t[k + 1]:match("^PyInit__json%(%) = 0x%x+$"), t[k + 1])
  end)
end)
