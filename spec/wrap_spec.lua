-- lurk.wrap / lurk.unwrap / lurk.replace, end to end: arguments and results
-- (integer, floating-point, stack, 64-bit), skip, recursion, longjmp, a C++
-- exception, a tail call, 8 threads, a signal handler on the alternate
-- stack, a dlopen'ed library, replace, errors, and a real program (python3's
-- calls into libc's malloc). Programs: spec/lua/wrap_prog.c (one mode per
-- argv[1]), wrap_lib.c, wrap_exc.cc, built -no-pie so that `nm` gives the
-- run-time address of every w_* function; each script gets them as S.
local h = require "spec.util.helper"
local D = h.root .. "/spec/lua/"

local sh = h.sh
local tmp = h.tmpdir()
teardown(function() sh("rm -rf " .. h.quote(tmp)) end)

-- build(name, compiler, sources/flags...) once; { path, syms }.
local built = {}
local function build(name, cc, ...)
  if built[name] then return built[name] end
  local out = tmp .. "/" .. name
  local cmd = { cc, "-O2", "-no-pie", "-fno-pie", "-fno-ipa-ra", "-o", h.quote(out) }
  for _, a in ipairs({ ... }) do cmd[#cmd + 1] = h.quote(a) end
  assert(sh(table.concat(cmd, " ") .. " 2>&1") == 0, "cannot build " .. name)
  local syms, p = {}, assert(io.popen("nm " .. out))
  for line in p:lines() do
    local addr, sym = line:match("^(%x+) %a (w_[%w_]+)$")
    if addr then syms[sym] = tonumber(addr, 16) end
  end
  p:close()
  built[name] = { path = out, syms = syms }
  return built[name]
end

local function prog() return build("wrap_prog", "gcc", D .. "wrap_prog.c", "-ldl", "-lpthread") end
local function exc() return build("wrap_exc", "g++", D .. "wrap_exc.cc") end

local natives = {}
local function native(p, args)
  local key = p.path .. " " .. table.concat(args, " ")
  if not natives[key] then
    natives[key] = h.capture(h.quote(p.path) .. " " .. table.concat(args, " ") .. " 2>/dev/null </dev/null")
  end
  return natives[key]
end

-- Run p (args) under lurk with a script: line 1 defines S (name -> address)
-- and hex(x); body from line 2.
local nscripts = 0
local function run(p, body, args)
  local t = {}
  for k, v in pairs(p.syms) do t[#t + 1] = string.format("%s=0x%x", k, v) end
  table.sort(t)
  nscripts = nscripts + 1
  local path = string.format("%s/script%d.lua", tmp, nscripts)
  local f = assert(io.open(path, "w"))
  f:write("local S = {" .. table.concat(t, ",") .. "} local function hex(x) return string.format('0x%x', x) end\n" .. body)
  f:close()
  local words = { path, "--", p.path }
  for _, a in ipairs(args or {}) do words[#words + 1] = a end
  local r = h.run(words)
  r.script = path
  return r
end

describe("lurk.wrap", function()
  it("reads the integer, stack and floating-point arguments, and the results", function()
    local p = prog()
    local r = run(p, [[
      lurk.wrap(S.w_sum9, { pre = function(c)
        local t = {} for i = 1, 9 do t[i] = c.args[i] end
        print("sum9", table.concat(t, " "), hex(c.func), c.func == S.w_sum9, c.sp % 16)
      end, post = function(c) print("sum9 ret", c.ret) end })
      lurk.wrap(S.w_fmix, { pre = function(c) print("fmix", c.fargs[1], c.fargs[2], c.args[1], c.fargs[3]) end,
        post = function(c) print("fmix ret", c.fret) end })
      lurk.wrap(S.w_big, { pre = function(c) print("big", type(c.args[1]), tostring(c.args[1])) end,
        post = function(c) print("big ret", type(c.ret), tostring(c.ret)) end })]], { "args" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "args" }), r.stdout)
    assert.equal(string.format("sum9\t1 2 3 4 5 6 7 8 9\t0x%x\ttrue\t8\nsum9 ret\t285\n", p.syms.w_sum9) ..
      "fmix\t1.5\t4\t2\t0.25\nfmix ret\t4.25\n" ..
      "big\tcdata\t81985529216486895ULL\nbig ret\tcdata\t17425471045407292703ULL\n", r.stderr)
  end)

  it("writes arguments (registers, stack, floating-point) and results, 64-bit values losslessly", function()
    local p = prog()
    local r = run(p, [[
      lurk.wrap(S.w_sum9, { pre = function(c) c.args[1] = 10; c.args[7] = -1; c.args[9] = 0 end,
        post = function(c) c.ret = c.ret * 2 end })
      lurk.wrap(S.w_fmix, { pre = function(c) c.fargs[1] = 2; c.args[1] = 0; c.fargs[3] = -0.5 end,
        post = function(c) c.fret = c.fret + 0.125 end })
      lurk.wrap(S.w_big, { pre = function(c) local a = c.args[1]; c.args[1] = a end,
        post = function(c) c.ret = c.ret + 1ULL end })]], { "args" })
    assert.equal(0, r.status)
    -- sum9: 10 + 2*2 + 3*3 + .. + 6*6 + 7*(-1) + 8*8 + 9*0 = 157, doubled; fmix: 2*4 - 0.5 - 0 + 0.125
    assert.equal("sum9 314\nfmix 7.625\nbig f1d3b597795b3d20\n", r.stdout)
    assert.equal("", r.stderr)
  end)

  it("skip returns a value at once, without running the function or its post", function()
    local p = prog()
    local r = run(p, [[
      lurk.wrap(S.w_sum9, { pre = function(c) c:skip(77) end, post = function() print("no post") end })
      lurk.wrap(S.w_fmix, { pre = function(c) c:skip(2.5) end })
      lurk.wrap(S.w_big, { pre = function(c) c:skip(0xfedcba9876543210ULL) end })]], { "args" })
    assert.equal(0, r.status)
    assert.equal("sum9 77\nfmix 2.5\nbig fedcba9876543210\n", r.stdout)
    assert.equal("", r.stderr)
  end)

  it("keeps per-call data from pre to post under recursion, with exact counts and depth", function()
    local p = prog()
    local r = run(p, [[
      local pre, post, maxd, bad = 0, 0, 0, 0
      lurk.wrap(S.w_fib, { pre = function(c)
        pre = pre + 1; c.n = c.args[1]; c.data.d = c.depth
        if c.depth > maxd then maxd = c.depth end
      end, post = function(c)
        post = post + 1
        if c.unwound or c.data.d ~= c.depth then bad = bad + 1 end
        local n, want = c.n, 0
        local a, b = 0, 1 for _ = 1, n do a, b = b, a + b end
        if c.ret ~= a then bad = bad + 1 end
      end })
      lurk.on("exit", function() print(pre, post, maxd, bad) end)]], { "fib", "15" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "fib", "15" }), r.stdout)
    local calls, depth = r.stdout:match("calls (%d+) depth (%d+)")
    assert.equal(calls .. "\t" .. calls .. "\t" .. depth .. "\t0\n", r.stderr)
  end)

  it("call:stackid interns the stack call:backtrace gives: equal stacks, equal ids; lurk.stack(id) its pcs", function()
    local p = prog()
    local r = run(p, [[
      local id_of, key_of, bad, n, errs = {}, {}, 0, 0, 0
      local function check(c, depth)
        local id, pcs = c:stackid(depth), c:backtrace(depth)
        local key = table.concat(pcs, ",")
        if id_of[key] == nil then id_of[key] = id n = n + 1 end
        if id_of[key] ~= id or (key_of[id] and key_of[id] ~= key) then bad = bad + 1 end
        key_of[id] = key
        if table.concat(lurk.stack(id), ",") ~= key then bad = bad + 1 end
      end
      lurk.wrap(S.w_fib, { pre = function(c) check(c, 3) check(c, 64) end, post = function(c) check(c, 2) check(c, 64) end })
      lurk.on("exit", function()
        local ids = 0
        for _ in pairs(key_of) do ids = ids + 1 end
        for _, v in ipairs({ 0, -1, 1e6 }) do
          local ok, e = pcall(lurk.stack, v)
          if not ok and e:match("no such stack") then errs = errs + 1 end
        end
        print(n, ids, bad, errs)
      end)]], { "fib", "15" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "fib", "15" }), r.stdout)
    local n, ids, bad, errs = r.stderr:match("^(%d+)\t(%d+)\t(%d+)\t(%d+)\n$")
    assert.is_truthy(n, r.stderr)
    assert.is_true(tonumber(n) > 20, r.stderr)   -- many distinct stacks (the recursion's paths)
    assert.equal(n, ids)
    assert.equal("0", bad)
    assert.equal("3", errs)
  end)

  it("does not push a call no post wants: depth counts calls with a post", function()
    local p = prog()
    -- w_fib wrapped with pre only (then also with a post): its depth stays
    -- 1 without a post; with one, the recursion's depth shows
    local r = run(p, [[
      local maxd, n = 0, 0
      lurk.wrap(S.w_fib, { pre = function(c) n = n + 1 if c.depth > maxd then maxd = c.depth end end })
      lurk.on("exit", function() print(n, maxd) end)]], { "fib", "10" })
    assert.equal(0, r.status)
    local calls, depth = native(p, { "fib", "10" }):match("calls (%d+) depth (%d+)")
    assert.equal(calls .. "\t1\n", r.stderr)
    r = run(p, [[
      local maxd = 0
      lurk.wrap(S.w_fib, { pre = function(c) if c.depth > maxd then maxd = c.depth end end })
      lurk.wrap(S.w_fib, { post = function(c) end })
      lurk.on("exit", function() print(maxd) end)]], { "fib", "10" })
    assert.equal(depth .. "\n", r.stderr)
  end)

  it("calls post with call.unwound for frames a longjmp left", function()
    local p = prog()
    local r = run(p, [[
      local ev = {}
      local function w(name) lurk.wrap(S[name], {
        pre = function(c) ev[#ev + 1] = name .. "(" .. c.args[1] .. ")"; c.a = c.args[1] end,
        post = function(c) ev[#ev + 1] = (c.unwound and "unwound " or "ret ") .. name .. "(" .. c.a .. ")" ..
          (c.unwound and tostring(c.ret) or "=" .. c.ret) end }) end
      w("w_jump") w("w_jump_inner")
      lurk.on("exit", function() print(table.concat(ev, " ")) end)]], { "longjmp" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "longjmp" }), r.stdout)
    local want = {}
    for i = 0, 2 do
      want[#want + 1] = ("w_jump(%d) w_jump_inner(%d) ret w_jump_inner(%d)=%d ret w_jump(%d)=%d"):format(i, i, i, i, i, i + 1)
    end
    for i = 3, 4 do
      want[#want + 1] = ("w_jump(%d) w_jump_inner(%d) unwound w_jump_inner(%d)nil unwound w_jump(%d)nil"):format(i, i, i, i)
    end
    -- the last longjmp's frames are in flight when the process exits: no post
    want[#want + 1] = "w_jump(5) w_jump_inner(5)"
    assert.equal(table.concat(want, " ") .. "\n", r.stderr)
  end)

  it("calls post with call.unwound for frames a C++ exception went through", function()
    local p = exc()
    local r = run(p, [[
      local ev = {}
      local function w(name) lurk.wrap(S[name], {
        pre = function(c) c.a = c.args[1] end,
        post = function(c) ev[#ev + 1] = (c.unwound and "u" or "r") .. name:sub(3, 3) .. c.a end }) end
      w("w_middle") w("w_thrower")
      lurk.on("exit", function() print(table.concat(ev, " ")) end)]])
    assert.equal(0, r.status)
    assert.equal(native(p, {}), r.stdout)
    local want = {}
    for i = 0, 8 do
      if i % 3 == 0 then want[#want + 1] = ("ut%d um%d"):format(i, i)
      else want[#want + 1] = ("rt%d rm%d"):format(i, i) end
    end
    assert.equal(table.concat(want, " ") .. "\n", r.stderr)
  end)

  it("sees a tail call (a jmp) as two calls returning to the same place", function()
    local p = prog()
    local dis = h.capture("objdump -d --no-show-raw-insn " .. h.quote(p.path))
    local body = dis:match("<w_tail>:\n(.-)\n\n")
    assert.truthy(body and body:find("jmp%s+%x+ <w_tail_to>"), "w_tail is not a tail call:\n" .. tostring(body))
    local r = run(p, [[
      local ev, ras, sps = {}, {}, {}
      local function w(name) lurk.wrap(S[name], {
        pre = function(c) ev[#ev + 1] = name .. "(" .. c.args[1] .. ") d" .. c.depth; ras[name] = c.caller; sps[name] = c.sp end,
        post = function(c) ev[#ev + 1] = "ret " .. name .. "=" .. c.ret .. (c.unwound and " unwound" or "") end }) end
      w("w_tail") w("w_tail_to")
      lurk.on("exit", function() print(table.concat(ev, "; "), ras.w_tail == ras.w_tail_to, sps.w_tail == sps.w_tail_to) end)]], { "tail" })
    assert.equal(0, r.status)
    assert.equal("tail 15\n", r.stdout)
    assert.equal("w_tail(4) d1; w_tail_to(5) d2; ret w_tail_to=15; ret w_tail=15\ttrue\ttrue\n", r.stderr)
  end)

  it("counts 8 threads x 100,000 calls exactly, per thread", function()
    local p = prog()
    local r = run(p, [[
      local pre, post, per = 0, 0, {}
      lurk.wrap(S.w_work, { pre = function(c) pre = pre + 1; per[c.tid] = (per[c.tid] or 0) + 1 end,
        post = function(c) post = post + 1; c.ret = c.ret + 1 end })
      lurk.on("exit", function()
        local n, all = 0, true
        for _, k in pairs(per) do n = n + 1; all = all and k == 100000 end
        print(pre, post, n, all)
      end)]], { "threads" })
    assert.equal(0, r.status)
    assert.equal("threads 40000400000\n", native(p, { "threads" }))
    assert.equal("threads 40001200000\n", r.stdout) -- every call's result + 1
    assert.equal("800000\t800000\t8\ttrue\n", r.stderr)
  end)

  it("follows a signal handler on the alternate stack that calls a wrapped function mid-call", function()
    local p = prog()
    local r = run(p, [[
      local ev = {}
      local function w(name) lurk.wrap(S[name], {
        pre = function(c) ev[#ev + 1] = name .. "(" .. c.args[1] .. ") d" .. c.depth end,
        post = function(c) ev[#ev + 1] = (c.unwound and "unwound " or "ret ") .. name .. "=" .. tostring(c.ret) end }) end
      w("w_outer") w("w_leaf")
      lurk.on("exit", function() print(table.concat(ev, "; ")) end)]], { "altstack" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "altstack" }), r.stdout)
    assert.equal("w_outer(1) d1; w_leaf(100) d2; ret w_leaf=107; w_leaf(1) d2; ret w_leaf=8; ret w_outer=115\n", r.stderr)
  end)

  it("wraps a function of a dlopen'ed library (module_load base + nm offset)", function()
    local p = prog()
    local lib = tmp .. "/libwl.so"
    assert.equal(0, sh("gcc -O2 -shared -fPIC -o " .. lib .. " " .. D .. "wrap_lib.c"))
    local off = h.capture("nm -D " .. lib):match("(%x+) T wl_twice")
    local r = run(p, [[
      local n = 0
      lurk.on("module_load", function(m)
        if m.name == "libwl.so" then
          lurk.wrap(m.base + 0x]] .. off .. [[, { pre = function(c) n = n + 1 end, post = function(c) c.ret = c.ret + 1 end })
        end
      end)
      lurk.on("exit", function() print("calls", n) end)]], { "dlopen", lib })
    assert.equal(0, r.status)
    assert.equal("dlopen 90\n", native(p, { "dlopen", lib }))
    assert.equal("dlopen 100\n", r.stdout)
    assert.equal("calls\t10\n", r.stderr)
  end)

  it("wraps by name and by glob in a library dlopen'ed later", function()
    local p = prog()
    local lib = tmp .. "/libwl.so"
    assert.equal(0, sh("gcc -O2 -shared -fPIC -o " .. lib .. " " .. D .. "wrap_lib.c"))
    local r = run(p, [[
      local n, g = 0, {}
      local one = lurk.wrap("libwl.so!wl_twice", { pre = function(c) n = n + 1 end,
                                                   post = function(c) c.ret = c.ret + 1 end })
      local all = lurk.wrap("libwl*!wl_*", { pre = function(c) local s = lurk.sym(c.func).name g[s] = (g[s] or 0) + 1 end })
      print("at start", #one.addrs, #all.addrs)
      lurk.on("exit", function() print("calls", n, g.wl_twice, g.wl_thrice, #one.addrs, #all.addrs) end)]],
      { "dlopen", lib, "both" })
    assert.equal(0, r.status)
    assert.equal("dlopen 120\n", native(p, { "dlopen", lib, "both" }))
    assert.equal("dlopen 130\n", r.stdout)
    assert.equal("at start\t0\t0\ncalls\t10\t10\t5\t1\t2\n", r.stderr)
  end)

  it("wraps libc's IFUNCs by name: the memcpy and strlen that run", function()
    local p = prog()
    local r = run(p, [[
      local n = { memcpy = 0, strlen = 0 }
      local sizes = {}
      for name in pairs(n) do
        lurk.wrap("libc.so.6!" .. name, { pre = function(c)
          local m = lurk.module_at(c.caller)
          if m and m.main then -- the program's own calls (libc calls them too)
            n[name] = n[name] + 1
            if name == "memcpy" then sizes[#sizes + 1] = c.args[3] end
          end
        end })
      end
      lurk.on("exit", function() print(n.memcpy, n.strlen, table.concat(sizes, " ")) end)]], { "strings" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "strings" }), r.stdout)
    assert.equal("7\t7\t100 101 102 103 104 105 106\n", r.stderr)
  end)

  it("unwrap and handle:remove stop the calls; a removed handle says so", function()
    local p = prog()
    local r = run(p, [[
      local n = 0
      local hd
      hd = lurk.wrap(S.w_fib, { pre = function(c) n = n + 1; if n == 5 then print(lurk.unwrap(hd), hd:remove()) end end })
      print(tostring(hd):gsub("0x%x+", "ADDR"))
      lurk.on("exit", function() print(n, (tostring(hd):gsub("0x%x+", "ADDR"))) end)]], { "fib", "10" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "fib", "10" }), r.stdout)
    assert.equal("<wrap ADDR, 1 address>\t1\ntrue\tfalse\n5\t<wrap ADDR, 1 address, removed>\n", r.stderr)
  end)

  it("a wrap attached during a call gets the later calls, not that call's post", function()
    local p = prog()
    local r = run(p, [[
      local added = false
      lurk.wrap(S.w_fib, { pre = function(c)
        print("pre a", c.args[1])
        if not added then
          added = true
          lurk.wrap(S.w_fib, { pre = function(c) print("pre b", c.args[1]) end, post = function(c) print("post b", c.ret) end })
        end
      end, post = function(c) print("post a", c.ret) end })]], { "fib", "2" })
    assert.equal(0, r.status)
    assert.equal("pre a\t2\npre a\t1\npre b\t1\npost b\t1\npost a\t1\npre a\t0\npre b\t0\npost b\t0\npost a\t0\npost a\t1\n", r.stderr)
  end)

  it("a post-only wrap attached during a pre gets no post for that call", function()
    local p = prog()
    local r = run(p, [[
      local added = false
      lurk.wrap(S.w_fib, { pre = function(c)
        if not added then
          added = true
          lurk.wrap(S.w_fib, { post = function(c) print("post b", c.ret) end })
        end
      end })]], { "fib", "2" })
    assert.equal(0, r.status)
    assert.equal("post b\t1\npost b\t0\n", r.stderr)
  end)

  it("wraps a function whose call site already ran: its return is seen", function()
    local p = prog()
    local r = run(p, [[
      local on = false
      lurk.on("syscall_pre", function(e)
        if e.name == "write" and not on then
          on = true
          lurk.wrap(S.w_leaf, { pre = function(c) c.a = c.args[1] end,
            post = function(c) print(c.a, c.ret, c.unwound); c.ret = c.ret * 10 end })
        end
      end)]], { "again" })
    assert.equal(0, r.status)
    assert.equal("again 7\nagain 80\nagain 90\n", r.stdout)
    assert.equal("1\t8\tfalse\n2\t9\tfalse\n", r.stderr)
  end)

  it("follows a fork inside a wrapped call: each process returns from it", function()
    local p = prog()
    local r = run(p, [[
      local function w(name) lurk.wrap(S[name], { pre = function(c) c.pid = lurk.pid() end,
        post = function(c) print((c.pid == lurk.pid() and "same " or "other ") .. name .. "=" .. c.ret .. " d" .. c.depth) end }) end
      w("w_forker") w("w_leaf")]], { "fork" })
    assert.equal(0, r.status)
    assert.equal("child 8\nfork 9\n", r.stdout)
    -- the child's post of w_forker never comes: it calls _exit inside it
    assert.equal("same w_leaf=8 d2\nsame w_leaf=9 d2\nsame w_forker=9 d1\n", r.stderr)
  end)

  it("runs several wraps of one function: pre in order, post in reverse", function()
    local p = prog()
    local r = run(p, [[
      for _, k in ipairs{ "a", "b" } do
        lurk.wrap(S.w_tail_to, { pre = function(c) print("pre " .. k) end, post = function(c) print("post " .. k) end })
      end]], { "tail" })
    assert.equal(0, r.status)
    assert.equal("pre a\npre b\npost b\npost a\n", r.stderr)
  end)
end)

describe("lurk.replace", function()
  it("with a Lua function: called with the arguments, its result is the call's", function()
    local p = prog()
    local r = run(p, [[
      lurk.replace(S.w_sum9, function(a, b, c, d, e, f, call) return a * 1000 + f * 10 + call.args[9] end)
      lurk.replace(S.w_fmix, function(_, _, _, _, _, _, call) return call.fargs[1] + call.fargs[2] end)]], { "args" })
    assert.equal(0, r.status)
    assert.equal("sum9 1069\nfmix 5.5\nbig f1d3b597795b3d1f\n", r.stdout)
  end)

  it("with an address: calls go there (and a wrap of the replacement sees them)", function()
    local p = prog()
    local r = run(p, [[
      local hd = lurk.replace(S.w_tail, S.w_work)
      lurk.wrap(S.w_work, { pre = function(c) print("work", c.args[1]) end })
      print((tostring(hd):gsub("0x%x+", "ADDR")))]], { "tail" })
    assert.equal(0, r.status)
    assert.equal("tail 5\n", r.stdout) -- w_work(4)
    assert.equal("<replace ADDR, 1 address>\nwork\t4\n", r.stderr)
  end)
end)

describe("lurk.wrap errors", function()
  local function err(code)
    local r = h.eval(code)
    return r.status, (r.stderr:match("^lurk: [^\n]*") or r.stderr)
  end

  it("checks its arguments", function()
    assert.same({ 1, "lurk: (command line):1: bad argument #2 to 'wrap' (table expected, got nil)" },
      { err("lurk.wrap(0x1000)") })
    assert.same({ 1, "lurk: (command line):1: bad argument #1 to 'wrap' (address or symbol name expected, got bad address 0)" },
      { err("lurk.wrap(0, { pre = print })") })
    assert.same({ 1, "lurk: (command line):1: bad argument #1 to 'wrap' (address or symbol name expected, got table)" },
      { err("lurk.wrap({}, { pre = print })") })
    assert.same({ 1, "lurk: (command line):1: bad argument #2 to 'wrap' ('pre' must be a function)" },
      { err("lurk.wrap(0x1000, { pre = 1 })") })
    assert.same({ 1, "lurk: (command line):1: bad argument #2 to 'wrap' (unknown field 'pree')" },
      { err("lurk.wrap(0x1000, { pree = print })") })
    assert.same({ 1, "lurk: (command line):1: bad argument #2 to 'wrap' (a pre or post function expected)" },
      { err("lurk.wrap(0x1000, {})") })
    assert.same({ 1, "lurk: (command line):1: bad argument #2 to 'replace' (function or address expected, got string)" },
      { err("lurk.replace(0x1000, 'x')") })
    assert.same({ 1, "lurk: (command line):1: bad argument #1 to 'unwrap' (wrap handle expected, got number)" },
      { err("lurk.unwrap(1)") })
  end)

  it("resolves names with lurk.addr / lurk.symbols, and says so when they are missing", function()
    local s, m = err("lurk.addr = nil lurk.wrap('libc.so.6!malloc', { pre = print })")
    assert.same({ 1, "lurk: (command line):1: bad argument #1 to 'wrap' (symbol names need lurk.addr, which this lurk does not have)" }, { s, m })
    s, m = err("lurk.symbols = nil lurk.wrap('libc.so.6!mall*', { pre = print })")
    assert.same({ 1, "lurk: (command line):1: bad argument #1 to 'wrap' (symbol names need lurk.symbols, which this lurk does not have)" }, { s, m })
    -- with a resolver: the name's address is wrapped, and again as modules load
    local p = prog()
    local r = run(p, [[
      local asked = 0
      lurk.addr = function(name) asked = asked + 1; if name == "prog!w_fib" then return S.w_fib end end
      local n = 0
      local hd = lurk.wrap("prog!w_fib", { pre = function() n = n + 1 end })
      lurk.on("exit", function() print(n, #hd.addrs, asked > 1) end)]], { "fib", "1" })
    assert.equal(0, r.status)
    assert.equal("1\t1\ttrue\n", r.stderr)
  end)

  it("the call object: outside a handler, pre-only and post-only fields, read-only fields", function()
    local p = prog()
    local function one(pre, post)
      local r = run(p, "local keep lurk.wrap(S.w_tail_to, { pre = function(c) keep = c " .. pre .. " end, post = function(c) " ..
        (post or "") .. " end }) lurk.on('exit', function() print(tostring(keep)) end)", { "tail" })
      return r.status, r.stderr:match("lurk: ([^\n]*)") or r.stderr
    end
    assert.same({ 1, "error in a wrap handler: " .. tmp .. "/script" .. (nscripts + 1) .. ".lua:2: call.ret is only available in post" },
      { one("print(c.ret)") })
    assert.same({ 1, "error in a wrap handler: " .. tmp .. "/script" .. (nscripts + 1) .. ".lua:2: call.args is only available in pre" },
      { one("", "print(c.args[1])") })
    assert.same({ 1, "error in a wrap handler: " .. tmp .. "/script" .. (nscripts + 1) .. ".lua:2: call:skip is only possible in pre" },
      { one("", "c:skip(1)") })
    assert.same({ 1, "error in a wrap handler: " .. tmp .. "/script" .. (nscripts + 1) .. ".lua:2: call.tid is read-only" },
      { one("c.tid = 1") })
    assert.same({ 0, "<call (outside a handler)>\n" }, { one("") })
  end)
end)

describe("lurk.wrap on a real program", function()
  it("python3's calls to libc's malloc (nm -D + module base): output as native, every call returns", function()
    local libc = h.capture("ldd /usr/bin/python3"):match("(/%S+/libc%.so%.6)")
    assert.truthy(libc)
    local off = h.capture("nm -D " .. libc):match("(%x+) T malloc@@")
    assert.truthy(off)
    local r = h.run({ "-e", [[
      local pre, post, nonnull = 0, 0, 0
      lurk.on("module_load", function(m)
        if m.name == "libc.so.6" then
          lurk.wrap(m.base + 0x]] .. off .. [[, { pre = function(c) pre = pre + 1; c.size = c.args[1] end,
            post = function(c) post = post + 1; if c.ret ~= 0 and not c.unwound then nonnull = nonnull + 1 end end })
        end
      end)
      lurk.on("exit", function() print(pre > 100, pre == post, nonnull == post) end)]],
      "--", "/usr/bin/python3", "-c", "import json; print(json.dumps({'a': [1, 2, 3]}, sort_keys=True))" })
    assert.equal(0, r.status)
    assert.equal('{"a": [1, 2, 3]}\n', r.stdout)
    assert.equal("true\ttrue\ttrue\n", r.stderr)
  end)
end)
