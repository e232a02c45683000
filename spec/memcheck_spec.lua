-- scripts/memcheck.lua on the bug corpus (spec/memcheck/*.c, *.cc: one
-- known bug each, or none), on real programs, and against Valgrind's
-- memcheck for the leak totals.
--
-- Each corpus program marks its bug on the line of the bad access (for a
-- leak: the allocation) with "memcheck: KIND", and the allocation of the
-- block a heap bug is about with "alloc". The run must give exactly one
-- report, of that kind, located at that line (the first frame outside
-- libc/libstdc++), with the allocation at the "alloc" line; programs named
-- ok_* none. Leak totals (definitely, indirectly, possibly lost: bytes and
-- blocks) must equal `valgrind --leak-check=full` on the same binary.
local h = require "spec.util.helper"
h.lualib()
local json = require "lurk.json"

local tmp = h.tmpdir()
local dir = h.root .. "/spec/memcheck"
local have_valgrind = h.sh("valgrind --version >/dev/null 2>&1") == 0

local progs = {}
for name in h.capture("ls " .. h.quote(dir)):gmatch("[^\n]+") do
  local base, ext = name:match("^(.*)%.(cc?)$")
  if base then
    local src = dir .. "/" .. name
    local cc = ext == "cc" and "g++" or "gcc -pthread"
    assert(h.sh(cc .. " -g -O0 -o " .. h.quote(tmp .. "/" .. base) .. " " .. h.quote(src) .. " 2>&1") == 0,
           "cannot build " .. name)
    local p = { name = base, file = name, path = tmp .. "/" .. base }
    local n = 0
    for line in io.lines(src) do
      n = n + 1
      local kind = line:match("memcheck: ([%a-]+)")
      if kind then p.kind, p.line = kind, n end
      if line:match("[/*] alloc") then p.alloc = n end
    end
    progs[#progs + 1] = p
  end
end
table.sort(progs, function(a, b) return a.name < b.name end)

-- Run prog under memcheck with args; returns the result and the reports of
-- every process (JSON lines) and their leak totals.
local function memcheck(prog, args, opts)
  local out = tmp .. "/" .. prog:match("[^/]*$") .. ".json"
  os.remove(out)
  local argv = { "memcheck", "json=" .. out }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  argv[#argv + 1] = "--"
  argv[#argv + 1] = prog
  for _, a in ipairs(opts and opts.argv or {}) do argv[#argv + 1] = a end
  local r = h.run(argv, opts)
  local reports, docs = {}, {}
  for line in (h.slurp(out) or ""):gmatch("[^\n]+") do
    local d = json.decode(line)
    docs[#docs + 1] = d
    for _, x in ipairs(d.reports) do reports[#reports + 1] = x end
  end
  return r, reports, docs
end

local function describe_reports(reports)
  local t = {}
  for _, x in ipairs(reports) do t[#t + 1] = x.kind .. " at " .. tostring(x.location) end
  return table.concat(t, "; ")
end

-- Valgrind's LEAK SUMMARY of prog (zeros when it says all blocks were freed).
local function valgrind_leaks(prog, args, env)
  local text = h.capture((env and env .. " " or "") .. "valgrind --leak-check=full " .. h.quote(prog) .. " " .. (args or "") .. " 2>&1 >/dev/null")
  local t = {}
  for _, k in ipairs({ "definitely", "indirectly", "possibly" }) do
    local b, n = text:match(k .. " lost: ([%d,]+) bytes in ([%d,]+) blocks")
    t[k] = { tonumber(((b or "0"):gsub(",", ""))), tonumber(((n or "0"):gsub(",", ""))) }
  end
  return t
end

-- Valgrind's errors on prog (leaks aside): { title, location = the first
-- "file:line" of its stack in source file `file` } each.
local function valgrind_errors(prog, file)
  local text = h.capture("valgrind -q " .. h.quote(prog) .. " 2>&1 >/dev/null")
  local t, cur = {}, nil
  for line in text:gmatch("[^\n]+") do
    local body = line:match("^==%d+== (.*)$")
    if body and body:match("^%u") then
      cur = { title = body }
      t[#t + 1] = cur
    elseif body and cur and not cur.location then
      local loc = body:match("^%s+[ab][ty] 0x%x+: .- %(([^%s:]+:%d+)%)$")
      if loc and loc:match("^[^:]+") == file then cur.location = loc end
    end
  end
  return t
end

local function our_leaks(docs)
  local t = { definitely = { 0, 0 }, indirectly = { 0, 0 }, possibly = { 0, 0 } }
  for _, d in ipairs(docs) do
    local l = d.leaks
    if l then
      for k, our in pairs({ definitely = "definite", indirectly = "indirect", possibly = "possible" }) do
        t[k][1], t[k][2] = t[k][1] + l[our].bytes, t[k][2] + l[our].blocks
      end
    end
  end
  return t
end

describe("memcheck #slow", function()
  teardown(function() h.sh("rm -rf " .. h.quote(tmp)) end)

  it("has a corpus of at least 15 programs, each with a marked bug or none", function()
    assert.is_true(#progs >= 15)
    for _, p in ipairs(progs) do
      assert.is_true(p.kind ~= nil or p.name:match("^ok_") ~= nil, p.name .. " has no marked bug")
    end
  end)

  for _, p in ipairs(progs) do
    if p.kind then
      it("reports " .. p.name .. " once: " .. p.kind .. " at " .. p.file .. ":" .. p.line, function()
        local r, reports, docs = memcheck(p.path, p.kind:match("^uninit") and { "--uninit" } or nil)
        assert.equal(1, #reports, describe_reports(reports) .. "\n" .. r.stderr)
        local x = reports[1]
        assert.equal(p.kind, x.kind)
        assert.equal(p.file .. ":" .. p.line, x.location, r.stderr)
        if p.alloc then assert.equal(p.file .. ":" .. p.alloc, x.alloc_location, r.stderr) end
        if p.kind == "use-after-free" or p.kind == "double-free" then
          assert.is_truthy(x.free_stack and #x.free_stack > 0, "no free stack")
        end
        if p.kind:match("^leak") and have_valgrind then
          assert.same(valgrind_leaks(p.path), our_leaks(docs))
        end
        assert.is_truthy(r.stderr:match("ERROR SUMMARY: %d+ errors from 1 contexts"), r.stderr)
        if p.kind:match("^uninit") and have_valgrind then
          -- Valgrind's first error: the same title, at the same line
          local v = valgrind_errors(p.path, p.file)
          assert.equal(1, #v, r.stderr)
          assert.equal(v[1].title, r.stderr:match("== (%u[^\n]-) %[uninit"), r.stderr)
          assert.equal(p.file .. ":" .. p.line, v[1].location)
        end
      end)
    else
      it("reports nothing on " .. p.name .. ", which runs as natively", function()
        local native = h.capture(h.quote(p.path) .. " 2>&1; echo status=$?")
        local r, reports, docs = memcheck(p.path)
        assert.equal(0, #reports, describe_reports(reports) .. "\n" .. r.stderr)
        assert.equal(native, r.stdout .. "status=" .. r.status .. "\n")
        if have_valgrind then assert.same(valgrind_leaks(p.path), our_leaks(docs)) end
      end)
      it("reports nothing on " .. p.name .. " with --uninit either, as Valgrind", function()
        local native = h.capture(h.quote(p.path) .. " 2>&1; echo status=$?")
        local r, reports = memcheck(p.path, { "--uninit", "--no-leaks" })
        assert.equal(0, #reports, describe_reports(reports) .. "\n" .. r.stderr)
        assert.equal(native, r.stdout .. "status=" .. r.status .. "\n")
        if have_valgrind and p.name:match("uninit") then assert.same({}, valgrind_errors(p.path, p.file)) end
      end)
    end
  end

  it("reports nothing on ok_strings with glibc's SSE2 string functions (8-byte over-reads)", function()
    local env = "GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-AVX512F,-AVX512VL,-AVX512BW,-SSE4_2,-SSSE3,-SSE4_1"
    local native = h.capture(env .. " " .. h.quote(tmp .. "/ok_strings"))
    local r, reports = memcheck(tmp .. "/ok_strings", { "-e", "lurk.on('entry', function() print(lurk.sym(lurk.addr('strncmp')).name) end)" },
                                { env = env })
    assert.is_truthy(r.stderr:match("__strncmp_sse2\n"), r.stderr)
    assert.equal(0, #reports, describe_reports(reports))
    assert.equal(native, r.stdout)
  end)

  it("exits with --exit-code N when it found errors, else as the program", function()
    local r = memcheck(tmp .. "/heap_overflow_write", { "--exit-code", "9" })
    assert.equal(9, r.status)
    r = memcheck(tmp .. "/ok_free_all", { "--exit-code", "9" })
    assert.equal(0, r.status)
  end)

  it("merges repeated errors at one place into one record with a count", function()
    local src = h.tmpfile([[
#include <stdlib.h>
int main(void) {
  char *p = malloc(8); int s = 0;
  for (int i = 0; i < 5; i++) s += p[8 + i % 2];
  free(p);
  return s & 0;
}
]], ".c")
    local exe = tmp .. "/repeat"
    h.gcc(exe, "-g", "-O0", src)
    os.remove(src)
    local r, reports = memcheck(exe)
    assert.equal(1, #reports, r.stderr)
    assert.equal(5, reports[1].count)
    assert.is_truthy(r.stderr:match("ERROR SUMMARY: 5 errors from 1 contexts"), r.stderr)
  end)

  it("suppresses what a suppressions file names", function()
    local f = h.tmpfile("# overflow in main\nheap-overflow main ...\n")
    local r, reports = memcheck(tmp .. "/heap_overflow_write", { "--suppressions", f })
    assert.equal(0, #reports, describe_reports(reports))
    assert.is_truthy(r.stderr:match("%(suppressed: 1%)"), r.stderr)
    local bad = h.tmpfile("heap-overflow\n")
    r = memcheck(tmp .. "/heap_overflow_write", { "--suppressions", bad })
    assert.is_not.equal(0, r.status)
    assert.is_truthy(r.stderr:match(":1: a suppression needs a kind and at least one frame"), r.stderr)
    os.remove(f)
    os.remove(bad)
  end)

  it("keeps the shadow of two threads' mappings as the kernel has them (stress: 5 runs)", function()
    -- spec/lua/maps_race.c: two threads map, use and unmap regions at once,
    -- and the kernel hands one the range the other has just unmapped. With
    -- the munmap's syscall_post after the other thread's mmap and mprotect,
    -- the new region was unaddressable (4 of 5 runs before the engine kept
    -- these calls and their posts in order; ok_threads' thread stacks 1 in
    -- 100).
    local exe = tmp .. "/maps_race"
    h.gcc(exe, "-g", "-O0", "-pthread", h.root .. "/spec/lua/maps_race.c")
    for _ = 1, 5 do
      local r, reports = memcheck(exe, {}, { argv = { "3000" } })
      assert.equal(0, #reports, describe_reports(reports))
      assert.equal("9000\n", r.stdout)
    end
  end)

  it("keeps the default suppression of glibc's thread DTVs (possibly lost without it)", function()
    local _, reports = memcheck(tmp .. "/ok_threads", { "--no-default-suppressions" })
    assert.equal(1, #reports)
    assert.equal("leak-possible", reports[1].kind)
  end)

  it("lets a program that dumps core do it promptly, the shadow left out of the core", function()
    -- (the shadow is a 32 TiB reservation: dumped, it took minutes of
    -- system time; timeout turns that into a failure, not a hang)
    local d = tmp .. "/coredir"
    local src = tmp .. "/aborts.c"
    local f = assert(io.open(src, "w"))
    f:write('#include <stdlib.h>\n#include <stdio.h>\nint main(void) { char *p = malloc(10); p[0] = 1; puts("x"); fflush(stdout); abort(); }\n')
    f:close()
    assert(h.sh("gcc -O0 -o " .. h.quote(tmp .. "/aborts") .. " " .. h.quote(src)) == 0)
    h.sh("rm -rf " .. h.quote(d) .. " && mkdir -p " .. h.quote(d))
    local st = h.sh(("cd %s && ulimit -c unlimited && timeout -s KILL 120 %s run -t memcheck -- %s >out 2>err"):format(
      h.quote(d), h.quote(h.lurk), h.quote(tmp .. "/aborts")))
    assert.equal(134, st, h.slurp(d .. "/err")) -- SIGABRT, as natively
    assert.equal("x\n", h.slurp(d .. "/out"))
    local core = h.capture("ls " .. h.quote(d) .. " | grep '^core' | head -1"):gsub("%s", "")
    if core ~= "" then -- (core_pattern may send it elsewhere)
      local size = tonumber((h.capture("stat -c %s " .. h.quote(d .. "/" .. core)):gsub("%s", "")))
      assert.is_true(size < 2 ^ 30, "a core of " .. size .. " bytes")
    end
  end)

  it("refuses bad options with a clear message", function()
    local r = h.run({ "memcheck", "--redzone", "7", "--", "/bin/true" })
    assert.is_not.equal(0, r.status)
    assert.is_truthy(r.stderr:match("memcheck: option '%-%-redzone' needs a whole number >= 16"), r.stderr)
    r = h.run({ "memcheck", "--redzone", "24", "--", "/bin/true" })
    assert.is_truthy(r.stderr:match("needs a multiple of 16"), r.stderr)
    r = h.run({ "memcheck", "--bogus", "--", "/bin/true" })
    assert.is_truthy(r.stderr:match("memcheck: unknown option '%-%-bogus'"), r.stderr)
  end)

  describe("on real programs", function()
    it("ls -l: no error, leak totals as Valgrind's", function()
      local native = h.capture("ls -l /usr/bin/ls /usr/share 2>&1")
      local r, reports, docs = memcheck("/bin/ls", {}, { argv = { "-l", "/usr/bin/ls", "/usr/share" } })
      assert.equal(0, #reports, describe_reports(reports))
      assert.equal(native, r.stdout)
      if have_valgrind then assert.same(valgrind_leaks("/bin/ls", "-l /usr/bin/ls /usr/share"), our_leaks(docs)) end
    end)

    it("sort: no access or heap error; its one leak as Valgrind finds it", function()
      local input = tmp .. "/sort.txt"
      assert(h.sh("python3 -c " .. h.quote([[
import random, sys
random.seed(7)
open(sys.argv[1], 'w').write(''.join('%08d %s\n' % (random.randrange(10**8), 'x' * random.randrange(1, 40)) for i in range(20000)))
]]) .. " " .. input) == 0)
      local native = h.capture("sort " .. input .. " | md5sum")
      local out = tmp .. "/sorted"
      local r, reports, docs = memcheck("/usr/bin/sort", {}, { argv = { "-o", out, input } })
      assert.equal(0, r.status)
      assert.equal(native, h.capture("md5sum < " .. out))
      for _, x in ipairs(reports) do assert.is_truthy(x.kind:match("^leak"), describe_reports(reports)) end
      if have_valgrind then
        assert.same(valgrind_leaks("/usr/bin/sort", "-o " .. out .. " " .. input), our_leaks(docs))
      end
    end)

    it("perl: no access or heap error (rep movsq with rcx 0); definite and indirect leaks as Valgrind's", function()
      local code = 'my %h; $h{$_ * 7 % 1000} .= "x" for 1 .. 5000; print join(",", (sort { $a <=> $b } keys %h)[0 .. 9]), "\\n"'
      local env = "PERL_HASH_SEED=0"
      local native = h.capture(env .. " perl -e " .. h.quote(code))
      local r, reports, docs = memcheck("/usr/bin/perl", {}, { argv = { "-e", code }, env = env })
      assert.equal(native, r.stdout)
      for _, x in ipairs(reports) do assert.is_truthy(x.kind:match("^leak"), describe_reports(reports)) end
      if have_valgrind then
        local v = valgrind_leaks("/usr/bin/perl", "-e " .. h.quote(code), env)
        local ours = our_leaks(docs)
        assert.same(v.definitely, ours.definitely)
        assert.same(v.indirectly, ours.indirectly)
      end
    end)

    it("bash, git status, tar czf, sqlite3, cc1 -O2: no access or heap error, output as native", function()
      local d = tmp .. "/real"
      assert(h.sh("rm -rf " .. h.quote(d) .. " && mkdir -p " .. h.quote(d) .. " && cd " .. h.quote(d) ..
        " && git init -q repo && cd repo && echo a > a && git add a && git -c user.email=a@b -c user.name=n commit -qm x" ..
        " && echo b > b") == 0)
      local f = assert(io.open(d .. "/s.sh", "w"))
      f:write('for i in $(seq 1 200); do x=$((x+i)); s="$s$i"; done; echo $x ${#s}; f() { local a=$1; echo ${a^^}; }; f hi\n')
      f:close()
      f = assert(io.open(d .. "/t.c", "w"))
      f:write("int f(int *a, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i] * i; return s; }\n",
              "struct S { int x; char c[10]; }; int g(struct S *s) { return s->x + s->c[3]; }\n")
      f:close()
      local cc1 = h.capture("gcc -print-prog-name=cc1"):gsub("%s+$", "")
      local sql = "create table t(a,b); with recursive c(x) as (select 1 union all select x+1 from c where x<3000) " ..
                  "insert into t select x, hex(x) from c; create index i on t(b); select count(*), sum(a) from t where b like '1%';"
      for _, c in ipairs({
        { "/bin/bash", { d .. "/s.sh" } },
        { "/usr/bin/git", { "-C", d .. "/repo", "status", "--short" } },
        { "/bin/tar", { "czf", d .. "/x.tgz", "-C", d, "repo", "s.sh" }, "tar tzf " .. h.quote(d .. "/x.tgz") .. " | sort" },
        { "/usr/bin/sqlite3", { ":memory:", sql } },
        { cc1, { "-quiet", "-O2", d .. "/t.c", "-o", "-" } },
      }) do
        local cmd = h.quote(c[1])
        for _, a in ipairs(c[2]) do cmd = cmd .. " " .. h.quote(a) end
        local native = h.capture(cmd .. " 2>/dev/null")
        if c[3] then native = h.capture(c[3]) end
        local r, reports = memcheck(c[1], { "--no-leaks" }, { argv = c[2] })
        assert.equal(0, r.status, c[1] .. ": " .. r.stderr)
        assert.equal(0, #reports, c[1] .. ": " .. describe_reports(reports))
        assert.equal(native, c[3] and h.capture(c[3]) or r.stdout, c[1])
      end
    end)

    it("with --uninit: nothing on ls, sort, bash, git, tar, sqlite3, perl, python3; on cc1 only what Valgrind reports too", function()
      local d = tmp .. "/realu"
      assert(h.sh("rm -rf " .. h.quote(d) .. " && mkdir -p " .. h.quote(d) .. " && cd " .. h.quote(d) ..
        " && git init -q repo && cd repo && echo a > a && git add a && git -c user.email=a@b -c user.name=n commit -qm x" ..
        " && echo b > b && seq 1 3000 | sort -R > ../nums") == 0)
      local f = assert(io.open(d .. "/s.sh", "w"))
      f:write('for i in $(seq 1 200); do x=$((x+i)); s="$s$i"; done; echo $x ${#s}; f() { local a=$1; echo ${a^^}; }; f hi\n')
      f:close()
      f = assert(io.open(d .. "/t.c", "w"))
      f:write("int f(int *a, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i] * i; return s; }\n",
              "struct S { int x; char c[10]; }; int g(struct S *s) { return s->x + s->c[3]; }\n")
      f:close()
      local cc1 = h.capture("gcc -print-prog-name=cc1"):gsub("%s+$", "")
      local sql = "create table t(a,b); with recursive c(x) as (select 1 union all select x+1 from c where x<3000) " ..
                  "insert into t select x, hex(x) from c; create index i on t(b); select count(*), sum(a) from t where b like '1%';"
      local py = "import json, re; s = json.dumps([{'k': i, 'v': 'x' * (i % 40)} for i in range(3000)]); " ..
                 "print(len(s), len(re.findall(r'\"k\": \\d+', s)))"
      local pl = 'my %h; $h{$_ * 7 % 1000} .= "x" for 1 .. 5000; print join(",", (sort { $a <=> $b } keys %h)[0 .. 9]), "\\n"'
      for _, c in ipairs({
        { "/bin/ls", { "-l", "/usr/bin/ls", "/usr/share" } },
        { "/usr/bin/sort", { "-n", d .. "/nums" } },
        { "/bin/bash", { d .. "/s.sh" } },
        { "/usr/bin/git", { "-C", d .. "/repo", "status", "--short" } },
        { "/bin/tar", { "czf", d .. "/x.tgz", "-C", d, "repo", "s.sh" } },
        { "/usr/bin/sqlite3", { ":memory:", sql } },
        { "/usr/bin/perl", { "-e", pl } },
        { "/usr/bin/python3", { "-c", py } },
      }) do
        local r, reports = memcheck(c[1], { "--uninit", "--no-leaks" }, { argv = c[2] })
        assert.equal(0, r.status, c[1] .. ": " .. r.stderr)
        assert.equal(0, #reports, c[1] .. ": " .. describe_reports(reports))
      end
      -- cc1: GCC's sparse sets (sparseset.h) test membership by reading
      -- their never-set sparse array, as designed; memcheck reports them too
      local r, reports = memcheck(cc1, { "--uninit", "--no-leaks" }, { argv = { "-quiet", "-O2", d .. "/t.c", "-o", d .. "/t.s" } })
      assert.equal(0, r.status, r.stderr)
      if have_valgrind then
        local vg = {}
        local text = h.capture("valgrind -q " .. h.quote(cc1) .. " -quiet -O2 " .. h.quote(d .. "/t.c") .. " -o /dev/null 2>&1")
        for pc in text:gmatch("Conditional jump or move depends on uninitialised value%(s%)\n==%d+==%s+at 0x(%x+)") do
          vg[tonumber(pc, 16)] = true
        end
        for _, x in ipairs(reports) do
          assert.equal("uninit-cond", x.kind)
          local pc = tonumber(x.stack[1]:match("^0x(%x+)"), 16)
          assert.is_true(vg[pc] ~= nil, string.format("cc1: 0x%x is not among Valgrind's reports", pc))
        end
      end
    end)

    it("python3: no access or heap error", function()
      local code = "import json, re; s = json.dumps([{'k': i, 'v': 'x' * (i % 40)} for i in range(3000)]); " ..
                   "print(len(s), len(re.findall(r'\"k\": \\d+', s)))"
      local native = h.capture("python3 -c " .. h.quote(code))
      local r, reports = memcheck("/usr/bin/python3", { "--no-leaks" }, { argv = { "-c", code } })
      assert.equal(0, r.status, r.stderr)
      assert.equal(native, r.stdout)
      assert.equal(0, #reports, describe_reports(reports))
    end)
  end)
end)
