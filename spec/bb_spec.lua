-- The bb event's block object (bb.pc, #bb, bb[i], bb:insns(), edits) and
-- clean calls (every argument kind, the context object, lurk.read/write,
-- errors, faults, signals, threads), end to end on small asm programs:
-- spec/lua/bb_ops.c, bb_fault.c, bb_sig.c and bb_thr.c, built -no-pie so
-- that `nm` gives the run-time address of every t_* label. Each script gets those
-- addresses as the table S (see `script` below) and prints what it sees on
-- lurk's output (stderr); the programs print what they see on stdout.
local h = require "spec.util.helper"
local D = h.root .. "/spec/lua/"

local sh = h.sh
local tmp = h.tmpdir()
teardown(function() sh("rm -rf " .. h.quote(tmp)) end)

-- -- Programs ---------------------------------------------------------------------------
-- build(name) compiles spec/lua/NAME.c once; returns { path, syms } with
-- syms the t_*/d_* symbols of `nm` (address by name).
local built = {}
local function build(name, ...)
  if built[name] then return built[name] end
  local out = tmp .. "/" .. name
  h.gcc(out, "-O2", "-no-pie", "-fno-pie", D .. name .. ".c", ...)
  local syms, p = {}, assert(io.popen("nm " .. out))
  for line in p:lines() do
    local addr, sym = line:match("^(%x+) %a ([td]_[%w_]+)$")
    if addr then syms[sym] = tonumber(addr, 16) end
  end
  p:close()
  built[name] = { path = out, syms = syms }
  return built[name]
end

local function ops() return build("bb_ops") end

