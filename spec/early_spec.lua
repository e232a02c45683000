-- lurk run --early: the whole process from its first instruction. lurk maps
-- the program and its interpreter itself; static programs run; the counts
-- of inscount equal those of a ptrace single-stepper run natively
-- (spec/lua/stepcount.c) from the first instruction to the exit, ld.so
-- included. Every run is compared with the same command run natively.
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"

local sh, capture, quote = h.sh, h.capture, h.quote

local tmp = h.tmpdir()
local function cc(out, src, ...) return h.gcc(tmp .. "/" .. out, S .. src, ...) end

-- The command line cmd run natively: { status, stdout }.
local function native(cmd)
  local out = os.tmpname()
  local ok, how, code = os.execute("(" .. cmd .. ") >" .. out .. " 2>/dev/null </dev/null")
  local r = { stdout = h.slurp(out) or "" }
  r.status = how == "exit" and code or 128 + (code or 0)
  os.remove(out)
  return r
end

-- The same command line under lurk run --early [tool] (a shell string).
local function early(tool, cmd)
  local r = h.run({ "--early", "--output", tmp .. "/lurk.out", "-t", tool, "--", "sh", "-c", cmd })
  r.tool = h.slurp(tmp .. "/lurk.out") or ""
  os.remove(tmp .. "/lurk.out")
  return r
end

-- Run cmd natively and under --early with the null tool and inscount:
-- stdout and status must be native.
local function same_as_native(cmd)
  local n = native(cmd)
  for _, tool in ipairs({ "null", "inscount" }) do
    local r = early(tool, cmd)
    assert.equal(n.status, r.status, tool .. ": " .. cmd .. "\n" .. r.stderr)
    assert.equal(n.stdout, r.stdout, tool .. ": " .. cmd)
    if tool == "inscount" then assert.truthy(r.tool:match("inscount: [%d,]+ instructions"), r.tool) end
  end
  return n
end

local function have(cmd) return sh("command -v " .. cmd .. " >/dev/null 2>&1") == 0 end

