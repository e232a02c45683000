-- scripts/heapstat.lua against Valgrind's memcheck: the "total heap usage"
-- line on the same runs (ls -l, python3 json/re, sort of a 1 MB file,
-- sqlite3 :memory:, a C++ program using every form of new and delete).
--
-- memcheck runs with --run-libc-freeres=no --run-cxx-freeres=no (at exit,
-- Valgrind otherwise frees glibc's and libstdc++'s private buffers, which
-- a native run never does). lurk takes over in liblurk.so's constructor,
-- after the constructors of some of the program's libraries (libselinux's
-- in ls, libstdc++'s emergency exception pool): the calls made before are
-- not seen. The spec finds them in memcheck's own trace (--trace-malloc:
-- every call before the first one heapstat reports with --trace 1) and
-- checks that heapstat's totals plus theirs are memcheck's, exactly.
local h = require "spec.util.helper"

local tmp = h.tmpdir()
local newdel = tmp .. "/heap_newdel"
assert(h.sh("g++ -O1 -o " .. newdel .. " " .. h.root .. "/spec/lua/heap_newdel.cc") == 0)
-- a 1 MB file of random lines (seeded), for sort
local sort_in = tmp .. "/sort.txt"
assert(h.sh("python3 -c " .. h.quote([[
import random, sys
random.seed(7)
open(sys.argv[1], 'w').write(''.join('%08d %s\n' % (random.randrange(10**8), 'x' * random.randrange(1, 40)) for i in range(33000)))
]]) .. " " .. sort_in) == 0)
local sql = tmp .. "/q.sql"
do
  local f = assert(io.open(sql, "w"))
  f:write([[
create table t(a integer primary key, b text);
with recursive c(x) as (select 1 union all select x+1 from c where x<20000) insert into t select x, printf('row %d', x) from c;
create index ib on t(b);
select count(*), sum(length(b)) from t where b like 'row 1%';
]])
  f:close()
end
local PY = [[import json, re; d=[{"k": i, "v": "x"*(i%50)} for i in range(20000)]; s=json.dumps(d); print(len(s), len(re.findall(r"\"k\": \d+", s)))]]

local function num(s) return tonumber((s:gsub(",", ""))) end

local function totals(text, prefix)
  local a, f, b = text:match(prefix .. "total heap usage: ([%d,]+) allocs, ([%d,]+) frees, ([%d,]+) bytes allocated")
  assert(a, "no totals in:\n" .. text:sub(1, 2000))
  return { allocs = num(a), frees = num(f), bytes = num(b) }
end

-- memcheck's --trace-malloc calls before the first call named name with
-- first argument arg, counted as memcheck counts them.
local function prefix(trace, name, arg)
  local p = { allocs = 0, frees = 0, bytes = 0, calls = 0 }
  for line in trace:gmatch("[^\n]+") do
    local call = line:match("^%-%-%d+%-%- (.*)$")
    if call then
      local fn, args = call:match("^([%w_]+)%(([^)]*)%)")
      if fn then
        if fn == name and args:match("^[^,]*") == arg then return p end
        p.calls = p.calls + 1
        if fn == "malloc" or fn:match("^_Zn") then
          p.allocs, p.bytes = p.allocs + 1, p.bytes + tonumber(args:match("^(%d+)"))
        elseif fn == "calloc" then
          local n, m = args:match("^(%d+),(%d+)")
          p.allocs, p.bytes = p.allocs + 1, p.bytes + n * m
        elseif fn == "free" or fn:match("^_Zd") then
          if args ~= "0x0" then p.frees = p.frees + 1 end
        else
          error("a call heapstat's spec does not count before takeover: " .. call)
        end
      end
    end
  end
  error("memcheck never made heapstat's first call " .. name .. "(" .. arg .. ")")
end

-- The programs run in an empty directory of their own, the same in every
-- run (python3 lists its current directory when it imports: files that
-- come and go there change its allocations).
local cwd = tmp .. "/cwd"
assert(h.sh("mkdir " .. cwd) == 0)