-- The program's stdout when run natively (memoized).
local natives = {}
local function native(p, args)
  local key = p.path .. " " .. table.concat(args or {}, " ")
  if not natives[key] then
    local out = os.tmpname()
    local words = { h.quote(p.path) }
    for _, a in ipairs(args or {}) do words[#words + 1] = h.quote(a) end
    assert.equal(0, sh(table.concat(words, " ") .. " >" .. out .. " 2>/dev/null </dev/null"))
    natives[key] = h.slurp(out)
    os.remove(out)
  end
  return natives[key]
end

-- Both the native run and the run under lurk (r) print want.
local function same(r, p, args, want)
  assert.equal(want, native(p, args))
  assert.equal(want, r.stdout)
end

-- A script file for program p: line 1 defines S (label -> address), N
-- (address -> its shortest label), at(bb, label) (the app index of the
-- instruction at that label, or nil), len(bb) (counted with bb[i]) and
-- hex(x); body starts on line 2.
local PRELUDE = "local N = {} for k, v in pairs(S) do if not N[v] or #k < #N[v] then N[v] = k end end " ..
  "local function at(bb, n) local i = 1 while bb[i] do if bb[i].pc == S[n] then return i end i = i + 1 end end " ..
  "local function len(bb) local i = 0 while bb[i + 1] do i = i + 1 end return i end " ..
  "local function hex(x) return string.format('0x%x', x) end"

local nscripts = 0
local function script(p, body)
  local t = {}
  for k, v in pairs(p.syms) do t[#t + 1] = string.format("%s=0x%x", k, v) end
  table.sort(t)
  nscripts = nscripts + 1
  local path = string.format("%s/script%d.lua", tmp, nscripts)
  local f = assert(io.open(path, "w"))
  f:write("local S = {" .. table.concat(t, ",") .. "} " .. PRELUDE .. "\n" .. body)
  f:close()
  return path
end

-- Run program p (args) under lurk with the script body; r.script is its path.
local function run(p, body, args)
  local path = script(p, body)
  local words = { path, "--", p.path }
  for _, a in ipairs(args or {}) do words[#words + 1] = a end
  local r = h.run(words)
  r.script = path
  return r
end

-- The file line of the body line holding `marker` (body line k is line k + 1).
local function line_of(body, marker)
  local k = 0
  for l in (body .. "\n"):gmatch("([^\n]*)\n") do
    k = k + 1
    if l:find(marker, 1, true) then return k + 1 end
  end
  error("no marker " .. marker)
end

local function esc(s) return (s:gsub("%p", "%%%0")) end

-- -- The block ---------------------------------------------------------------------------

describe("bb event: the block", function()
  it("gives bb.pc and the app instructions bb[i] (pc, mnemonic, text), nil out of range", function()
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        if not at(bb, "t_block_2") then return end
        print(N[bb.pc], bb[0], bb[5], bb[-1])
        for i = 1, 4 do
          local ins = bb[i]
          local again = lurk.decode(lurk.read(ins.pc, ins.length), ins.pc)
          print(i, N[ins.pc], ins.mnemonic, ins.text, ins.length, ins == again)
        end
      end)]], { "block" })
    assert.equal(0, r.status)
    same(r, p, { "block" }, "block 15\n")
    assert.equal("t_block\tnil\tnil\tnil\n" ..
                 "1\tt_block\tmov\tmov eax, 0x1\t5\ttrue\n" ..
                 "2\tt_block_2\tadd\tadd eax, 0x2\t3\ttrue\n" ..
                 "3\tt_block_3\timul\timul eax, eax, 0x5\t3\ttrue\n" ..
                 "4\tt_block_4\tret\tret\t1\ttrue\n", r.stderr)
  end)

  it("gives #bb, the number of app instructions", function()
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        if at(bb, "t_block_2") then print(#bb, len(bb)) end
      end)]], { "block" })
    assert.equal(0, r.status)
    same(r, p, { "block" }, "block 15\n")
    assert.equal("4\t4\n", r.stderr)
  end)

  it("tostring(bb) and tostring(ctx) name the pc like insns do", function()
    local p = ops()
    local r = run(p, [[
      local saved
      lurk.on("bb", function(bb)
        local i = at(bb, "t_block_2")
        if not i then return end
        saved = bb
        print(tostring(bb) == string.format("<bb 0x%x, 4 instructions>", S.t_block), tostring(bb))
        bb:call_before(i, function(ctx)
          print(tostring(ctx) == string.format("<ctx thread %d at 0x%x>", lurk.tid(), S.t_block_2), tostring(ctx))
        end)
      end)
      lurk.on("exit", function() print(tostring(saved)) end)]], { "block" })
    assert.equal(0, r.status)
    same(r, p, { "block" }, "block 15\n")
    assert.matches("^true\t<bb 0x%x+, 4 instructions>\ntrue\t<ctx thread %d+ at 0x%x+>\n<bb %(expired%)>\n$", r.stderr)
  end)

  it("bb:insns() gives app and meta instructions in emission order, with kind and app index; a meta one has the pc it was inserted at", function()
    -- mov eax,7; [after 1: add eax,100]; [before 2: imul eax,eax,3; sub eax,1];
    -- add eax,5; [after 2: xor eax,0x1000]; ret  =>  ((7+100)*3-1+5) xor 0x1000 = 4421
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_edit_2")
        if not i then return end
        bb:insert_before(i, lurk.decode("\107\192\3"))          -- imul eax, eax, 3
        bb:call_before(i, function() end)                       -- calls are not listed
        bb:insert_before(bb[i], lurk.decode("\131\232\1"))      -- sub eax, 1
        bb:insert_after(i, lurk.decode("\53\0\16\0\0"))         -- xor eax, 0x1000
        bb:insert_after(i - 1, lurk.decode("\131\192\100"))     -- add eax, 100
        for ins, kind, k in bb:insns() do
          print(kind, k, ins.text, kind == "app" and N[ins.pc] or "at " .. N[ins.pc])
        end
      end)]], { "edit" })
    assert.equal(0, r.status)
    assert.equal("edit 12\n", native(p, { "edit" }))
    assert.equal("edit 4421\n", r.stdout)
    assert.equal("app\t1\tmov eax, 0x7\tt_edit\n" ..
                 "meta\t1\tadd eax, 0x64\tat t_edit\n" ..
                 "meta\t2\timul eax, eax, 0x3\tat t_edit_2\n" ..
                 "meta\t2\tsub eax, 0x1\tat t_edit_2\n" ..
                 "app\t2\tadd eax, 0x5\tt_edit_2\n" ..
                 "meta\t2\txor eax, 0x1000\tat t_edit_2\n" ..
                 "app\t3\tret\tt_edit_3\n", r.stderr)
  end)

  it("emits calls and meta instructions at one place in the order they were planned", function()
    -- at add eax,5 (eax = 7): call f, add eax,100, call g | add | call k, imul eax,eax,2, call m
    local p = ops()
    local r = run(p, [[
      local log = {}
      local function rec(tag) return function(ctx, v) log[#log + 1] = tag .. "=" .. v end end
      lurk.on("bb", function(bb)
        local i = at(bb, "t_edit_2")
        if not i then return end
        bb:call_before(i, rec("f"), "eax")
        bb:call_after(i, rec("k"), "eax")
        bb:insert_before(i, lurk.decode("\131\192\100"))        -- add eax, 100
        bb:call_before(i, rec("g"), "eax")
        bb:insert_after(i, lurk.decode("\107\192\2"))           -- imul eax, eax, 2
        bb:call_after(i, rec("m"), "eax")
      end)
      lurk.on("exit", function() print(table.concat(log, " ")) end)]], { "edit" })
    assert.equal(0, r.status)
    assert.equal("edit 12\n", native(p, { "edit" }))
    assert.equal("edit 224\n", r.stdout)
    assert.equal("f=7 g=107 k=112 m=224\n", r.stderr)
  end)

  it("insert_before/insert_after: the program sees the meta instruction's effect", function()
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_edit_3")                            -- ret
        if i then bb:insert_before(i, lurk.decode("\72\131\192\1")) end   -- add rax, 1
        i = at(bb, "t_edit")                                    -- mov eax, 7
        if i then bb:insert_after(i, lurk.decode("\255\192")) end         -- inc eax
      end)]], { "edit" })
    assert.equal(0, r.status)
    assert.equal("edit 12\n", native(p, { "edit" }))
    assert.equal("edit 14\n", r.stdout)
    assert.equal("", r.stderr)
  end)

  it("rejects meta instructions that branch, are rip-relative or syscalls, and edits after a branch", function()
    local p = ops()
    local r = run(p, [[
      local done
      lurk.on("bb", function(bb)
        local i = at(bb, "t_block_4")                           -- ret
        if not i or done then return end
        done = true
        local function try(f) local ok, e = pcall(f) print(ok, (tostring(e):gsub("^[^:]*:%d+: ", ""))) end
        -- (rip-relative ones are accepted: spec/asm_spec.lua)
        for _, hexb in ipairs { "\235\254", "\116\0", "\232\0\0\0\0", "\195", "\255\224",
                                "\255\37\0\0\0\0", "\15\5", "\226\254" } do
          try(function() bb:insert_before(1, lurk.decode(hexb)) end)
        end
        try(function() bb:insert_after(1, lurk.decode("\15\5")) end)
        try(function() bb:replace(1, lurk.decode("\15\5")) end)                  -- syscall
        try(function() bb:insert_after(i, lurk.decode("\144")) end)
        try(function() bb:insert_before(i, lurk.decode("\144")) end)
        try(function() bb:insert_before(1, "nop") end)
      end)]], { "block" })
    assert.equal(0, r.status)
    same(r, p, { "block" }, "block 15\n")
    local meta = "false\tbad argument #2 to '%s' (a meta instruction cannot branch or be a syscall)\n"
    assert.equal(string.rep(meta:format("insert_before"), 8) .. meta:format("insert_after") ..
                 meta:format("replace") ..
                 "false\tbad argument #1 to 'insert_after' (nothing runs after a branch or syscall in its block)\n" ..
                 "true\tnil\n" ..
                 "false\tbad argument #2 to 'insert_before' (lurk.insn expected, got string)\n", r.stderr)
  end)

  it("remove: the app instruction does not run, calls before and after it do", function()
    local p = ops()
    local body = [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_edit_2")                            -- add eax, 5
        if not i then return end
        bb:call_before(i, function(ctx, v) print("before", v) end, "eax")
        bb:remove(i)
        bb:call_after(i, function(ctx, v) print("after", v) end, "eax")
        for ins, kind, k in bb:insns() do print(kind, k, N[ins.pc]) end
        print(pcall(function() bb:remove(i + 1) end)) -- RET
      end)]]
    local r = run(p, body, { "edit" })
    assert.equal(0, r.status)
    assert.equal("edit 12\n", native(p, { "edit" }))
    assert.equal("edit 7\n", r.stdout)
    assert.equal("app\t1\tt_edit\napp\t3\tt_edit_3\n" ..
                 "false\t" .. r.script .. ":" .. line_of(body, "RET") ..
                 ": bad argument #1 to 'remove' (a branch or syscall cannot be removed)\n" ..
                 "before\t7\nafter\t7\n", r.stderr)
  end)

  it("replace: another instruction runs instead", function()
    local p = ops()
    local body = [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_edit_2")
        if not i then return end
        bb:replace(i, lurk.decode("\131\232\2"))                -- sub eax, 2
        for ins, kind, k in bb:insns() do print(kind, k, ins.text) end
        print(pcall(function() bb:replace(i + 1, lurk.decode("\144")) end)) -- RET
      end)]]
    local r = run(p, body, { "edit" })
    assert.equal(0, r.status)
    assert.equal("edit 12\n", native(p, { "edit" }))
    assert.equal("edit 5\n", r.stdout)
    assert.equal("app\t1\tmov eax, 0x7\nmeta\t2\tsub eax, 0x2\napp\t3\tret\n" ..
                 "false\t" .. r.script .. ":" .. line_of(body, "RET") ..
                 ": bad argument #1 to 'replace' (a branch or syscall cannot be replaced)\n",
                 r.stderr)
  end)

  it("ins:clone() is an independent copy: equal by ==, outlives the event, names its app instruction", function()
    local p = ops()
    local r = run(p, [[
      local keep
      lurk.on("bb", function(bb)
        local i = at(bb, "t_edit_2")
        if not i then return end
        local c = bb[i]:clone()
        keep = c
        print(c == bb[i], rawequal(c, bb[i]), c == bb[i - 1], c ~= bb[i + 1], type(c))
        bb:insert_after(i, c)                                   -- add eax, 5 once more
        bb:call_before(bb[i + 1]:clone(), function(ctx, pc, v) print(N[pc], v) end, "pc", "eax")
      end)
      lurk.on("exit", function() print(keep.text, N[keep.pc], keep.mnemonic) end)]], { "edit" })
    assert.equal(0, r.status)
    assert.equal("edit 12\n", native(p, { "edit" }))
    assert.equal("edit 17\n", r.stdout)
    assert.equal("true\tfalse\tfalse\ttrue\tuserdata\nt_edit_3\t17\nadd eax, 0x5\tt_edit_2\tadd\n", r.stderr)
  end)