describe("--early", function()
  local hello_static, hello_dyn, stepcount

  setup(function()
    hello_static = cc("hello_static", "early_prog.c", "-O1", "-static")
    hello_dyn = cc("hello_dyn", "early_prog.c", "-O1")
    stepcount = cc("stepcount", "stepcount.c", "-O2")
  end)

  it("runs a glibc static program with threads as natively", function()
    local p = cc("thr_static", "early_prog.c", "-O1", "-static", "-pthread", "-DTHREADS")
    local n = same_as_native(p .. " threads")
    assert.truthy(n.stdout:match("thread 3"))
  end)

  it("runs a static-pie program as natively", function()
    local p = cc("hello_spie", "early_prog.c", "-O1", "-static-pie")
    same_as_native(p .. " a b")
  end)

  it("runs a musl static program as natively (Debian musl-tools)", function()
    assert.is_true(have("musl-gcc"), "musl-gcc not found")
    local p = tmp .. "/hello_musl"
    assert.equal(0, sh("musl-gcc -O1 -static -o " .. p .. " " .. S .. "early_prog.c"))
    same_as_native(p .. " musl")
  end)

  it("runs busybox sh -c with a pipeline and applets as natively (Debian busybox-static)", function()
    assert.is_true(have("busybox"), "busybox not found")
    local n = same_as_native("busybox sh -c 'for i in 3 1 2; do echo $i; done | busybox sort | busybox wc -l; " ..
                             "busybox echo done'")
    assert.equal("3\ndone\n", n.stdout)
  end)

  it("runs a Go program with goroutines and channels as natively (Debian golang-go)", function()
    assert.is_true(have("go"), "go not found")
    local p = tmp .. "/gor"
    assert.equal(0, sh("cd " .. tmp .. " && HOME=" .. tmp .. " GOCACHE=" .. tmp .. "/gocache GOFLAGS=-mod=mod " ..
                       "go build -o " .. p .. " " .. S .. "early_go.go 2>&1"))
    local n = same_as_native(p)
    assert.truthy(n.stdout:match("goroutines total %d+"))
  end)

  it("gives the program the environment it has natively: no LD_PRELOAD, no lurk variable", function()
    local n = native("env -i A=1 B='x y' /usr/bin/env")
    local r = h.run({ "--early", "--", "env", "-i", "A=1", "B=x y", "/usr/bin/env" })
    assert.equal(0, r.status, r.stderr)
    assert.equal(n.stdout, r.stdout)
    local e = h.run({ "--early", "--", "/usr/bin/env" }, { env = "FOO=bar" })
    assert.falsy(e.stdout:match("LD_PRELOAD"))
    assert.falsy(e.stdout:match("LURK_"))
    assert.truthy(e.stdout:match("FOO=bar"))
  end)

  it("shows bb events for ld.so, IFUNC resolvers and init arrays", function()
    local p = cc("initarr", "early_prog.c", "-O1", "-DINITARR")
    local addr = function(sym) return tonumber(capture("nm " .. p .. " | awk '$3 == \"" .. sym .. "\" {print $1}'"), 16) end
    local pre, ini, res = addr("early_preinit"), addr("early_init"), addr("early_resolver")
    assert.is_number(pre)
    assert.is_number(ini)
    assert.is_number(res)
    local code = [[
      local base, seen, ld = nil, {}, 0
      lurk.on("module_load", function(m) if m.main then base = m.base end end)
      lurk.on("bb", function(bb)
        local m = lurk.module_at and lurk.module_at(bb.pc)
        seen[bb.pc] = true
        if m and m.path:match("ld%-linux") then ld = ld + 1 end
      end)
      lurk.on("exit", function()
        print("ldso blocks", ld)
        for pc in pairs(seen) do
          local off = pc - base
          if off == ]] .. pre .. [[ then print("preinit seen") end
          if off == ]] .. ini .. [[ then print("init seen") end
          if off == ]] .. res .. [[ then print("resolver seen") end
        end
      end)
    ]]
    local r = h.run({ "--early", "-e", code, "--", p })
    assert.equal(0, r.status, r.stderr)
    local ld = tonumber(r.stderr:match("ldso blocks%s+(%d+)"))
    assert.is_true(ld and ld > 100, r.stderr)
    assert.truthy(r.stderr:match("preinit seen"), r.stderr)
    assert.truthy(r.stderr:match("init seen"), r.stderr)
    assert.truthy(r.stderr:match("resolver seen"), r.stderr)
    assert.truthy(r.stdout:match("order 12 ifunc 12"), r.stdout)
  end)

  -- setarch -R on both sides: without address randomisation the stack,
  -- strings and heap are laid out alike, so string functions take the
  -- same paths and the counts are exact.
  local function exact(prog, ...)
    local args = { ... }
    local q = {}
    for i, a in ipairs(args) do q[i] = quote(a) end
    local env = "env -i PATH=/usr/bin:/bin "
    local n = capture(env .. "setarch -R " .. stepcount .. " " .. prog .. " " .. table.concat(q, " ") .. " 2>&1")
    local want = tonumber(n:match("stepcount: (%d+) instructions"))
    assert.is_number(want, n)
    local r = h.run({ "--early", "-t", "inscount", "--", prog, ... }, { env = env .. "setarch -R" })
    assert.equal(0, r.status, r.stderr)
    local got = r.stderr:match("inscount: ([%d,]+) instructions")
    assert.is_string(got, r.stderr)
    return want, tonumber((got:gsub(",", "")))
  end

  it("counts a static program's instructions exactly, from its first", function()
    local want, got = exact(hello_static, "x")
    assert.equal(want, got)
  end)

  it("counts a dynamic program's instructions exactly, ld.so included", function()
    local want, got = exact(hello_dyn, "x")
    assert.equal(want, got)
    assert.is_true(got > 50000) -- ld.so's relocation of libc alone is more
  end)

  it("counts a rep-prefixed string instruction once per execution", function()
    local p = cc("rep_static", "inscount_rep.c", "-O1", "-static")
    local want, got = exact(p)
    assert.equal(want, got)
  end)

  it("follows an exec into a static program (the child counted too)", function()
    local r = h.run({ "--early", "-t", "inscount", "--", "sh", "-c", hello_static .. " child; echo back" })
    assert.equal(0, r.status, r.stderr)
    assert.truthy(r.stdout:match("hello 2 .*child"), r.stdout)
    local n = 0
    for _ in r.stderr:gmatch("inscount: [%d,]+ instructions") do n = n + 1 end
    assert.equal(2, n, r.stderr)
  end)

  -- What a program sees of its own process, natively and under --early,
  -- both under setarch -R (spec/lua/invis_prog.c prints it line by line).
  -- Two differences are lurk's design: AT_BASE (the launcher's ld.so holds
  -- the interpreter's native place; the app's sits right above it) and
  -- RLIMIT_NOFILE, lowered by the 32 descriptors lurk keeps at its top.
  it("is invisible: stack layout, auxv, /proc/self files, maps names, link map, fds", function()
    local p = cc("invis", "invis_prog.c", "-O1")
    local env = "env -i PATH=/usr/bin:/bin A=1 B='x y' setarch -R "
    local n = capture(env .. p .. " arg1 'arg 2'")
    for _, extra in ipairs({ {}, { "--ctl", "-t", "inscount" } }) do
      local args = { "--early" }
      for _, a in ipairs(extra) do args[#args + 1] = a end
      for _, a in ipairs({ "--", p, "arg1", "arg 2" }) do args[#args + 1] = a end
      local r = h.run(args, { env = env })
      assert.equal(0, r.status, r.stderr)
      local nl, ll = {}, {}
      for l in n:gmatch("[^\n]+") do nl[#nl + 1] = l end
      for l in r.stdout:gmatch("[^\n]+") do ll[#ll + 1] = l end
      assert.equal(#nl, #ll, r.stdout)
      for i = 1, #nl do
        if nl[i]:match("^auxv  7 ") then
          assert.truthy(ll[i]:match("^auxv  7 0x%x+$"))
        elseif nl[i]:match("^nofile") then
          local s, hd = nl[i]:match("^nofile (%d+) (%d+)")
          assert.equal(("nofile %d %d"):format(s - 32, hd - 32), ll[i])
        else
          assert.equal(nl[i], ll[i])
        end
      end
      assert.truthy(n:match("maps: %[heap%]"))
      assert.truthy(n:match("/proc/self/auxv equals the stack's: yes"))
    end
  end)

  it("lets calltrace see the libraries' constructors, or start at the entry (--from-entry)", function()
    local all = h.run({ "--early", "calltrace", "malloc", "setlocale", "--", "/bin/ls", "/" })
    local from = h.run({ "--early", "calltrace", "--from-entry", "malloc", "setlocale", "--", "/bin/ls", "/" })
    assert.equal(0, all.status, all.stderr)
    assert.equal(0, from.status, from.stderr)
    -- ls's main calls setlocale first; libselinux's constructor mallocs before
    assert.truthy(all.stderr:match("^malloc%("), all.stderr)
    assert.truthy(from.stderr:match("^setlocale%("), from.stderr)
  end)

  it("leaves to the kernel an exec lurk's loader does not take (no #!: ENOEXEC, and the shell runs sh)", function()
    local f = h.tmpfile("echo from a script without #!\n")
    sh("chmod +x " .. f)
    same_as_native("bash -c " .. quote(f .. "; echo status $?"))
    os.remove(f)
  end)

  it("reports a program it cannot load with its reason and status 126", function()
    local f = h.tmpfile("\127ELF\1\1\1" .. string.rep("\0", 57))
    sh("chmod +x " .. f)
    local r = h.run({ "--early", "--", f })
    assert.equal(126, r.status)
    assert.truthy(r.stderr:match("not an x86%-64 executable"), r.stderr)
    os.remove(f)
  end)
end)
