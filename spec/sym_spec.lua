-- lurk.sym, lurk.addr, lurk.symbols and mod:symbols() (engine/sym*), checked
-- against the tools that read the same files: readelf and nm (symbol tables),
-- c++filt (demangling), gdb (lines), and against what actually runs (IFUNC).
-- Test program: spec/lua/sym_prog.c; real programs: ls, python3.
local h = require "spec.util.helper"
local S = h.root .. "/spec/lua/"
local sh, capture = h.sh, h.capture

local tmp = h.tmpdir()
teardown(function() sh("rm -rf " .. h.quote(tmp)) end)
local prog
local function sym_prog()
  prog = prog or h.gcc(tmp .. "/sym_prog", S .. "sym_prog.c", "-O1", "-g")
  return prog
end

-- Run code (a -e chunk) under lurk on cmd; returns lurk's output lines,
-- after checking that the program's own output is the native one.
local function run(code, cmd)
  local q = {}
  for i, w in ipairs(cmd) do q[i] = h.quote(w) end
  local native = capture(table.concat(q, " ") .. " 2>/dev/null")
  local r = h.eval(code, cmd)
  assert.equal(0, r.status, r.stderr)
  assert.equal(native, r.stdout)
  local lines = {}
  for l in r.stderr:gmatch("[^\n]+") do lines[#lines + 1] = l end
  return lines, r.stderr
end

local function words(l)
  local t = {}
  for w in l:gmatch("%S+") do t[#t + 1] = w end
  return t
end

-- readelf -sW FILE: { name -> { value, size, type, bind } } of defined symbols.
local function readelf_syms(file, dynamic)
  local t = {}
  for l in capture("readelf -sW " .. (dynamic and "--dyn-syms " or "") .. h.quote(file)):gmatch("[^\n]+") do
    local w = words(l)
    if #w >= 8 and w[1]:match("^%d+:$") and w[7] ~= "UND" and w[7] ~= "ABS" then
      local name = w[8]:gsub("@.*", "")
      t[name] = { value = tonumber(w[2], 16), size = tonumber(w[3]), type = w[4], bind = w[5] }
    end
  end
  return t
end

-- The path of libc as the program maps it.
local function libc_path()
  return capture("ldd /bin/true | awk '/libc.so.6/{print $3}'"):gsub("%s+$", "")
end

describe("symbols of a test program", function()
  it("mod:symbols() lists every function readelf lists, at base + st_value, with sizes", function()
    local p = sym_prog()
    local out = run([[lurk.on("exit", function()
      local m = lurk.modules()[1]
      assert(m.main)
      for s in m:symbols() do
        print("SYM", s.mangled, string.format("%x", s.addr - m.base), s.size, s.kind, tostring(s.global))
      end
    end)]], { p, "1" })
    local want = {}
    for name, s in pairs(readelf_syms(p)) do
      if s.type == "FUNC" then want[name] = s end
    end
    local got = {}
    for _, l in ipairs(out) do
      local w = words(l)
      if w[1] == "SYM" then got[w[2]] = { value = tonumber(w[3], 16), size = tonumber(w[4]), kind = w[5], global = w[6] } end
    end
    local n = 0
    for name, s in pairs(want) do
      n = n + 1
      assert.is_truthy(got[name], "missing " .. name)
      assert.equal(s.value, got[name].value, name)
      assert.equal(s.size, got[name].size, name)
      assert.equal(s.bind ~= "LOCAL" and "true" or "false", got[name].global, name)
      assert.equal("function", got[name].kind)
    end
    for name in pairs(got) do assert.is_truthy(want[name], "extra " .. name) end
    assert.is_true(n >= 10)
  end)

  it("lurk.sym(pc, false) names without reading line tables", function()
    local p = sym_prog()
    local out = run([[lurk.on("exit", function()
      local a = lurk.addr("glob_static_fn")
      local s, t = lurk.sym(a, false), lurk.sym(a)
      print(s.name, s.file, s.line, t.name, t.file ~= nil, t.line ~= nil)
    end)]], { p })
    assert.same({ "glob_static_fn\tnil\tnil\tglob_static_fn\ttrue\ttrue" }, out)
  end)

  it("lurk.sym names a static function, a global one, data, and nothing", function()
    local p = sym_prog()
    local out = run([[lurk.on("exit", function()
      local m = lurk.modules()[1]
      local function show(tag, pc)
        local s = lurk.sym(pc)
        if not s then print(tag, "none") return end
        print(tag, s.module, s.name or "-", s.offset and string.format("%x", s.offset) or "-",
              s.kind or "-", tostring(s.global), s.size or "-", s.line or "-")
      end
      local st = lurk.addr("glob_static_fn")
      show("static", st)
      show("static+3", st + 3)
      show("api", lurk.addr("sym_prog!glob_api_one"))
      show("table", lurk.addr("glob_table") + 8)
      show("counter", lurk.addr("glob_counter"))
      show("header", m.base)
      show("nomodule", 4096)
    end)]], { p })
    local elf = readelf_syms(p)
    local t = {}
    for _, l in ipairs(out) do local w = words(l); t[w[1]] = w end
    local name = p:match("[^/]+$")
    assert.same({ "static", name, "glob_static_fn", "0", "function", "false", tostring(elf.glob_static_fn.size), "11" }, t.static)
    assert.same({ "static+3", name, "glob_static_fn", "3", "function", "false", tostring(elf.glob_static_fn.size), "11" }, t["static+3"])
    assert.same({ "api", name, "glob_api_one", "0", "function", "true", tostring(elf.glob_api_one.size), "12" }, t.api)
    assert.same({ "table", name, "glob_table", "8", "object", "false", "128", "-" }, t.table)
    assert.same({ "counter", name, "glob_counter", "0", "object", "true", "4", "-" }, t.counter)
    assert.same({ "header", name, "-", "-", "-", "nil", "-", "-" }, t.header)
    assert.same({ "nomodule", "none" }, t.nomodule)
  end)

  it("demangles Rust (legacy and v0) names as c++filt -i does", function()
    local p = sym_prog()
    local out = run([[lurk.on("exit", function()
      for s in lurk.modules()[1]:symbols() do
        if s.mangled:match("^_[RZ]") then print("DEM", s.mangled, s.name) end
      end
    end)]], { p })
    local n = 0
    for _, l in ipairs(out) do
      local mangled, dem = l:match("^DEM%s+(%S+)%s+(.+)$")
      if mangled then
        n = n + 1
        assert.equal(capture("c++filt -i " .. h.quote(mangled)):gsub("\n$", ""), dem)
      end
    end
    assert.equal(2, n)
  end)

  it("gives the lines gdb gives, at every instruction of the program's functions", function()
    local p = sym_prog()
    -- gdb's `info line *ADDR` for each instruction of these functions
    local fns = { "glob_static_fn", "glob_api_one", "glob_api_two", "main" }
    local pcs = {}
    for _, fn in ipairs(fns) do
      for a in capture("objdump -d --no-show-raw-insn " .. h.quote(p) .. " | awk '/<" .. fn .. ">:$/{f=1;next} f&&/^$/{f=0} f{print $1}'"):gmatch("(%x+):") do
        pcs[#pcs + 1] = tonumber(a, 16)
      end
    end
    assert.is_true(#pcs > 30)
    local cmds = {}
    for _, pc in ipairs(pcs) do cmds[#cmds + 1] = string.format("-ex 'info line *0x%x'", pc) end
    local want = {}
    local gdb_out = capture("gdb -nx -batch " .. table.concat(cmds, " ") .. " " .. h.quote(p) .. " 2>&1")
    for l in gdb_out:gmatch("[^\n]+") do
      local line, file, at = l:match('^Line (%d+) of "([^"]+)"%s+starts at address 0x(%x+)')
      local line2, file2, at2 = l:match('^Line (%d+) of "([^"]+)"%s+is at address 0x(%x+)')
      line, file, at = line or line2, file or file2, at or at2
      if line then want[#want + 1] = { tonumber(line), file } end
    end
    assert.equal(#pcs, #want, gdb_out)
    local list = {}
    for _, pc in ipairs(pcs) do list[#list + 1] = string.format("0x%x", pc) end
    local out = run([[local pcs = {]] .. table.concat(list, ",") .. [[}
      lurk.on("exit", function()
        local base = lurk.modules()[1].base
        for _, pc in ipairs(pcs) do
          local s = lurk.sym(base + pc)
          print("LINE", s.line or 0, s.file or "-")
        end
      end)]], { p })
    local k = 0
    for _, l in ipairs(out) do
      local line, file = l:match("^LINE%s+(%d+)%s+(.+)$")
      if line then
        k = k + 1
        assert.same(want[k], { tonumber(line), file }, string.format("at 0x%x", pcs[k]))
      end
    end
    assert.equal(#pcs, k)
  end)
end)

describe("lurk.addr and lurk.symbols", function()
  it("find libc's functions at base + their st_value (nm -D)", function()
    local p = sym_prog()
    local names = { "malloc", "free", "printf", "opendir", "getenv", "qsort", "__libc_start_main" }
    local out = run([[lurk.on("exit", function()
      local path
      for _, m in ipairs(lurk.modules()) do
        if m.name == "libc.so.6" then print("BASE", string.format("%x", m.base)); path = m.path end
      end
      for _, n in ipairs{"]] .. table.concat(names, '","') .. [["} do
        print("ADDR", n, string.format("%x", lurk.addr("libc.so.6!" .. n)),
              string.format("%x", lurk.addr(n)), string.format("%x", lurk.addr("libc.so*!" .. n)),
              string.format("%x", lurk.addr(path .. "!" .. n)), string.format("%x", lurk.addr("*/libc.so.[0-9]!" .. n)))
      end
    end)]], { p })
    local base
    local got = {}
    for _, l in ipairs(out) do
      local w = words(l)
      if w[1] == "BASE" then base = tonumber(w[2], 16) end
      if w[1] == "ADDR" then got[w[2]] = { w[3], w[4], w[5], w[6], w[7] } end
    end
    assert.is_truthy(base)
    local nm = {}
    for l in capture("nm -D --defined-only " .. h.quote(libc_path())):gmatch("[^\n]+") do
      local v, _, n = l:match("^(%x+) (%a) ([^@]+)")
      if v then nm[n] = tonumber(v, 16) end
    end
    for _, n in ipairs(names) do
      local want = string.format("%x", base + nm[n])
      assert.same({ want, want, want, want, want }, got[n], n)
    end
  end)

  it("match globs over module and symbol names", function()
    local p = sym_prog()
    local out = run([[lurk.on("exit", function()
      for _, e in ipairs(lurk.symbols("sym_prog!glob_*")) do print("G1", e.name, e.kind) end
      for _, e in ipairs(lurk.symbols("glob_api_*")) do print("G2", e.module, e.name) end
      for _, e in ipairs(lurk.symbols("libc.so*!str*cmp")) do print("G3", e.module, e.name) end
      for _, e in ipairs(lurk.symbols("lib[cm].so.?!abs")) do print("G4", e.module, e.name) end
      print("G5", #lurk.symbols("*!glob_api_t?o"), #lurk.symbols("nosuch*"))
    end)]], { p })
    local g = { G1 = {}, G2 = {}, G3 = {}, G4 = {} }
    local g5
    for _, l in ipairs(out) do
      local w = words(l)
      if g[w[1]] then table.insert(g[w[1]], table.concat(w, " ", 2)) end
      if w[1] == "G5" then g5 = { w[2], w[3] } end
    end
    local want = {}
    for name, s in pairs(readelf_syms(p)) do
      if name:match("^glob_") then want[#want + 1] = name .. " " .. (s.type == "FUNC" and "function" or "object") end
    end
    table.sort(want)
    table.sort(g.G1)
    assert.same(want, g.G1)
    assert.same({ "sym_prog glob_api_one", "sym_prog glob_api_two" }, g.G2)
    assert.is_true(#g.G3 >= 4)
    for _, e in ipairs(g.G3) do assert.truthy(e:match("^libc%.so%.6 str.*cmp$"), e) end
    -- (sym_prog does not link libm: only libc matches; with --preload,
    -- libm came with liblurk.so, which needs it)
    assert.same({ "libc.so.6 abs" }, g.G4)
    assert.same({ "1", "0" }, g5)
  end)

  it("return nil and a message for no match, raise for bad arguments", function()
    local r = h.eval([[lurk.on("exit", function()
      print(lurk.addr("no_such_function_xyz"))
      print(lurk.addr("nosuchlib.so!malloc"))
      print(pcall(lurk.addr, "libc.so.6!"))
      print(pcall(lurk.addr, {}))
      print(pcall(lurk.sym, "x"))
      print(pcall(lurk.symbols))
      print(pcall(lurk.modules()[1].symbols, { path = "/nowhere", base = 4096 }))
      print(lurk.sym(-5))
    end)]])
    assert.equal(0, r.status, r.stderr)
    assert.equal(table.concat({
      "nil\tno symbol matches 'no_such_function_xyz'",
      "nil\tno symbol matches 'nosuchlib.so!malloc'",
      "false\tbad argument #1 to '?' (empty symbol name)",
      "false\tbad argument #1 to '?' (string expected, got table)",
      "false\tbad argument #1 to '?' (number expected, got string)",
      "false\tbad argument #1 to '?' (string expected, got no value)",
      "false\tmodule /nowhere is not loaded",
      "nil", "" }, "\n"), r.stderr)
  end)
end)

describe("IFUNC symbols", function()
  it("lurk.addr gives the memcpy/strlen that the program runs, not the resolver", function()
    local p = sym_prog()
    local out = run([[
      local seen = {}
      lurk.on("bb", function(bb) seen[bb.pc] = true end)
      lurk.on("exit", function()
        for _, n in ipairs{"memcpy", "strlen"} do
          local a = lurk.addr(n)
          local e = lurk.symbols("libc.so.6!" .. n)[1]
          local s = lurk.sym(a)
          print("IFUNC", n, tostring(seen[a]), tostring(e.ifunc), tostring(e.addr == a),
                tostring(e.resolver ~= a), s.module, tostring(s.name ~= n), tostring(lurk.sym(e.resolver).name == n))
        end
      end)]], { p, "1" })
    local n = 0
    for _, l in ipairs(out) do
      local w = words(l)
      if w[1] == "IFUNC" then
        n = n + 1
        assert.same({ "IFUNC", w[2], "true", "true", "true", "true", "libc.so.6", "true", "true" }, w)
      end
    end
    assert.equal(2, n)
  end)
end)

describe("lazy loading", function()
  local function debug_maps(code)
    local r = h.eval(code .. [[
      lurk.on("exit", function()
        local f = io.open("/proc/self/maps")
        local n = 0
        for l in f:lines() do if l:match("/usr/lib/debug/") then n = n + 1 end end
        f:close()
        print("DEBUGMAPS", n)
      end)]], { "/bin/true" })
    assert.equal(0, r.status, r.stderr)
    return tonumber(r.stderr:match("DEBUGMAPS%s+(%d+)"))
  end

  it("reads no symbol file until a script asks, then libc's debug file", function()
    assert.equal(0, debug_maps(""))
    local libc_dbg = capture("readelf -n " .. h.quote(libc_path()) .. " | awk '/Build ID/{print $3}'"):gsub("%s", "")
    local have = sh("test -f /usr/lib/debug/.build-id/" .. libc_dbg:sub(1, 2) .. "/" .. libc_dbg:sub(3) .. ".debug") == 0
    local n = debug_maps([[lurk.on("exit", function() assert(lurk.sym(lurk.addr("libc.so.6!malloc")).file) end)]])
    if have then assert.is_true(n >= 1) end
  end)
end)

describe("real programs", function()
  it("names every libc block ls runs (but PLT stubs), and the functions it must call", function()
    local out = run([[
      local pcs = {}
      lurk.on("bb", function(bb) pcs[#pcs + 1] = bb.pc end)
      lurk.on("exit", function()
        local libc, names = 0, {}
        for _, pc in ipairs(pcs) do
          local s = lurk.sym(pc)
          if s and s.module == "libc.so.6" then
            libc = libc + 1
            if s.name then names[s.name] = true
            else print("UNNAMED", string.format("%x", pc - s.base)) end
          end
        end
        print("LIBC", libc)
        for _, n in ipairs{"opendir", "readdir64", "__libc_start_main", "exit", "malloc"} do
          print("CALLED", n, tostring(names[n] or false))
        end
      end)]], { "/bin/ls", "/" })
    -- PLT stubs have no symbol (gdb makes up names such as *ABS*+0xa0e40@plt)
    local plt = {}
    for l in capture("readelf -SW " .. h.quote(libc_path())):gmatch("[^\n]+") do
      local name, addr, size = l:match("%] (%.plt%S*)%s+PROGBITS%s+(%x+) %x+ (%x+)")
      if name then plt[#plt + 1] = { tonumber(addr, 16), tonumber(addr, 16) + tonumber(size, 16) } end
    end
    assert.is_true(#plt >= 1)
    local libc, called = 0, 0
    for _, l in ipairs(out) do
      local w = words(l)
      if w[1] == "LIBC" then libc = tonumber(w[2])
      elseif w[1] == "UNNAMED" then
        local off, inplt = tonumber(w[2], 16), false
        for _, r in ipairs(plt) do inplt = inplt or (off >= r[1] and off < r[2]) end
        assert.is_true(inplt, "unnamed libc block at +" .. w[2])
      elseif w[1] == "CALLED" then
        called = called + 1
        assert.equal("true", w[3], w[2])
      end
    end
    assert.is_true(libc > 100)
    assert.equal(5, called)
  end)

  it("unwinds from inside a PLT stub (its CFA rule is an expression on rip)", function()
    local p = sym_prog()
    -- the PLT stubs of printf: .plt.sec (first instruction) and .plt's lazy entry
    local off = capture("objdump -d " .. p):match("\n(%x+) <printf@plt>:")
    assert.truthy(off, "no printf@plt")
    local out = run(([[
      local off = %d
      lurk.on("bb", function(bb)
        local m = lurk.module_at(bb.pc)
        if not (m and m.main) or bb.pc - m.base ~= off then return end
        bb:call_before(1, function(ctx)
          local bt, exact = ctx:backtrace()
          local names = {}
          for i, pc in ipairs(bt) do
            local s = lurk.sym(exact[i] and pc or pc - 1)
            names[i] = s and s.name or "?"
          end
          print("STACK", table.concat(names, " "))
        end)
      end)]]):format(tonumber(off, 16)), { p })
    assert.equal(1, #out)
    assert.matches("^STACK%s+%S+ main __libc_start_call_main __libc_start_main", out[1])
  end)

  it("symbolizes a python3 call stack from a write(2) call up to main", function()
    local out = run([[
      local done
      local t0
      lurk.on("bb", function(bb)
        if bb.pc ~= lurk.addr("libc.so.6!write") then return end
        bb:call_before(1, function(ctx)
          if done then return end
          done = true
          t0 = os.clock()
          local bt, exact = ctx:backtrace()
          for i, pc in ipairs(bt) do
            local s = lurk.sym(exact[i] and pc or pc - 1)
            print("FRAME", i, s and s.module or "?", s and s.name or "?")
          end
          print("FIRST_MS", (os.clock() - t0) * 1000)
        end)
      end)]], { "/usr/bin/python3", "-c", "print(1)" })
    local frames = {}
    for _, l in ipairs(out) do
      local w = words(l)
      if w[1] == "FRAME" then frames[#frames + 1] = w[3] .. "!" .. w[4] end
    end
    assert.equal("libc.so.6!write", frames[1])
    local text = table.concat(frames, " ")
    assert.truthy(text:find("!Py_BytesMain", 1, true), text)
    assert.truthy(text:find("libc.so.6!__libc_start_call_main", 1, true), text)
    assert.truthy(frames[#frames]:match("!_start$"), text)
  end)
end)