end)

-- -- Clean calls ------------------------------------------------------------------------------

describe("clean calls", function()
  it("call_before and call_after run exactly once per execution (a loop of 1000 trips)", function()
    local p = ops()
    local r = run(p, [[
      local c = {}
      local function count(tag) return function(ctx, v) local t = c[tag] or { n = 0, sum = 0 } c[tag] = t
        t.n = t.n + 1 t.sum = t.sum + v end end
      lurk.on("bb", function(bb)
        local i = at(bb, "t_loop_body")
        if i then
          bb:call_before(i, count("body<"), "rax")
          bb:call_after(i, count("body>"), "rax")
          bb:call_after(i + 1, count("dec>"), "rdi")
          bb:call_before(i + 2, count("jnz<"), "rdi")
        end
        i = at(bb, "t_loop")
        if i then bb:call_before(i, count("entry"), "rdi") end
        i = at(bb, "t_loop_ret")
        if i then bb:call_before(i, count("ret"), "rax") end
      end)
      lurk.on("exit", function()
        for _, k in ipairs { "entry", "body<", "body>", "dec>", "jnz<", "ret" } do
          print(k, c[k].n, string.format("%.0f", c[k].sum))
        end
      end)]], { "loop", "1000" })
    assert.equal(0, r.status)
    same(r, p, { "loop", "1000" }, "loop 3000\n")
    -- before the add rax sees 0, 3, ..., 2997; after it 3, ..., 3000; rdi counts down
    assert.equal("entry\t1\t1000\nbody<\t1000\t1498500\nbody>\t1000\t1501500\n" ..
                 "dec>\t1000\t499500\njnz<\t1000\t499500\nret\t1\t3000\n", r.stderr)
  end)

  it("runs several calls at one instruction in order: befores, the instruction, afters", function()
    local p = ops()
    local r = run(p, [[
      local log = {}
      local function f(ctx, tag, v) log[#log + 1] = string.char(tag) .. v end
      lurk.on("bb", function(bb)
        local i = at(bb, "t_block_3")                           -- imul eax, eax, 5 (eax = 3)
        if not i then return end
        bb:call_before(i, f, 65, "eax")
        bb:call_after(i, f, 67, "eax")
        bb:call_before(i, f, 66, "eax")
        bb:call_after(i, f, 68, "eax")
        bb:call_before(i, f, 69, "eax")
      end)
      lurk.on("exit", function() print(table.concat(log, " ")) end)]], { "block" })
    assert.equal(0, r.status)
    same(r, p, { "block" }, "block 15\n")
    assert.equal("A3 B3 E3 C15 D15\n", r.stderr)
  end)

  it("run before a syscall with its number and arguments in the registers", function()
    local p = ops()
    local r = run(p, [[
      local writes = {}
      lurk.on("bb", function(bb)
        local last = bb[len(bb)]
        if last.is_syscall then
          bb:call_before(len(bb), function(ctx, nr, fd, buf, n)
            if nr == 1 then writes[#writes + 1] = fd .. " " .. lurk.read(buf, n):gsub("\n", "|") end
          end, "rax", "rdi", "rsi", "rdx")
        end
      end)
      lurk.on("exit", function() print(table.concat(writes, ",")) end)]], { "nop" })
    assert.equal(0, r.status)
    same(r, p, { "nop" }, "nop\n")
    assert.equal("1 nop|\n", r.stderr)
  end)

  it("leave the app's registers, flags (DF set too), SSE/AVX registers and red zone as they were", function()
    -- the handler does work that uses xmm registers, memcpy and the GC
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        for _, label in ipairs { "t_keep_n", "t_keep_avx_n" } do
          local i = at(bb, label)
          if i then
            bb:call_before(i, function(ctx)
              local t = {}
              for k = 1, 300 do t[k] = string.format("%d %.3f", k, math.sin(k) * 1e3) end
              local s = table.concat(t, ","):rep(8)
              collectgarbage()
              if label == "t_keep_n" then
                local regs = {}
                for _, name in ipairs { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10",
                                        "r11", "r12", "r13", "r14", "r15" } do
                  regs[#regs + 1] = string.format("%x", ctx[name])
                end
                print(table.concat(regs, " "), hex(bit.band(ctx.rflags, 0xcd5)), #s > 10000)
              end
            end)
          end
        end
      end)]], { "keep" })
    assert.equal(0, r.status)
    same(r, p, { "keep" }, "flags 0xc45\nred zone 0x1001 0x100f\nkeep 0 bad\n")
    assert.equal("1001 1002 1003 1004 1005 1006 1007 1008 1009 100a 100b 100c 100d 100e 100f\t0xc45\ttrue\n",
                 r.stderr)
  end)

  it("refuses call_after on a branch or a syscall", function()
    local p = ops()
    local r = run(p, [[
      local seen = {}
      lurk.on("bb", function(bb)
        local last = bb[len(bb)]
        local kind = last.is_syscall and "syscall" or last.is_ret and "ret" or last.is_call and "call"
          or last.is_cbr and "jcc" or last.is_branch and "jmp"
        if not kind or seen[kind] then return end
        seen[kind] = true
        local ok, e = pcall(function() bb:call_after(len(bb), function() end) end)
        seen[#seen + 1] = kind .. " " .. tostring(ok) .. " " .. e:gsub("^[^:]*:%d+: ", "")
      end)
      lurk.on("exit", function() table.sort(seen) print(table.concat(seen, "\n")) end)]], { "branch" })
    assert.equal(0, r.status)
    same(r, p, { "branch" }, "branch done\n")
    local msg = " false bad argument #1 to 'call_after' (nothing runs after a branch or syscall in its block)\n"
    assert.equal("call" .. msg .. "jcc" .. msg .. "jmp" .. msg .. "ret" .. msg .. "syscall" .. msg, r.stderr)
  end)
end)

-- -- Arguments -----------------------------------------------------------------------------

describe("clean-call arguments", function()
  it("'pc' is the instruction's address (nm's label, ins.pc, ctx.pc), before and after", function()
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        if not at(bb, "t_block_2") then return end
        for i = 1, 4 do
          local ins = bb[i]
          bb:call_before(i, function(ctx, pc) print("before", N[pc], pc == ins.pc, ctx.pc == pc) end, "pc")
          if i < 4 then
            bb:call_after(i, function(ctx, pc) print("after", N[pc], ctx.pc == pc) end, "pc")
          end
        end
      end)]], { "block" })
    assert.equal(0, r.status)
    same(r, p, { "block" }, "block 15\n")
    assert.equal("before\tt_block\ttrue\ttrue\nafter\tt_block\ttrue\n" ..
                 "before\tt_block_2\ttrue\ttrue\nafter\tt_block_2\ttrue\n" ..
                 "before\tt_block_3\ttrue\ttrue\nafter\tt_block_3\ttrue\n" ..
                 "before\tt_block_4\ttrue\ttrue\n", r.stderr)
  end)

  it("passes constants (negative and large ones too), up to 7 arguments", function()
    local p = ops()
    local r = run(p, [[
      local function show(ctx, ...)
        local t = { select("#", ...) }
        for k = 1, select("#", ...) do t[#t + 1] = string.format("%.0f", (select(k, ...))) end
        print(table.concat(t, " "))
      end
      lurk.on("bb", function(bb)
        local i = at(bb, "t_nop_n")
        if not i then return end
        bb:call_before(i, show, 0, 1, -1, -5, 2^40, 2^53, -2^53)
        bb:call_before(i, show, -123456789, 4294967296)
        bb:call_before(i, show)
      end)]], { "nop" })
    assert.equal(0, r.status)
    same(r, p, { "nop" }, "nop\n")
    assert.equal("7 0 1 -1 -5 1099511627776 9007199254740992 -9007199254740992\n" ..
                 "2 -123456789 4294967296\n0\n", r.stderr)
  end)

  it("passes registers at 64, 32, 16 and 8 bits (low and high byte) and rflags", function()
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_regs_probe")
        if not i then return end
        bb:call_before(i, function(ctx, ...)
          local t = {}
          for k = 1, select("#", ...) do t[k] = hex((select(k, ...))) end
          print(table.concat(t, " "))
        end, "rax", "eax", "ax", "al", "ah", "r12", "r12d")
        bb:call_before(i, function(ctx, a, b, c, d, e) print(hex(a), hex(b), hex(c), hex(d), hex(e)) end,
                       "r12w", "r12b", "ebx", "bx", "bl")
        bb:call_before(i, function(ctx, f) print(string.format("rflags 0x%x", f)) end, "rflags")
      end)]], { "regs" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "regs" }), r.stdout)
    assert.equal("0x11223344556677 0x44556677 0x6677 0x77 0x66 0xfedcba9876543 0xa9876543\n" ..
                 "0x6543\t0x43\t0xfffffffb\t0xfffb\t0xfb\n" .. r.stdout, r.stderr)
  end)

  it("'ea' and 'size': indexed, rip-relative (before and after), fs and rsp operands, 1 to 16 bytes", function()
    local p = ops()
    local r = run(p, [[
      local names = { t_mem_idx = "idx", t_mem_rip = "rip", t_mem_fs = "fs", t_mem_rsp = "rsp",
                      t_mem_w = "w", t_mem_b = "b", t_mem_x = "x" }
      local sizes = {}
      lurk.on("bb", function(bb)
        for label, name in pairs(names) do
          local i = at(bb, label)
          if i then
            bb:call_before(i, function(ctx, ea, size)
              print(name .. " " .. hex(ea))
              sizes[#sizes + 1] = name .. "=" .. size
              if name == "rsp" then print("ctx.rsp", ctx.rsp == ea) end
              if name == "idx" then print("value", lurk.read(ea, 4):byte(1)) end
            end, "ea", "size")
          end
        end
        local i = at(bb, "t_mem_rip")
        if i then bb:call_after(i, function(ctx, ea, v) print("rip after", ea == S.d_gvar, v) end, "ea", "edx") end
      end)
      lurk.on("exit", function() print(table.concat(sizes, " ")) end)]], { "mem" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "mem" }):gsub("0x%x+", "ADDR"), (r.stdout:gsub("0x%x+", "ADDR")))
    local got = {}
    for _, name in ipairs { "idx", "rip", "fs", "rsp", "w", "b", "x" } do
      got[name] = assert(r.stdout:match("\n(" .. name .. " 0x%x+)\n"), name)
    end
    assert.equal(string.format("rip 0x%x", p.syms.d_gvar), got.rip)
    assert.equal(got.idx .. "\nvalue\t105\n" .. got.rip .. "\nrip after\ttrue\t5\n" .. got.fs .. "\n" ..
                 got.rsp .. "\nctx.rsp\ttrue\n" .. got.w .. "\n" .. got.b .. "\n" .. got.x ..
                 "\nidx=4 rip=4 fs=8 rsp=8 w=2 b=1 x=16\n", r.stderr)
  end)

  it("'ea'/'ea2' and 'size'/'size2' of an instruction with two memory operands (movsq)", function()
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_mem_movs")
        if not i then return end
        bb:call_before(i, function(ctx, dst, src, s1, s2, rdi, rsi)
          print(string.format("movs 0x%x 0x%x", dst, src), s1, s2, dst == rdi, src == rsi)
        end, "ea", "ea2", "size", "size2", "rdi", "rsi")
      end)]], { "mem" })
    assert.equal(0, r.status, r.stderr)
    assert.equal(native(p, { "mem" }):gsub("0x%x+", "ADDR"), (r.stdout:gsub("0x%x+", "ADDR")))
    local movs = assert(r.stdout:match("\n(movs 0x%x+ 0x%x+)\n"))
    assert.equal(movs .. "\t8\t8\ttrue\ttrue\n", r.stderr)
  end)

  it("'target' of direct and indirect jmp and call (register, memory, stack) and of ret", function()
    local p = ops()
    local r = run(p, [[
      local labels = { "t_br_jreg", "t_br_jmem", "t_br_call", "t_br_creg", "t_br_cmem", "t_br_cstk",
                       "t_br_jmp", "t_f_ret", "t_g_ret" }
      local log = {}
      lurk.on("bb", function(bb)
        for _, label in ipairs(labels) do
          local i = at(bb, label)
          if i then
            bb:call_before(i, function(ctx, target, pc)
              log[#log + 1] = label .. ">" .. (N[target] or hex(target)) .. (pc == S[label] and "" or "!")
            end, "target", "pc")
          end
        end
      end)
      lurk.on("exit", function() print(table.concat(log, " ")) end)]], { "branch" })
    assert.equal(0, r.status)
    same(r, p, { "branch" }, "branch done\n")
    assert.equal("t_br_jreg>t_br_1 t_br_jmem>t_br_2 t_br_call>t_f t_f_ret>t_br_3 t_br_creg>t_f " ..
                 "t_f_ret>t_br_4 t_br_cmem>t_g t_g_ret>t_br_5 t_br_cstk>t_g t_g_ret>t_br_6 " ..
                 "t_br_jmp>t_br_7\n", r.stderr)
  end)

  it("'taken' of jcc: every condition over signed, unsigned, overflow and parity cases", function()
    local p = ops()
    local r = run(p, [[
      local conds = { "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g" }
      local n, seen = {}, {}
      lurk.on("bb", function(bb)
        for _, c in ipairs(conds) do
          local i = at(bb, "t_j" .. c)
          if i then
            bb:call_before(i, function(ctx, t)
              n[c] = (n[c] or 0) + t
              seen[c] = (seen[c] or 0) + 1
            end, "taken")
          end
        end
      end)
      lurk.on("exit", function()
        for _, c in ipairs(conds) do print(string.format("j%s %d", c, n[c])) end
        for _, c in ipairs(conds) do assert(seen[c] == 12, c) end
      end)]], { "cond" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "cond" }), r.stdout)
    -- every condition is taken for some pairs and not for others
    for c, k in r.stdout:gmatch("j(%a+) (%d+)") do
      assert.is_true(tonumber(k) > 0 and tonumber(k) < 12, c)
    end
    assert.equal(r.stdout, r.stderr)
  end)

  it("'taken' of jrcxz, jecxz, loop, loope, loopne and an addr32 loop", function()
    local p = ops()
    local r = run(p, [[
      local labels = { "t_jrcxz_j", "t_jecxz_j", "t_loop_j", "t_loopne_j", "t_loope_j", "t_aloop_j" }
      local yes, no = {}, {}
      lurk.on("bb", function(bb)
        for _, label in ipairs(labels) do
          local i = at(bb, label)
          if i then
            bb:call_before(i, function(ctx, t)
              if t == 1 then yes[label] = (yes[label] or 0) + 1 else no[label] = (no[label] or 0) + 1 end
            end, "taken")
          end
        end
      end)
      lurk.on("exit", function()
        for _, l in ipairs(labels) do print(l, yes[l] or 0, no[l] or 0) end
      end)]], { "cx" })
    assert.equal(0, r.status)
    same(r, p, { "cx" }, "jrcxz 1 0 0\njecxz 1 0\nloops 18\n")
    assert.equal("t_jrcxz_j\t1\t2\nt_jecxz_j\t1\t1\nt_loop_j\t4\t1\nt_loopne_j\t2\t1\n" ..
                 "t_loope_j\t7\t1\nt_aloop_j\t1\t1\n", r.stderr)
  end)

  it("'count' is the block's app instruction count (sums to the instructions run)", function()
    local p = ops()
    local r = run(p, [[
      local total, bad = 0, 0
      lurk.on("bb", function(bb)
        if bb.pc < S.t_loop or bb.pc > S.t_loop_ret then return end
        local n = len(bb)
        bb:call_before(1, function(ctx, c) total = total + c if c ~= n then bad = bad + 1 end end, "count")
      end)
      lurk.on("exit", function() print(total, bad) end)]], { "loop", "1000" })
    assert.equal(0, r.status)
    same(r, p, { "loop", "1000" }, "loop 3000\n")
    -- xor, then 1000 x (add, dec, jnz), then ret
    assert.equal("3002\t0\n", r.stderr)
  end)