-- Valgrind runs its program with variables of its own added to the
-- environment (LD_PRELOAD, LD_LIBRARY_PATH, GLIBCXX_FORCE_NEW, PWD...),
-- and python3's allocations depend on how many there are. The lurk run
-- gets the same ones, read from `valgrind env` here (LD_PRELOAD naming
-- libc instead of Valgrind's own malloc replacement), and writes its
-- report to a file, as memcheck does, so that the program's stderr is the
-- same untouched file in both runs (python3 also looks at its offset).
local vg_env = {}
do
  local native, seen = {}, {}
  for l in h.capture("cd " .. cwd .. " && env"):gmatch("[^\n]+") do native[l] = true end
  for l in h.capture("cd " .. cwd .. " && valgrind -q env"):gmatch("[^\n]+") do
    local k = l:match("^([%w_]+)=")
    if k and not native[l] and not seen[k] then
      seen[k] = true
      vg_env[#vg_env + 1] = k == "LD_PRELOAD" and "LD_PRELOAD=" .. h.capture("ldd /bin/true"):match("(/%S+/libc%.so%.6)") or l
    end
  end
  assert(#vg_env >= 2, "valgrind adds no variables? " .. table.concat(vg_env, " "))
end

local function compare(cmd, env, opts)
  local q = {}
  for i, w in ipairs(cmd) do q[i] = h.quote(w) end
  local line = table.concat(q, " ")
  env = "cd " .. h.quote(cwd) .. " && " .. (env and (env .. " ") or "")
  local native = h.capture(env .. line .. " 2>/dev/null")
  local log = tmp .. "/vg.log"
  assert(h.sh(env .. "valgrind --tool=memcheck --run-libc-freeres=no --run-cxx-freeres=no " ..
              "--trace-malloc=yes --log-file=" .. log .. " " .. line .. " >/dev/null 2>" .. tmp .. "/vg.err") == 0)
  local vg = h.slurp(log)
  local out = tmp .. "/heapstat.out"
  local args = { "--output", out }
  for _, o in ipairs(opts or {}) do args[#args + 1] = o end
  for _, w in ipairs({ "heapstat", "--trace", "1", "--top", "3", "--" }) do args[#args + 1] = w end
  for _, w in ipairs(cmd) do args[#args + 1] = w end
  local venv = {}
  for i, v in ipairs(vg_env) do venv[i] = h.quote(v) end
  local r = h.run(args, { env = (env:match("&& (.*)$") or "") .. "env " .. table.concat(venv, " "), cwd = cwd })
  r.stderr = h.slurp(out) or ""
  assert.equal(0, r.status, r.stderr)
  assert.equal(native, r.stdout)
  local first_fn, first_arg = r.stderr:match("^heapstat: ([%w_]+)%(([^,)]*)")
  assert.truthy(first_fn, r.stderr)
  local pre = prefix(vg, first_fn, first_arg)
  assert.is_true(pre.calls <= 10, "too many calls before takeover: " .. pre.calls)
  local m, l = totals(vg, "==%d+==%s+"), totals(r.stderr, "heapstat: ")
  assert.same(m, { allocs = l.allocs + pre.allocs, frees = l.frees + pre.frees, bytes = l.bytes + pre.bytes })
  return r, pre
end

describe("heapstat against memcheck's total heap usage", function()
  it("ls -l /usr/bin (libselinux's constructor included: lurk starts at the first instruction)", function()
    local r, pre = compare({ "ls", "-l", "/usr/bin" })
    assert.equal(0, pre.calls)
  end)

  it("ls -l /usr/bin with --preload (libselinux's constructor runs before lurk)", function()
    local r, pre = compare({ "ls", "-l", "/usr/bin" }, nil, { "--preload" })
    assert.is_true(pre.allocs > 0)
  end)

  it("python3 on a json/re workload", function()
    compare({ "/usr/bin/python3", "-c", PY }, "PYTHONHASHSEED=0")
  end)

  it("sort of a 1 MB file", function()
    compare({ "sort", sort_in })
  end)

  it("sqlite3 :memory: running a script", function()
    compare({ "sqlite3", ":memory:", ".read " .. sql })
  end)

  it("a C++ program: every new/delete form, containers, C allocators", function()
    local r = compare({ newdel })
    -- what stays: libstdc++'s emergency exception pool (its constructor's,
    -- before main) and stdout's buffer, allocated by libc's stdio
    assert.matches("not freed at exit, by site:\n%s+bytes%s+blocks%s+site\n" ..
                   "%s+72,704%s+1%s+[^\n]*%(libstdc%+%+%.so[%d.]*%)\n" ..
                   "%s+4,096%s+1%s+_IO_file_doallocate%+0x%x+ %(libc%.so%.6%)", r.stderr)
  end)
end)

describe("heapstat", function()
  it("names allocation sites with stacks (--depth) and writes JSON", function()
    local json = tmp .. "/heap.json"
    local r = h.run({ "heapstat", "--depth", "3", "--top", "2", "json=" .. json, "--", newdel })
    assert.equal(0, r.status, r.stderr)
    local check = h.capture("python3 -c " .. h.quote([[
import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[0])
print(d['tool'], d['allocs'], d['frees'], d['allocs'] - d['frees'] == d['live_blocks'], len(d['sites']) > 0)
print(any(' <- main+0x' in s['site'] and '(heap_newdel)' in s['site'] for s in d['sites']))
]]) .. " " .. json)
    assert.equal("heapstat 2025 2023 True True\nTrue\n", check)
  end)

  it("rejects bad options", function()
    for _, bad in ipairs({ { "--top", "x" }, { "--depth", "0" }, { "--bogus" } }) do
      local a = { "heapstat" }
      for _, w in ipairs(bad) do a[#a + 1] = w end
      a[#a + 1] = "--"
      a[#a + 1] = "/bin/true"
      local r = h.run(a)
      assert.equal(1, r.status)
      assert.matches("heapstat: ", r.stderr)
    end
  end)
end)

teardown(function() os.execute("rm -rf " .. tmp) end)