end)

-- -- The context ----------------------------------------------------------------------------

describe("the context object", function()
  it("reads registers, ctx.pc and ctx.tid", function()
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_regs_probe")
        if not i then return end
        bb:call_before(i, function(ctx)
          print(hex(ctx.rax), hex(ctx.eax), hex(ctx.al), hex(ctx.ah), hex(ctx.r12), hex(ctx.r12d), hex(ctx.ebx))
          print(N[ctx.pc], ctx.tid == lurk.tid(), ctx.tid == lurk.pid(), string.format("rflags 0x%x", ctx.rflags))
        end)
      end)]], { "regs" })
    assert.equal(0, r.status)
    assert.equal(native(p, { "regs" }), r.stdout)
    assert.equal("0x11223344556677\t0x44556677\t0x77\t0x66\t0xfedcba9876543\t0xa9876543\t0xfffffffb\n" ..
                 "t_regs_probe\ttrue\ttrue\t" .. r.stdout, r.stderr)
  end)

  it("writes registers: the program sees them (before and after an instruction, negative values)", function()
    local p = ops()
    -- t_ret: lea rax, [rdi+5]; ret -- with rdi = 10
    local body = [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_ret")
        if not i then return end
        bb:call_before(i, function(ctx) ctx.rdi = 100 end)
        bb:call_after(i, function(ctx) ctx.rax = ctx.rax + 1000 end)
        bb:call_before(i + 1, function(ctx) ctx.rax = VALUE end)
      end)]]
    local r = run(p, body:gsub("VALUE", "ctx.rax * 2"), { "ret" })
    assert.equal(0, r.status)
    assert.equal("ret 15\n", native(p, { "ret" }))
    assert.equal("ret 2210\n", r.stdout)
    r = run(p, body:gsub("VALUE", "-1"), { "ret" })
    assert.equal(0, r.status)
    assert.equal("ret -1\n", r.stdout)
  end)

  it("writes rflags: clearing ZF before jz changes the branch", function()
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_flags_jz")
        if not i then return end
        bb:call_before(i, function(ctx, taken)
          print(taken, bit.band(ctx.rflags, 0x40))
          ctx.rflags = bit.band(ctx.rflags, bit.bnot(0x40))
        end, "taken")
      end)]], { "flags" })
    assert.equal(0, r.status)
    assert.equal("flags 0\n", native(p, { "flags" }))
    assert.equal("flags 1\n", r.stdout)
    assert.equal("1\t64\n", r.stderr)
  end)

  it("refuses other registers and names, and use outside a clean call", function()
    local p = ops()
    local body = [[
      local saved
      lurk.on("bb", function(bb)
        local i = at(bb, "t_nop_n")
        if not i then return end
        bb:call_before(i, function(ctx)
          saved = ctx
          local function try(f) local ok, e = pcall(f) print(ok, (tostring(e):gsub("^[^:]*:%d+: ", ""))) end
          try(function() ctx.rsp = 0 end)
          try(function() ctx.eax = 0 end)
          try(function() ctx.rip = 1.5 end)
          try(function() return ctx.nope end)
          try(function() return ctx.zmm0 end)
          try(function() ctx.rax = "x" end)
          try(function() ctx.xmm0 = "short" end)
        end)
      end)
      lurk.on("exit", function() print(pcall(function() return saved.rax end)) end) -- LATER
    ]]
    local r = run(p, body, { "nop" })
    assert.equal(0, r.status)
    same(r, p, { "nop" }, "nop\n")
    local regs = " (general registers, rflags, pc, xmm0-15, ymm0-15)\n"
    assert.equal("false\tcannot set rsp to 0x0 (the stack below it is not writable)\n" ..
                 "false\tcannot set 'eax' (64-bit general registers, rflags, pc, xmm0-15, ymm0-15)\n" ..
                 "false\tbad argument to ctx.rip (integer expected (a number or a 64-bit cdata), got 1.5)\n" ..
                 "false\tcontext has no register 'nope'" .. regs ..
                 "false\tcontext has no register 'zmm0'" .. regs ..
                 "false\tbad argument to ctx.rax (integer expected (a number or a 64-bit cdata), got string)\n" ..
                 "false\tbad argument to ctx.xmm0 (a string of 16 bytes expected, got 5 bytes)\n" ..
                 "false\t" .. r.script .. ":" .. line_of(body, "LATER") ..
                 ": the context is only valid inside a clean call\n", r.stderr)
  end)
end)

-- -- Memory ---------------------------------------------------------------------------------

describe("lurk.read and lurk.write in a clean call", function()
  it("read the operand the instruction loads and change it; bad addresses give nil, msg / raise", function()
    local p = ops()
    local r = run(p, [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_load_ld")
        if not i then return end
        bb:call_before(i, function(ctx, ea, size)
          local s = lurk.read(ea, size)
          print(#s, s:byte(1, -1))
          print("x at " .. hex(ea))
          lurk.write(ea, "\42\0\0\0")
          print(lurk.read(8, 4))
          local ok, e = pcall(lurk.write, S.t_nop, "\144")
          print(ok, e:match("^cannot write 1 bytes at 0x") ~= nil)
        end, "ea", "size")
      end)]], { "load" })
    assert.equal(0, r.status)
    local addr = assert(r.stdout:match(" at (0x%x+)\n"))
    assert.equal("load 7 x 7 at " .. addr .. "\n", native(p, { "load" }))
    assert.equal("load 42 x 42 at " .. addr .. "\n", r.stdout)
    assert.matches("^4\t7\t0\t0\t0\nx at " .. addr .. "\nnil\tcannot read 4 bytes at 0x8\nfalse\t", r.stderr)
    assert.matches("\nfalse\ttrue\n$", r.stderr)
  end)

  it("a write to an unmapped address ends the run with the message and a traceback", function()
    local p = ops()
    local body = [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_nop_n")
        if not i then return end
        bb:call_before(i, function(ctx)
          lurk.write(8, "abcd") -- WRITE
          print("not reached")
        end)
      end)]]
    local r = run(p, body, { "nop" })
    assert.equal(1, r.status)
    assert.equal("", r.stdout)
    local at = r.script .. ":" .. line_of(body, "WRITE") .. ": "
    assert.matches("^lurk: error in a clean call: " .. esc(at) .. "cannot write 4 bytes at 0x[0x]*8\n" ..
                   "stack traceback:\n", r.stderr)
    -- (the message as lurk.read gives it: "cannot read 4 bytes at 0x8")
    assert.not_matches("not reached", r.stderr)
    assert.matches("^lurk: error in a clean call: " .. esc(at) .. "cannot write 4 bytes at 0x8\n", r.stderr)
  end)
end)

-- -- Errors ---------------------------------------------------------------------------------

describe("errors", function()
  it("an error in a clean-call handler ends the run with file:line and a traceback", function()
    local p = ops()
    local body = [[
      local function deep() error("boom in a call") end -- DEEP
      lurk.on("bb", function(bb)
        local i = at(bb, "t_block_2")
        if i then bb:call_before(i, function(ctx) deep() end) end -- CALL
      end)]]
    local r = run(p, body, { "block" })
    assert.equal(1, r.status)
    assert.equal("", r.stdout)
    local f = esc(r.script)
    assert.matches("^lurk: error in a clean call: " .. f .. ":" .. line_of(body, "DEEP") ..
                   ": boom in a call\nstack traceback:\n", r.stderr)
    assert.matches("\n\t" .. f .. ":" .. line_of(body, "CALL") .. ": in function <" .. f .. ":" ..
                   line_of(body, "CALL") .. ">", r.stderr)
  end)

  it("an error in a bb handler ends the run with file:line and a traceback", function()
    local p = ops()
    local body = [[
      lurk.on("bb", function(bb)
        if at(bb, "t_block_2") then error("boom in bb") end -- BB
      end)]]
    local r = run(p, body, { "block" })
    assert.equal(1, r.status)
    assert.equal("", r.stdout)
    local f = esc(r.script)
    assert.matches("^lurk: error in a 'bb' handler: " .. f .. ":" .. line_of(body, "BB") ..
                   ": boom in bb\nstack traceback:\n", r.stderr)
    assert.matches("\n\t" .. f .. ":" .. line_of(body, "BB") .. ": in function <" .. f .. ":", r.stderr)
  end)

  it("os.exit in a clean call ends the run at once with the exit handlers", function()
    local p = ops()
    local r = run(p, [[
      lurk.on("exit", function(e) print("exit", e.status) end)
      lurk.on("bb", function(bb)
        local i = at(bb, "t_nop_n")
        if i then bb:call_before(i, function() os.exit(7) end) end
      end)]], { "nop" })
    assert.equal(7, r.status)
    assert.equal("", r.stdout)
    assert.equal("exit\t7\n", r.stderr)
  end)

  it("bad arguments: instruction index, handler, argument specs, too many arguments", function()
    local p = ops()
    local r = run(p, [[
      local done
      lurk.on("bb", function(bb)
        local i = at(bb, "t_block_2")
        if not i or done then return end
        done = true
        local function try(f) local ok, e = pcall(f) print(ok, (tostring(e):gsub("^[^:]*:%d+: ", ""))) end
        local f = function() end
        try(function() bb:call_before(0, f) end)
        try(function() bb:call_after(5, f) end)
        try(function() bb:insert_before(-1, lurk.decode("\144")) end)
        try(function() bb:call_before(lurk.decode("\144"), f) end)
        try(function() bb:remove("x") end)
        try(function() bb:call_before(1, 5) end)
        try(function() bb:call_before(1, f, "bogus") end)
        try(function() bb:call_before(1, f, "pc", {}) end)
        try(function() bb:call_before(1, f, "taken") end)
        try(function() bb:call_before(1, f, "target") end)
        try(function() bb:call_before(1, f, "ea") end)
        try(function() bb:call_before(1, f, "size2") end)
        try(function() bb:call_before(1, f, "ea0") end)
        try(function() bb:call_before(1, f, 1, 2, 3, 4, 5, 6, 7, 8) end)
        try(function() bb.call_before(bb, 1, f, "bogus") end)
        try(function() bb:call_before(1, f, 1, 2, 3, 4, 5, 6, 7) end)
      end)]], { "block" })
    assert.equal(0, r.status)
    same(r, p, { "block" }, "block 15\n")
    assert.equal("false\tbad argument #1 to 'call_before' (no app instruction 0 in this block)\n" ..
                 "false\tbad argument #1 to 'call_after' (no app instruction 5 in this block)\n" ..
                 "false\tbad argument #1 to 'insert_before' (no app instruction -1 in this block)\n" ..
                 "false\tbad argument #1 to 'call_before' (not an app instruction of this block)\n" ..
                 "false\tbad argument #1 to 'remove' (lurk.insn expected, got string)\n" ..
                 "false\tbad argument #2 to 'call_before' (function expected, got number)\n" ..
                 "false\tbad argument #3 to 'call_before' (unknown argument 'bogus')\n" ..
                 "false\tbad argument #4 to 'call_before' (string expected, got table)\n" ..
                 "false\tbad argument #3 to 'call_before' ('taken' needs a conditional branch)\n" ..
                 "false\tbad argument #3 to 'call_before' ('target' needs a branch)\n" ..
                 "false\tbad argument #3 to 'call_before' (no memory operand 1)\n" ..
                 "false\tbad argument #3 to 'call_before' (no memory operand 2)\n" ..
                 "false\tbad argument #3 to 'call_before' (no memory operand 0)\n" ..
                 "false\ttoo many clean-call arguments (at most 7)\n" ..
                 "false\tbad argument #4 to 'call_before' (unknown argument 'bogus')\n" ..
                 "true\tnil\n", r.stderr)
  end)

  -- (the first bb event's block is kept and used from the event of t_block's
  -- block, then from the exit handler)
  local STALE = [[
      local first, done
      local function try(f) local ok, e = pcall(f) print(ok, (tostring(e):gsub("^[^:]*:%d+: ", ""))) end
      lurk.on("bb", function(bb)
        if not first then first = bb return end
        if done or not at(bb, "t_block_2") then return end
        done = true
        USE
      end)
      lurk.on("exit", function() USE end)]]

  it("bb's methods raise after its event, in a later handler and in a later bb event", function()
    local p = ops()
    local use = [[
        try(function() first:call_before(1, function() end) end)
        try(function() first:insert_before(1, lurk.decode("\144")) end)
        try(function() first:remove(1) end)
        try(function() first:insns() end)]]
    local r = run(p, (STALE:gsub("USE", use)), { "block" })
    assert.equal(0, r.status)
    same(r, p, { "block" }, "block 15\n")
    assert.equal(string.rep("false\tbb used outside its 'bb' event\n", 8), r.stderr)
  end)

  it("bb[i] raises and #bb is 0 after the event, in a later handler and in a later bb event", function()
    local p = ops()
    local use = [[
        try(function() return first[1] end)
        try(function() return #first end)
        print(first.pc ~= nil, tostring(first))]]
    local r = run(p, (STALE:gsub("USE", use)), { "block" })
    assert.equal(0, r.status)
    same(r, p, { "block" }, "block 15\n")
    -- (#bb cannot raise: bb is a table, and LuaJIT has no __len for tables)
    local twice = "false\tbb used outside its 'bb' event\ntrue\t0\ntrue\t<bb (expired)>\n"
    assert.equal(twice .. twice, r.stderr)
  end)
end)

-- -- Determinism: faults in instrumented blocks -------------------------------------------------

describe("determinism", function()
  it("a call before a faulting instruction runs once per execution; the handler sees the app state", function()
    local p = build("bb_fault")
    local r = run(p, [[
      local n = {}
      local function count(tag) return function(ctx, a) n[tag] = (n[tag] or 0) + 1
        if a == 0 then n[tag .. "0"] = (n[tag .. "0"] or 0) + 1 end end end
      -- (a block may start at any of these: lurk translates the one at the
      -- faulting pc before it delivers the signal)
      lurk.on("bb", function(bb)
        local a, ld, b = at(bb, "t_fault_a"), at(bb, "t_fault_ld"), at(bb, "t_fault_b")
        if a then
          bb:call_before(a, count("a<"), "rdi")
          bb:call_after(a, count("a>"), "rdi")
        end
        if ld then                                              -- mov rax, [rdi]: rdi = NULL every other call
          bb:call_before(ld, count("ld<"), "ea")
          bb:call_after(ld, count("ld>"), "rdi")
        end
        if b then bb:call_before(b, count("b<"), "rdi") end
      end)
      lurk.on("exit", function()
        print(n["a<"], n["a<0"], n["a>"], n["a>0"], n["ld<"], n["ld<0"], n["ld>"], n["ld>0"], n["b<"], n["b<0"])
      end)]])
    assert.equal(0, r.status)
    same(r, p, nil, "faults 50 sum 210819800\nbad rip 0 bad addr 0\nlast rbx 0x1234 rdi 0x0\n")
    assert.equal("100\t50\t100\t50\t100\t50\t50\tnil\t50\tnil\n", r.stderr)
  end)

  it("a register a call writes before a faulting instruction is in the state the handler sees", function()
    local p = build("bb_fault")
    local r = run(p, [[
      lurk.on("bb", function(bb)
        local i = at(bb, "t_fault_ld")
        if i then bb:call_before(i, function(ctx) ctx.rbx = ctx.rbx + 1 end) end
      end)]])
    assert.equal(0, r.status)
    -- sum: 50 calls that do not fault each add 1 more
    assert.equal("faults 50 sum 210819800\nbad rip 0 bad addr 0\nlast rbx 0x1234 rdi 0x0\n", native(p))
    assert.equal("faults 50 sum 210819850\nbad rip 0 bad addr 0\nlast rbx 0x1235 rdi 0x0\n", r.stdout)
  end)

  it("timer signals during clean calls: each call runs once per execution, the app never sees TF", function()
    -- SIGALRM every 50 us while a loop with a call before each of its first
    -- three instructions (pushfq; pop rdx; ...) runs; the loop adds up the
    -- trap flag it reads, the handler checks its ucontext's flags
    local p = build("bb_sig")
    local r = run(p, [[
      local n = {}
      lurk.on("bb", function(bb)
        for _, label in ipairs { "t_spin_body", "t_spin_pop", "t_spin_add" } do
          local i = at(bb, label)
          if i then bb:call_before(i, function() n[label] = (n[label] or 0) + 1 end) end
        end
      end)
      lurk.on("exit", function() print(n.t_spin_body, n.t_spin_pop, n.t_spin_add) end)]])
    assert.matches("^trips %d+\nloop tf 0 handler tf 0\n$", native(p))
    assert.equal(0, r.status)
    local trips = assert(r.stdout:match("^trips (%d+)\n"))
    assert.equal(trips .. "\t" .. trips .. "\t" .. trips .. "\n", r.stderr)
    assert.equal("trips " .. trips .. "\nloop tf 0 handler tf 0\n", r.stdout)
  end)
end)

-- -- Threads --------------------------------------------------------------------------------------

describe("clean calls on threads", function()
  it("count every thread's executions, each with its own ctx.tid", function()
    local p = build("bb_thr", "-pthread")
    local r = run(p, [[
      local n, bad = {}, 0
      lurk.on("bb", function(bb)
        local i = at(bb, "t_tloop_body")
        if i then bb:call_before(i, function(ctx)
          n[ctx.tid] = (n[ctx.tid] or 0) + 1
          if ctx.tid ~= lurk.tid() then bad = bad + 1 end
        end) end
      end)
      lurk.on("exit", function()
        local t, total = {}, 0
        for tid, k in pairs(n) do t[#t + 1] = k total = total + k if tid == lurk.pid() then bad = bad + 1 end end
        table.sort(t)
        print(#t, total, table.concat(t, " "), bad)
      end)]])
    assert.equal(0, r.status)
    same(r, p, nil, "threads 6000 10000\n")
    assert.equal("2\t8000\t3000 5000\t0\n", r.stderr)
  end)
end)
